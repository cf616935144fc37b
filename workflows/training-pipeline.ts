import { ActivityFailure, ApplicationFailure, CancellationScope, type ActivityInterfaceFor, defineQuery, executeChild, isCancellation, proxyActivities, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { PipelineRunActivities } from '../activities/pipeline-run';
import type { AlignmentStageOutput, PipelineStageActivities, SensorEvaluationOutput } from '../activities/pipeline-stages';
import type { HasherEvaluation, RetrievalActivities, TrackingContext } from '../activities/retrieval';
import type { RunReportActivities, RunReportInput } from '../activities/run-report';
import type { RunConfig } from '../src/config/run-config';
import type { HashingConfig, IndexConfig, SensorStageConfig } from '../src/pipeline/config';
import { prepareDatasetsWorkflow } from './prepare-datasets';
import { StageTracker, type PipelineProgress } from './stage-tracker';

/**
 * A run config with the sections the pipeline needs filled in: always data,
 * and hashing together with index unless the run trains only networks.
 */
export type PipelineConfig = RunConfig & { data: NonNullable<RunConfig['data']> };

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
  /** One row per trained hasher; empty when the run config has no hashing and index sections. */
  retrieval: Array<{ kind: string; codeLengthBits: number; mAP: number; rank1: number; hitRateAt10Percent: number }>;
  /** Overall CCR on the test split per trained sensor-classifier variant; empty when the sensor stages were skipped. */
  sensor: Array<{ variant: string; ccr: number }>;
  /** Mean grid-point error over the held-out synthetic pairs, in pixels; absent when the alignment stage was skipped. */
  alignment?: { pairs: number; gridErrorBeforePx: number; gridErrorAfterPx: number; modelPrefix?: string };
  /** The published gallery index; absent when the run config has no hashing and index sections. */
  index?: { name: string; version: number; codes: number };
  mlflowRunId: string;
  /** MLflow experiment of that run; absent in summaries of runs from before it was recorded. */
  mlflowExperimentId?: string;
  /** Location of the HTML run report. */
  reportLocation: string;
}

export const progressQuery = defineQuery<PipelineProgress>('progress');

/** The stages that encode and search the gallery, which need the hashing and index sections. */
const RETRIEVAL_STAGES = ['hashing', 'encode', 'index', 'evaluate'] as const;

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
 * present. With a hashing section, it then trains and compares hashers,
 * encodes the gallery shard by shard, publishes the index and evaluates
 * retrieval. Every stage is cached by content hash, so a rerun of the same
 * config reuses finished stages.
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

    let retrieval: RetrievalOutcome | undefined;
    if (config.hashing === undefined || config.index === undefined) {
      for (const stage of RETRIEVAL_STAGES) tracker.skip(stage, 'the run config has no hashing and index sections');
    } else {
      retrieval = await retrievalStages(
        { hashing: config.hashing, index: config.index, seed: config.seed, preparedManifestKey: prepared.manifestKey, tracking, networks: { shallow, deep, alignment } },
        { tracker, cpu, gpu, reportInput },
      );
    }

    const report = await tracker.run('report', () => reporting.writeRunReport({ ...reportInput, status: 'succeeded', progress: tracker.snapshot() }).then((written) => ({ ...written, detail: written.location })));

    const retrievalRows = (retrieval?.evaluation ?? []).map((row) => ({
      kind: row.kind,
      codeLengthBits: row.codeLengthBits,
      mAP: row.report.meanAveragePrecision,
      rank1: row.report.rank1IdentificationRate,
      hitRateAt10Percent: row.report.hitRateByPenetration.find((point) => Math.abs(point.penetrationRate - 0.1) < 1e-9)?.hitRate ?? Number.NaN,
    }));
    const networkSummary: Record<string, number> = {};
    for (const evaluated of [shallow, deep]) if (evaluated !== undefined) networkSummary[`sensor_ccr_${evaluated.variant}`] = evaluated.aggregateCcr;
    if (alignment !== undefined) {
      networkSummary.alignment_grid_error_before_px = mean(alignment.gridErrorBeforePx);
      networkSummary.alignment_grid_error_after_px = mean(alignment.gridErrorAfterPx);
    }
    await bookkeeping.finishPipelineRun({
      tracking,
      status: 'FINISHED',
      summary: {
        images: prepared.images,
        quarantined: prepared.quarantined,
        ...(retrieval !== undefined ? { index_codes: retrieval.index.codes, best_mAP: Math.max(...retrievalRows.map((row) => row.mAP)) } : {}),
        ...networkSummary,
      },
    });

    return {
      runKey: input.runKey,
      progress: tracker.snapshot(),
      prepared: { manifestKey: prepared.manifestKey, images: prepared.images, quarantined: prepared.quarantined },
      retrieval: retrievalRows,
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
      index: retrieval === undefined ? undefined : { name: retrieval.index.indexName, version: retrieval.index.version, codes: retrieval.index.codes },
      mlflowRunId: tracking.parentRunId,
      mlflowExperimentId: tracking.experimentId,
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

type CpuActivities = RetrievalActivities & PipelineRunActivities;

/** The retrieval stages' results for the summary: the published index and each hasher's retrieval figures. */
interface RetrievalOutcome {
  index: { indexName: string; version: number; codes: number };
  evaluation: HasherEvaluation[];
}

/** The retrieval stages' settings and inputs: the trained networks, of which hashing may use the alignment model or a sensor classifier. */
interface RetrievalInput {
  hashing: HashingConfig;
  index: IndexConfig;
  seed: number;
  preparedManifestKey: string;
  tracking: TrackingContext;
  networks: { shallow?: SensorEvaluationOutput; deep?: SensorEvaluationOutput; alignment?: AlignmentStageOutput };
}

/**
 * Trains and compares the hashers, encodes the gallery shard by shard,
 * publishes the index and evaluates retrieval. Each stage's output goes
 * into the report input as soon as the stage ends, so the report of a run
 * that fails later still shows it.
 */
async function retrievalStages(
  { hashing, index, seed, preparedManifestKey, tracking, networks: { shallow, deep, alignment } }: RetrievalInput,
  { tracker, cpu, gpu, reportInput }: { tracker: StageTracker; cpu: ActivityInterfaceFor<CpuActivities>; gpu: ActivityInterfaceFor<RetrievalActivities>; reportInput: RunReportInput },
): Promise<RetrievalOutcome> {
  // With alignment before encoding, the hashers train on images warped by the alignment stage's model, so the
  // hashing stage takes that model as an input. The pipeline calls this function only after every network branch,
  // alignment included, has ended, so runs without alignBeforeEncoding (and recorded histories) schedule the same
  // commands as before.
  let alignmentModel: { modelVersion: string; modelPrefix: string } | undefined;
  if (hashing.alignBeforeEncoding === true) {
    if (alignment === undefined) {
      throw ApplicationFailure.nonRetryable('hashing.alignBeforeEncoding is true but the alignment stage did not run; add an alignment section to the run config', 'UserInputError');
    }
    alignmentModel = { modelVersion: alignment.modelVersion, modelPrefix: alignment.modelPrefix };
  }
  // Sensor-embedding features come from a trained sensor classifier, which the hashing stage then takes as an input.
  let sensorModel: { modelVersion: string; modelPrefix: string } | undefined;
  const features = hashing.features;
  if (features?.kind === 'sensor-embedding') {
    const classifier = features.variant === 'shallow' ? shallow : deep;
    if (classifier === undefined) {
      throw ApplicationFailure.nonRetryable(`hashing.features uses the ${features.variant} sensor classifier, but it was not trained; add "${features.variant}" to sensor.variants`, 'UserInputError');
    }
    sensorModel = { modelVersion: classifier.modelVersion, modelPrefix: classifier.modelPrefix };
  }
  const trained = await tracker.run('hashing', () =>
    gpu.trainHashers({ preparedManifestKey, hashing, seed, alignment: alignmentModel, sensorModel, tracking }),
  );
  reportInput.hashing = trained.output;
  const indexed = trained.output.hashers.find((hasher) => hasher.kind === hashing.indexed.kind && hasher.codeLengthBits === hashing.indexed.codeLengthBits);
  if (indexed === undefined) {
    throw ApplicationFailure.nonRetryable(`the indexed hasher ${hashing.indexed.kind}-${hashing.indexed.codeLengthBits} was not trained`, 'UserInputError');
  }

  const codeShards = await tracker.run('encode', async () => {
    const shards = await cpu.listPreparedShards({ preparedManifestKey });
    const results = await Promise.all(
      shards.map((shard) =>
        gpu.encodeGalleryShard({ preparedManifestKey, shard, hasherKey: indexed.key, modelVersion: trained.output.modelVersion }),
      ),
    );
    const codes = results.reduce((sum, result) => sum + result.output.codes, 0);
    return { keys: results.map((result) => result.output.codeShardKey), cached: results.every((result) => result.cached), detail: `${codes} codes from ${results.length} prepared shard(s)` };
  });
  reportInput.codeShardKeys = codeShards.keys;

  const published = await tracker.run('index', () =>
    cpu.buildGalleryIndex({ codeShardKeys: codeShards.keys, index, codeLengthBits: indexed.codeLengthBits, modelVersion: trained.output.modelVersion }),
  );
  reportInput.index = { ...published.output, config: index, codeLengthBits: indexed.codeLengthBits };

  const evaluation = await tracker.run('evaluate', () =>
    cpu.evaluateHashers({ preparedManifestKey, hashing: trained.output, featureSizePx: hashing.featureSizePx, tracking }),
  );
  reportInput.evaluation = evaluation.output;
  return { index: published.output, evaluation: evaluation.output };
}
