import { Context } from '@temporalio/activity';
import { UserInputError } from '../src/config/errors';
import {
  CPU_SENSOR_TRAINING,
  PAPER_SENSOR_TRAINING,
  SENSOR_RUN_TAGS,
  evaluateSensorRun,
  sensorModelHash,
  loadSensorSplits,
  trainSensorClassifier,
  type SensorModelVariant,
  type SensorTrainingSettings,
} from '../src/sensors';
import { initializeTensorBackend, tensorBackendRunParameters, type TensorBackendChoice } from '../src/tensors';
import { UNFINISHED_RUN_FILTER, type RunInfo } from '../src/tracking';
import type { TrainingProgress } from '../src/training';
import type { ActivityDependencies } from './dependencies';
import { failFastOnUserInput } from './failures';


/** Settings that replace those of the size preset. Augmentation fields left out keep the preset's. */
export type SensorSettingOverrides = Partial<Omit<SensorTrainingSettings, 'variant' | 'seed' | 'augmentation'>> & {
  augmentation?: Partial<SensorTrainingSettings['augmentation']>;
};

export interface TrainSensorModelInput {
  /** Prepared data set to train on. */
  manifestKey: string;
  variant: SensorModelVariant;
  /** `cpu` or `paper` preset, then any overrides. */
  size: 'cpu' | 'paper';
  overrides?: SensorSettingOverrides;
  seed: number;
  /** Checkpoint key that stays the same across retries of this activity, such as the workflow id. */
  runKey: string;
  experiment: string;
  /** Groups runs for comparison; runs with the same pair key and different variants are compared. */
  pairKey: string;
  /** MLflow parent run of the pipeline, if any. */
  parentRunId?: string;
  tensorBackend?: TensorBackendChoice;
}

export interface TrainSensorModelResult {
  modelPrefix: string;
  mlflowRunId: string;
  sensors: string[];
  parameterCount: number;
  trainingTimeMs: number;
  /** Loss and accuracy of the last epoch. */
  finalLoss: number;
  finalAccuracy: number;
  reused: boolean;
  resumedFromEpoch?: number;
  tensorBackend: string;
  taskQueue: string;
}

export interface EvaluateSensorModelInput {
  modelPrefix: string;
  manifestKey: string;
  /** MLflow run of the training, which receives the evaluation metrics and files. */
  mlflowRunId: string;
  seed: number;
  /** Report folder, such as `reports/<run>/sensor-shallow/`. */
  reportPrefix: string;
  skipRobustness?: boolean;
}

export interface EvaluateSensorModelResult {
  aggregateCcr: number;
  ccrBySensor: Record<string, number>;
  confusion: number[][];
  sensors: string[];
  robustness: Array<{ label: string; aggregateCcr: number }>;
  reportKeys: string[];
}

/** Heartbeat details of the training activity; a retry reads `mlflowRunId` from them to keep logging to the same run. */
interface TrainHeartbeat {
  mlflowRunId: string;
  progress?: TrainingProgress;
}

/** Builds the training settings of one variant: the size preset, then the overrides. Raises UserInputError for an unknown size. */
export function trainingSettings(input: Pick<TrainSensorModelInput, 'size' | 'overrides' | 'variant' | 'seed'>): SensorTrainingSettings {
  const preset = input.size === 'paper' ? PAPER_SENSOR_TRAINING : CPU_SENSOR_TRAINING;
  if (input.size !== 'paper' && input.size !== 'cpu') {
    throw new UserInputError(`invalid sensor model size "${String(input.size)}": expected cpu or paper`);
  }
  // Augmentation fields merge one by one, so an override of one keeps the preset's others.
  const augmentation = { ...preset.augmentation, ...input.overrides?.augmentation };
  return { ...preset, ...input.overrides, augmentation, variant: input.variant, seed: input.seed };
}

/** Sensor-classifier activities: training on the GPU-class queue and evaluation. */
export function createSensorActivities(deps: ActivityDependencies) {
  /** Finds the unfinished MLflow run of an earlier attempt (heartbeat first, then the run-key tag), or creates one. */
  async function resolveRun(input: TrainSensorModelInput, previous: TrainHeartbeat | undefined): Promise<RunInfo> {
    if (previous?.mlflowRunId !== undefined) return (await deps.tracking.getRun(previous.mlflowRunId)).info;

    const experimentId = await deps.tracking.getOrCreateExperiment(input.experiment);
    // A finished run records a complete training, so training again, such as after its model was deleted, gets a new run.
    const [existing] = await deps.tracking.searchRuns({
      experimentIds: [experimentId],
      filter: `tags.\`${SENSOR_RUN_TAGS.runKey}\` = '${input.runKey}' AND tags.\`${SENSOR_RUN_TAGS.variant}\` = '${input.variant}' AND ${UNFINISHED_RUN_FILTER}`,
      maxResults: 1,
    });
    if (existing !== undefined) return existing.info;
    return deps.tracking.createRun({
      experimentId,
      runName: `sensor-${input.variant}-${input.runKey}`,
      parentRunId: input.parentRunId,
      tags: {
        [SENSOR_RUN_TAGS.stage]: 'sensor',
        [SENSOR_RUN_TAGS.variant]: input.variant,
        [SENSOR_RUN_TAGS.pair]: input.pairKey,
        [SENSOR_RUN_TAGS.runKey]: input.runKey,
      },
    });
  }

  return {
    /**
     * Trains one sensor classifier. Heartbeats after every batch; a retry
     * after a worker crash resumes from the last epoch checkpoint and logs to
     * the same MLflow run. Bad input fails without retries.
     */
    async trainSensorModel(input: TrainSensorModelInput): Promise<TrainSensorModelResult> {
      const context = Context.current();
      const previous = context.info.heartbeatDetails as TrainHeartbeat | undefined;
      const logger = deps.logger.child({ activity: 'trainSensorModel', variant: input.variant, runKey: input.runKey, attempt: context.info.attempt });

      return failFastOnUserInput(async () => {
        const settings = trainingSettings(input);
        const backend = await initializeTensorBackend({ backend: input.tensorBackend, logger });
        const splits = await loadSensorSplits(deps.store, input.manifestKey);
        const run = await resolveRun(input, previous);
        context.heartbeat({ mlflowRunId: run.runId } satisfies TrainHeartbeat);
        // A resumed run keeps the backend params of its first attempt. A retry on another backend is recorded as a tag.
        const changed = await deps.tracking.logParamsOnce(run.runId, tensorBackendRunParameters(backend));
        if (changed.length > 0) logger.warn({ runId: run.runId, changed }, 'resumed the training run on another tensor backend');
        await deps.tracking.setTags(run.runId, { [SENSOR_RUN_TAGS.dataVariant]: splits.preprocess.variant, 'whorl.model_hash': sensorModelHash(settings, splits.datasetHash) });

        const result = await trainSensorClassifier(
          {
            store: deps.store,
            manifestKey: input.manifestKey,
            settings,
            runKey: input.runKey,
            tracking: { client: deps.tracking, run },
            logger,
            backend: backend.name,
            signal: context.cancellationSignal,
            onProgress: (progress) => context.heartbeat({ mlflowRunId: run.runId, progress } satisfies TrainHeartbeat),
          },
          splits,
        );
        const last = result.history[result.history.length - 1];
        return {
          modelPrefix: result.modelPrefix,
          mlflowRunId: run.runId,
          sensors: result.metadata.sensors,
          parameterCount: result.metadata.parameterCount,
          trainingTimeMs: result.trainingTimeMs,
          finalLoss: last?.loss ?? Number.NaN,
          finalAccuracy: last?.metrics.accuracy ?? Number.NaN,
          reused: result.reused,
          resumedFromEpoch: result.resumedFromEpoch,
          tensorBackend: backend.name,
          taskQueue: deps.taskQueue,
        };
      });
    },

    /**
     * Evaluates a trained classifier on its test split (CCR, confusion
     * matrix, robustness tables, feature maps), writes the report files and
     * finishes the MLflow run.
     */
    async evaluateSensorModel(input: EvaluateSensorModelInput): Promise<EvaluateSensorModelResult> {
      const context = Context.current();
      const logger = deps.logger.child({ activity: 'evaluateSensorModel', modelPrefix: input.modelPrefix, attempt: context.info.attempt });
      return failFastOnUserInput(async () => {
        await initializeTensorBackend({ logger });
        const run = (await deps.tracking.getRun(input.mlflowRunId)).info;
        const result = await evaluateSensorRun({
          store: deps.store,
          modelPrefix: input.modelPrefix,
          manifestKey: input.manifestKey,
          reportPrefix: input.reportPrefix,
          seed: input.seed,
          skipRobustness: input.skipRobustness,
          tracking: { client: deps.tracking, run },
          logger,
          onProgress: (done, total) => context.heartbeat({ done, total }),
        });
        await deps.tracking.endRun(run.runId, 'FINISHED');
        return {
          aggregateCcr: result.evaluation.aggregateCcr,
          ccrBySensor: result.evaluation.ccrBySensor,
          confusion: result.evaluation.confusion,
          sensors: result.evaluation.sensors,
          robustness: result.robustness.map((row) => ({ label: row.label, aggregateCcr: row.aggregateCcr })),
          reportKeys: result.reportKeys,
        };
      });
    },
  };
}

export type SensorActivities = ReturnType<typeof createSensorActivities>;
