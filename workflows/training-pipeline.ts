import { ActivityFailure, ApplicationFailure, CancellationScope, defineQuery, executeChild, isCancellation, proxyActivities, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { PipelineRunActivities } from '../activities/pipeline-run';
import type { AlignmentStageOutput, PipelineStageActivities, SensorEvaluationOutput } from '../activities/pipeline-stages';
import type { RetrievalActivities, TrackingContext } from '../activities/retrieval';
import type { RunReportActivities, RunReportInput } from '../activities/run-report';
import type { RunConfig } from '../src/config/run-config';
import type { HashingConfig, IndexConfig, SensorStageConfig } from '../src/pipeline/config';
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
  /** Overall CCR on the test split per trained sensor-classifier variant; empty when the sensor stages were skipped. */
  sensor: Array<{ variant: string; ccr: number }>;
  /** Mean grid-point error over the held-out synthetic pairs, in pixels; absent when the alignment stage was skipped. */
  alignment?: { pairs: number; gridErrorBeforePx: number; gridErrorAfterPx: number; modelPrefix?: string };
  index: { name: string; version: number; codes: number };
  mlflowRunId: string;
  /** Location of the HTML run report. */
  reportLocation: string;
}

export const progressQuery = defineQuery<PipelineProgress>('progress');

const STAGES = [
  { stage: 'prepare', queue: 'cpu' },
  { stage: 'sensor-shallow', queue: 'gpu' },
  { stage: 'sensor-deep', queue: 'gpu' },
  { stage: 'alignment', queue: 'gpu' },
  { stage: 'hashing', queue: 'gpu' },
  { stage: 'encode', queue: 'gpu' },
  { stage: 'index', queue: 'cpu' },
  { stage: 'evaluate', queue: 'cpu' },
  { stage: 'report', queue: 'cpu' },
] as const;

/** Retries for stages that may hit a restarting service; bad input fails at once. */
const retry: ActivityOptions['retry'] = { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6, nonRetryableErrorTypes: ['UserInputError'] };

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

/**
 * Runs the training-and-indexing pipeline. It prepares data sets (one child
 * workflow) and then trains and evaluates the sensor classifiers and the
 * alignment network in parallel, each only when its config section is
 * present. It then trains and compares hashers, encodes the gallery shard by
 * shard, publishes the index and evaluates retrieval. Every stage is cached
 * by content hash, so a rerun of the same config reuses finished stages.
 */
export async function trainingPipeline(input: PipelineInput): Promise<PipelineSummary> {
  const { config } = input;
  const tracker = new StageTracker(input.runKey, STAGES.map((entry) => ({ ...entry })));
  setHandler(progressQuery, () => tracker.snapshot());

  const cpu = proxyActivities<RetrievalActivities & PipelineRunActivities>({ taskQueue: config.queues.cpu, startToCloseTimeout: '2 hours', heartbeatTimeout: '5 minutes', retry });
  const gpu = proxyActivities<RetrievalActivities>({ taskQueue: config.queues.gpu, startToCloseTimeout: '6 hours', heartbeatTimeout: '10 minutes', retry });
  // Network training heartbeats after every batch. The timeout covers one batch on a loaded worker, and also the
  // alignment evaluation after the last epoch, because that sends no heartbeats. A retry resumes from the newest epoch checkpoint.
  // Runs started before the timeouts section existed carry no value for it, so replay falls back to the old 10 minutes.
  const trainingHeartbeatSeconds = (config.timeouts as PipelineConfig['timeouts'] | undefined)?.trainingHeartbeatSeconds ?? 600;
  const networks = proxyActivities<PipelineStageActivities>({ taskQueue: config.queues.gpu, startToCloseTimeout: '24 hours', heartbeatTimeout: `${trainingHeartbeatSeconds} seconds`, retry });
  // Sensor evaluation heartbeats only between robustness rows, so it keeps the GPU queue's 10 minutes whatever the training value.
  const evaluations = proxyActivities<PipelineStageActivities>({ taskQueue: config.queues.gpu, startToCloseTimeout: '6 hours', heartbeatTimeout: '10 minutes', retry });
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

    // The sensor classifiers and the alignment network need only the prepared data, so they train in parallel.
    const sensorBranch = async (variant: 'shallow' | 'deep'): Promise<SensorEvaluationOutput | undefined> => {
      const stage = `sensor-${variant}`;
      const sensor: SensorStageConfig | undefined = config.sensor;
      if (sensor === undefined) {
        tracker.skip(stage, 'the run config has no sensor section');
        return undefined;
      }
      if (!sensor.variants.includes(variant)) {
        tracker.skip(stage, `sensor.variants does not list ${variant}`);
        return undefined;
      }
      const evaluated = await tracker.run(stage, async () => {
        const training = await networks.trainSensorStage({ preparedManifestKey: prepared.manifestKey, variant, sensor, seed: config.seed, experiment: config.tracking.experiment, tracking });
        const evaluation = await evaluations.evaluateSensorStage({ preparedManifestKey: prepared.manifestKey, training, sensor, seed: config.seed });
        return { ...evaluation, cached: training.cached && evaluation.cached, detail: `${training.detail}; ${evaluation.detail}`, history: training.output.history };
      });
      reportInput.sensor = [...(reportInput.sensor ?? []), { ...evaluated.output, history: evaluated.history }];
      return evaluated.output;
    };
    const alignmentBranch = async (): Promise<AlignmentStageOutput | undefined> => {
      const alignment = config.alignment;
      if (alignment === undefined) {
        tracker.skip('alignment', 'the run config has no alignment section');
        return undefined;
      }
      const trained = await tracker.run('alignment', () => networks.trainAlignmentStage({ preparedManifestKey: prepared.manifestKey, alignment, seed: config.seed, experiment: config.tracking.experiment, tracking }));
      reportInput.alignment = trained.output;
      return trained.output;
    };
    // Every branch runs to its end before a failure is raised, so the report shows each one's real outcome.
    const branches = await Promise.allSettled([sensorBranch('shallow'), sensorBranch('deep'), alignmentBranch()]);
    const failedBranch = branches.find((branch): branch is PromiseRejectedResult => branch.status === 'rejected');
    if (failedBranch !== undefined) throw failedBranch.reason;
    const [shallow, deep, alignment] = branches.map((branch) => (branch.status === 'fulfilled' ? branch.value : undefined)) as [
      SensorEvaluationOutput | undefined,
      SensorEvaluationOutput | undefined,
      AlignmentStageOutput | undefined,
    ];

    // With alignment before encoding, the hashers train on images warped by the alignment stage's model, so the
    // hashing stage takes that model as an input. It already runs after every branch above, alignment included,
    // so runs without alignBeforeEncoding (and recorded histories) schedule the same commands as before.
    let alignmentModel: { modelVersion: string; modelPrefix: string } | undefined;
    if (config.hashing.alignBeforeEncoding === true) {
      if (alignment === undefined) {
        throw ApplicationFailure.nonRetryable('hashing.alignBeforeEncoding is true but the alignment stage did not run; add an alignment section to the run config', 'UserInputError');
      }
      alignmentModel = { modelVersion: alignment.modelVersion, modelPrefix: alignment.modelPrefix };
    }
    // Sensor-embedding features come from a trained sensor classifier, which the hashing stage then takes as an input.
    let sensorModel: { modelVersion: string; modelPrefix: string } | undefined;
    const features = config.hashing.features;
    if (features?.kind === 'sensor-embedding') {
      const classifier = features.variant === 'shallow' ? shallow : deep;
      if (classifier === undefined) {
        throw ApplicationFailure.nonRetryable(`hashing.features uses the ${features.variant} sensor classifier, but it was not trained; add "${features.variant}" to sensor.variants`, 'UserInputError');
      }
      sensorModel = { modelVersion: classifier.modelVersion, modelPrefix: classifier.modelPrefix };
    }
    const hashing = await tracker.run('hashing', () =>
      gpu.trainHashers({ preparedManifestKey: prepared.manifestKey, hashing: config.hashing, seed: config.seed, alignment: alignmentModel, sensorModel, tracking }),
    );
    reportInput.hashing = hashing.output;
    const indexed = hashing.output.hashers.find((hasher) => hasher.kind === config.hashing.indexed.kind && hasher.codeLengthBits === config.hashing.indexed.codeLengthBits);
    if (indexed === undefined) {
      throw ApplicationFailure.nonRetryable(`the indexed hasher ${config.hashing.indexed.kind}-${config.hashing.indexed.codeLengthBits} was not trained`, 'UserInputError');
    }

    const codeShards = await tracker.run('encode', async () => {
      const shards = await cpu.listPreparedShards({ preparedManifestKey: prepared.manifestKey });
      const results = await Promise.all(
        shards.map((shard) =>
          gpu.encodeGalleryShard({ preparedManifestKey: prepared.manifestKey, shard, hasherKey: indexed.key, modelVersion: hashing.output.modelVersion }),
        ),
      );
      const codes = results.reduce((sum, result) => sum + result.output.codes, 0);
      return { keys: results.map((result) => result.output.codeShardKey), cached: results.every((result) => result.cached), detail: `${codes} codes from ${results.length} prepared shard(s)` };
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
    const networkSummary: Record<string, number> = {};
    for (const evaluated of [shallow, deep]) if (evaluated !== undefined) networkSummary[`sensor_ccr_${evaluated.variant}`] = evaluated.aggregateCcr;
    if (alignment !== undefined) {
      networkSummary.alignment_grid_error_before_px = mean(alignment.gridErrorBeforePx);
      networkSummary.alignment_grid_error_after_px = mean(alignment.gridErrorAfterPx);
    }
    await bookkeeping.finishPipelineRun({
      tracking,
      status: 'FINISHED',
      summary: { images: prepared.images, quarantined: prepared.quarantined, index_codes: index.output.codes, best_mAP: best, ...networkSummary },
    });

    return {
      runKey: input.runKey,
      progress: tracker.snapshot(),
      prepared: { manifestKey: prepared.manifestKey, images: prepared.images, quarantined: prepared.quarantined },
      retrieval,
      sensor: [shallow, deep].flatMap((evaluated) => (evaluated === undefined ? [] : [{ variant: evaluated.variant, ccr: evaluated.aggregateCcr }])),
      alignment:
        alignment === undefined
          ? undefined
          : {
              pairs: alignment.gridErrorBeforePx.length,
              gridErrorBeforePx: mean(alignment.gridErrorBeforePx),
              gridErrorAfterPx: mean(alignment.gridErrorAfterPx),
              modelPrefix: alignment.modelPrefix,
            },
      index: { name: index.output.indexName, version: index.output.version, codes: index.output.codes },
      mlflowRunId: tracking.parentRunId,
      reportLocation: report.location,
    };
  } catch (error) {
    let reason = String(error);
    if (error instanceof ActivityFailure && error.cause !== undefined) reason = error.cause.message;
    else if (error instanceof Error) reason = error.message;
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
