import { ActivityFailure, ApplicationFailure, CancellationScope, defineQuery, executeChild, isCancellation, proxyActivities, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { PipelineRunActivities } from '../activities/pipeline-run';
import type { RetrievalActivities, TrackingContext } from '../activities/retrieval';
import type { RunReportActivities, RunReportInput } from '../activities/run-report';
import type { RunConfig } from '../src/config/run-config';
import type { HashingConfig, IndexConfig } from '../src/pipeline/config';
import { prepareDatasetsWorkflow } from './prepare-datasets';
import { StageTracker, type PipelineProgress } from './stage-tracker';

/** A run config with the sections the pipeline needs filled in. */
export type PipelineConfig = RunConfig & { data: NonNullable<RunConfig['data']>; hashing: HashingConfig; index: IndexConfig };

export interface PipelineInput {
  runKey: string;
  config: PipelineConfig;
  /** Folder on the workers that relative data roots resolve against: the config file's folder. */
  baseDir: string;
  /** Path the config was read from, recorded in the report. */
  configSource: string;
}

export interface PipelineSummary {
  runKey: string;
  progress: PipelineProgress;
  prepared: { manifestKey: string; images: number; quarantined: number };
  retrieval: Array<{ kind: string; codeLengthBits: number; mAP: number; rank1: number; hitRateAt10Percent: number }>;
  index: { name: string; version: number; codes: number };
  mlflowRunId: string;
  /** Where the HTML run report was written. */
  reportLocation: string;
}

export const progressQuery = defineQuery<PipelineProgress>('progress');

const STAGES = [
  { stage: 'prepare', queue: 'cpu' },
  { stage: 'hashing', queue: 'gpu' },
  { stage: 'encode', queue: 'gpu' },
  { stage: 'index', queue: 'cpu' },
  { stage: 'evaluate', queue: 'cpu' },
  { stage: 'report', queue: 'cpu' },
] as const;

/** Retries for stages that may hit a restarting service; bad input fails at once. */
const retry: ActivityOptions['retry'] = { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6, nonRetryableErrorTypes: ['UserInputError'] };

/**
 * The training-and-indexing pipeline: prepare data sets (one child workflow),
 * train and compare hashers, encode the gallery shard by shard, publish the
 * index and evaluate retrieval. Every stage is cached by content hash, so a
 * rerun of the same config reuses finished stages.
 */
export async function trainingPipeline(input: PipelineInput): Promise<PipelineSummary> {
  const { config } = input;
  const tracker = new StageTracker(input.runKey, STAGES.map((entry) => ({ ...entry })));
  setHandler(progressQuery, () => tracker.snapshot());

  const cpu = proxyActivities<RetrievalActivities & PipelineRunActivities>({ taskQueue: config.queues.cpu, startToCloseTimeout: '2 hours', heartbeatTimeout: '5 minutes', retry });
  const gpu = proxyActivities<RetrievalActivities>({ taskQueue: config.queues.gpu, startToCloseTimeout: '6 hours', heartbeatTimeout: '10 minutes', retry });
  const bookkeeping = proxyActivities<PipelineRunActivities>({ taskQueue: config.queues.cpu, startToCloseTimeout: '1 minute', retry });
  const reporting = proxyActivities<RunReportActivities>({ taskQueue: config.queues.cpu, startToCloseTimeout: '10 minutes', retry });
  const startedAtMs = Date.now();

  // What the report shows; each stage fills in its part as it finishes.
  const reportInput: RunReportInput = { runKey: input.runKey, status: 'running', startedAtMs, config, configSource: input.configSource, progress: tracker.snapshot() };

  const tracking: TrackingContext = await bookkeeping.startPipelineRun({ runKey: input.runKey, workflowId: workflowInfo().workflowId, config });
  try {
    const prepared = await tracker.run('prepare', async () => {
      const output = await executeChild(prepareDatasetsWorkflow, {
        workflowId: `${workflowInfo().workflowId}-prepare`,
        args: [{ data: config.data, seed: config.seed, baseDir: input.baseDir, cpuQueue: config.queues.cpu }],
      });
      const reused = output.sources.every((source) => source.reused);
      return { ...output, cached: reused, detail: `${output.images} images, ${output.quarantined} quarantined` };
    });
    reportInput.preparedManifestKey = prepared.manifestKey;

    const hashing = await tracker.run('hashing', () => gpu.trainHashers({ preparedManifestKey: prepared.manifestKey, hashing: config.hashing, seed: config.seed, tracking }));
    reportInput.hashing = hashing.output;
    const indexed = hashing.output.hashers.find((hasher) => hasher.kind === config.hashing.indexed.kind && hasher.codeLengthBits === config.hashing.indexed.codeLengthBits);
    if (indexed === undefined) {
      throw ApplicationFailure.nonRetryable(`the indexed hasher ${config.hashing.indexed.kind}-${config.hashing.indexed.codeLengthBits} was not trained`, 'UserInputError');
    }

    const codeShards = await tracker.run('encode', async () => {
      const shards = await cpu.listPreparedShards({ preparedManifestKey: prepared.manifestKey });
      const results = await Promise.all(
        shards.map((shard) =>
          gpu.encodeGalleryShard({ preparedManifestKey: prepared.manifestKey, shard, hasherKey: indexed.key, featureSizePx: config.hashing.featureSizePx, modelVersion: hashing.output.modelVersion }),
        ),
      );
      const codes = results.reduce((sum, result) => sum + result.output.codes, 0);
      return { keys: results.map((result) => result.output.codeShardKey), cached: results.every((result) => result.cached), detail: `${codes} codes in ${results.length} shards` };
    });
    reportInput.codeShardKeys = codeShards.keys;

    const index = await tracker.run('index', () =>
      cpu.buildGalleryIndex({ codeShardKeys: codeShards.keys, index: config.index, codeLengthBits: indexed.codeLengthBits, modelVersion: hashing.output.modelVersion }),
    );
    reportInput.index = { ...index.output, config: config.index, codeLengthBits: indexed.codeLengthBits };

    const evaluation = await tracker.run('evaluate', () =>
      cpu.evaluateHashers({ preparedManifestKey: prepared.manifestKey, hashing: hashing.output, featureSizePx: config.hashing.featureSizePx, tracking }),
    );
    reportInput.evaluation = evaluation.output;

    const report = await tracker.run('report', () => reporting.writeRunReport({ ...reportInput, status: 'succeeded', progress: tracker.snapshot() }).then((written) => ({ ...written, detail: written.location })));

    const retrieval = evaluation.output.map((row) => ({
      kind: row.kind,
      codeLengthBits: row.codeLengthBits,
      mAP: row.report.meanAveragePrecision,
      rank1: row.report.rank1IdentificationRate,
      hitRateAt10Percent: row.report.hitRateByPenetration.find((point) => Math.abs(point.penetrationRate - 0.1) < 1e-9)?.hitRate ?? Number.NaN,
    }));
    const best = Math.max(...retrieval.map((row) => row.mAP));
    await bookkeeping.finishPipelineRun({ tracking, status: 'FINISHED', summary: { images: prepared.images, quarantined: prepared.quarantined, index_codes: index.output.codes, best_mAP: best } });

    return {
      runKey: input.runKey,
      progress: tracker.snapshot(),
      prepared: { manifestKey: prepared.manifestKey, images: prepared.images, quarantined: prepared.quarantined },
      retrieval,
      index: { name: index.output.indexName, version: index.output.version, codes: index.output.codes },
      mlflowRunId: tracking.parentRunId,
      reportLocation: report.location,
    };
  } catch (error) {
    const reason = error instanceof ActivityFailure && error.cause !== undefined ? error.cause.message : error instanceof Error ? error.message : String(error);
    tracker.skipRemaining(`not run because an earlier stage failed: ${reason}`);
    const cancelled = isCancellation(error);
    // The report and the MLflow record are written even when the workflow was cancelled.
    await CancellationScope.nonCancellable(async () => {
      try {
        await reporting.writeRunReport({ ...reportInput, status: cancelled ? 'cancelled' : 'failed', progress: tracker.snapshot() });
      } catch {
        // A report that cannot be written must not hide the stage failure being raised.
      }
      await bookkeeping.finishPipelineRun({ tracking, status: cancelled ? 'KILLED' : 'FAILED', summary: {} });
    });
    throw error;
  }
}
