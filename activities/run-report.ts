import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { readPreparedManifest } from '../src/datasets/manifest';
import { getCodeShard } from '../src/hashing/code-shards';
import { bitStatistics } from '../src/hashing/metrics';
import { generateRandomCodes } from '../src/index/generators';
import { loadIndexVersion, requireCurrent } from '../src/index/index-store';
import { indexFromShard } from '../src/index/sharded-build';
import type { IndexConfig } from '../src/pipeline/config';
import { reportRun, retrievalResultFromReport, stageRecordFromTracked, type DataSectionId, type RunReport, type RunStatus } from '../src/reports';
import { REPOSITORY_ROOT } from '../src/stack/versions';
import type { RunConfig } from '../src/config/run-config';
import type { PipelineProgress, StageProgress } from '../workflows/stage-tracker';
import type { ActivityDependencies } from './dependencies';
import type { AlignmentStageOutput, EpochSummary, SensorEvaluationOutput } from './pipeline-stages';
import type { HasherEvaluation, HashingStageOutput, StageOutcome, TrackingContext } from './retrieval';

/**
 * Marks the report stage as done in the page of a run that succeeded. The
 * stage is still running while it writes the page, and writing the page is
 * its last step.
 */
function withOwnStage(stage: StageProgress, status: RunReportInput['status']): StageProgress {
  if (stage.stage !== 'report' || stage.status !== 'running' || status !== 'succeeded') return stage;
  return { ...stage, status: 'done', finishedAtMs: Date.now(), detail: 'this page' };
}

/** Report sections that each pipeline stage feeds, so a missing stage is named where its data would be. */
const SECTIONS_BY_STAGE: Record<string, DataSectionId[]> = {
  prepare: [],
  'sensor-shallow': ['sensor', 'robustness', 'training'],
  'sensor-deep': ['sensor', 'robustness', 'training'],
  alignment: ['alignment', 'training'],
  hashing: ['training'],
  encode: ['codes'],
  index: ['index'],
  evaluate: ['retrieval'],
};

const LATENCY_QUERIES = 50;

/** Architecture of each sensor-classifier variant, as the report names it. */
const SENSOR_NETWORKS: Record<string, string> = { shallow: 'VGG-19 variant', deep: 'ResNet50 variant' };

export interface RunReportInput {
  runKey: string;
  status: RunStatus;
  startedAtMs: number;
  config: RunConfig;
  configSource: string;
  progress: PipelineProgress;
  tracking?: TrackingContext;
  preparedManifestKey?: string;
  hashing?: HashingStageOutput;
  evaluation?: HasherEvaluation[];
  codeShardKeys?: string[];
  index?: StageOutcome<{ indexName: string; version: number; codes: number }>['output'] & { config: IndexConfig; codeLengthBits: number };
  /** Evaluations of the trained sensor-classifier variants, each with its training history. */
  sensor?: Array<SensorEvaluationOutput & { history: EpochSummary[] }>;
  alignment?: AlignmentStageOutput;
}

/** Returns the checked-out git commit, or the package version where the code is not a git checkout. */
function codeVersion(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPOSITORY_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return process.env.WHORL_CODE_VERSION ?? 'unknown';
  }
}

/** Creates the activity that collects what a pipeline run measured into a RunReport and publishes the HTML page. */
export function createRunReportActivities(deps: ActivityDependencies) {
  const { store, tracking } = deps;

  /** Times single k=10 queries against the published index, over every shard, in milliseconds. */
  async function measureQueryLatency(indexName: string, codeLengthBits: number): Promise<RunReport['index']> {
    const published = await requireCurrent(store, indexName);
    const loaded = await loadIndexVersion(store, published);
    const indexes = loaded.shards.flatMap((shard) => (shard.contents === undefined ? [] : [indexFromShard(shard.contents)]));
    const queries = generateRandomCodes({ count: LATENCY_QUERIES, codeLengthBits, seed: 1 });
    const rowBytes = codeLengthBits / 8;
    const latencies: number[] = [];
    for (let query = 0; query < LATENCY_QUERIES; query++) {
      const code = queries.subarray(query * rowBytes, (query + 1) * rowBytes);
      const started = process.hrtime.bigint();
      for (const index of indexes) index.search(code, 10);
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return {
      name: indexName,
      version: `v${published.version}`,
      kind: 'multi-index hash',
      codeCount: published.manifest.liveCount,
      codeLengthBits,
      shards: published.manifest.shards.map((shard) => ({ name: shard.key, codeCount: shard.codeCount, sizeBytes: shard.sizeBytes })),
      queryLatencyMs: latencies,
      topK: 10,
    };
  }

  return {
    /** Writes `reports/<runKey>/` and logs the page to the run's MLflow record. Returns the HTML object key. */
    async writeRunReport(input: RunReportInput): Promise<{ htmlKey: string; location: string }> {
      // The sensor branches finish in any order; the report lists shallow before deep.
      const sensorVariants = [...(input.sensor ?? [])].sort((a, b) => Object.keys(SENSOR_NETWORKS).indexOf(a.variant) - Object.keys(SENSOR_NETWORKS).indexOf(b.variant));
      const report: RunReport = {
        formatVersion: 1,
        runKey: input.runKey,
        title: `whorl run ${input.runKey}`,
        status: input.status,
        startedAt: new Date(input.startedAtMs).toISOString(),
        finishedAt: new Date().toISOString(),
        config: { name: input.config.name, source: input.configSource, values: input.config as unknown as Record<string, unknown> },
        versions: {
          code: codeVersion(),
          backend: tf.getBackend() ?? 'unknown',
          models: [
            ...sensorVariants.map((variant) => ({ stage: `sensor-${variant.variant}`, version: variant.modelVersion, location: variant.modelPrefix })),
            ...(input.alignment === undefined ? [] : [{ stage: 'alignment', version: input.alignment.modelVersion, location: input.alignment.modelPrefix }]),
            ...(input.hashing?.hashers ?? []).map((hasher) => ({ stage: `hashing-${hasher.kind}-${hasher.codeLengthBits}`, version: input.hashing?.modelVersion ?? '', location: hasher.key })),
          ],
          index: input.index === undefined ? undefined : { name: input.index.indexName, version: `v${input.index.version}` },
        },
        stages: input.progress.stages.map((stage) => stageRecordFromTracked(withOwnStage(stage, input.status), { sections: SECTIONS_BY_STAGE[stage.stage] })),
      };

      if (input.tracking !== undefined) report.tracking = { trackingUri: tracking.trackingUri, experimentId: input.tracking.experimentId, runId: input.tracking.parentRunId };

      const trainingHistories = (input.hashing?.hashers ?? []).filter((hasher) => hasher.lossHistory.length > 1);
      const training: NonNullable<RunReport['training']> = [
        ...sensorVariants.map((variant) => ({
          network: `sensor-${variant.variant}`,
          epochs: variant.history.map((epoch) => ({ epoch: epoch.epoch, trainLoss: epoch.loss, trainAccuracy: epoch.accuracy })),
        })),
        ...(input.alignment === undefined ? [] : [{ network: 'alignment', epochs: input.alignment.history.map((epoch) => ({ epoch: epoch.epoch, trainLoss: epoch.loss })) }]),
        ...trainingHistories.map((hasher) => ({
          network: `hashing-${hasher.kind}-${hasher.codeLengthBits}`,
          epochs: hasher.lossHistory.map((loss, index) => ({ epoch: index + 1, trainLoss: loss })),
        })),
      ].filter((history) => history.epochs.length > 0);
      if (training.length > 0) report.training = training;

      if (sensorVariants.length > 0) {
        report.sensorClassification = {
          sensors: sensorVariants[0].sensors,
          variants: sensorVariants.map((variant) => ({
            variant: variant.variant,
            network: SENSOR_NETWORKS[variant.variant],
            overallCcr: variant.aggregateCcr,
            ccrPerSensor: variant.ccrBySensor,
            confusionMatrix: variant.confusion,
          })),
        };
        const curves = sensorVariants.flatMap((variant) => variant.robustness);
        if (curves.length > 0) report.robustness = curves;
      }
      if (input.alignment !== undefined) {
        const overlays = [];
        for (const overlay of input.alignment.overlays) overlays.push({ name: overlay.name, caption: overlay.caption, png: await store.get(overlay.key) });
        report.alignment = { gridErrorBeforePx: input.alignment.gridErrorBeforePx, gridErrorAfterPx: input.alignment.gridErrorAfterPx, overlays };
      }
      if (input.evaluation !== undefined) {
        report.retrieval = { results: input.evaluation.map((row) => retrievalResultFromReport({ hasher: row.kind.toUpperCase(), codeLengthBits: row.codeLengthBits, report: row.report })) };
      }
      if (input.codeShardKeys !== undefined && input.codeShardKeys.length > 0) {
        const shards = await Promise.all(input.codeShardKeys.map((key) => getCodeShard(store, key)));
        const count = shards.reduce((sum, shard) => sum + shard.codes.count, 0);
        const codeLengthBits = shards[0].codes.codeLengthBits;
        const data = new Uint8Array(shards.reduce((sum, shard) => sum + shard.codes.data.byteLength, 0));
        let offset = 0;
        for (const shard of shards) {
          data.set(shard.codes.data, offset);
          offset += shard.codes.data.byteLength;
        }
        const statistics = bitStatistics({ ...shards[0].codes, data, count });
        const bits = codeLengthBits;
        report.codeQuality = [
          {
            hasher: input.config.hashing?.indexed.kind.toUpperCase() ?? 'unknown',
            codeLengthBits: bits,
            bitBalance: Array.from(statistics.onesFraction),
            bitCorrelation: Array.from({ length: bits }, (_, row) => Array.from(statistics.correlation.subarray(row * bits, (row + 1) * bits))),
          },
        ];
      }
      if (input.index !== undefined) report.index = await measureQueryLatency(input.index.indexName, input.index.codeLengthBits);
      if (input.preparedManifestKey !== undefined) {
        const manifest = await readPreparedManifest(store, input.preparedManifestKey);
        report.quarantine = manifest.quarantine.map((entry) => ({ source: entry.source, item: entry.path, reason: `${entry.reason}: ${entry.detail}` }));
      }

      const runInfo = input.tracking === undefined ? undefined : (await tracking.getRun(input.tracking.parentRunId)).info;
      const published = await reportRun(store, report, runInfo === undefined ? undefined : { client: tracking, run: runInfo });
      return { htmlKey: published.htmlKey, location: `${store.location}/${published.htmlKey}` };
    },
  };
}

export type RunReportActivities = ReturnType<typeof createRunReportActivities>;
