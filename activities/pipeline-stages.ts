import { Context } from '@temporalio/activity';
import { loadAlignmentModel } from '../src/alignment/model-store';
import { readPreparedImages } from '../src/datasets/manifest';
import type { AlignmentStageConfig, SensorStageConfig } from '../src/pipeline/config';
import { measureAlignmentPairs } from '../src/pipeline/alignment-evaluation';
import { runCachedStage, stageKey } from '../src/pipeline/stage-cache';
import type { Perturbation } from '../src/sensors/evaluate';
import type { SensorModelVariant } from '../src/sensors/classifier';
import { SENSOR_TRAINING_CODE_VERSION } from '../src/sensors/train';
import { findLatestCheckpoint } from '../src/training/checkpoints';
import type { RobustnessCurve } from '../src/reports/run-report';
import { createAlignmentActivities } from './alignment';
import type { ActivityDependencies } from './dependencies';
import { failFastOnUserInput } from './failures';
import type { StageOutcome, TrackingContext } from './retrieval';
import { createSensorActivities, type SensorSettingOverrides } from './sensor';

/** Bumped whenever a stage below changes what it writes, so cached outputs are not reused. */
const CODE_VERSIONS = { sensorTrain: 3, sensorEvaluate: 1, alignment: 2 } as const;

/** One finished epoch of a network, as the run report shows it. */
export interface EpochSummary {
  /** 1-based, unlike the zero-based epochs of the training loop's checkpoints. */
  epoch: number;
  loss: number;
  accuracy?: number;
}

export interface SensorTrainingOutput {
  variant: SensorModelVariant;
  modelPrefix: string;
  mlflowRunId: string;
  parameterCount: number;
  trainingTimeMs: number;
  history: EpochSummary[];
  tensorBackend: string;
}

export interface SensorEvaluationOutput {
  variant: SensorModelVariant;
  /** Stage key of the training that produced the evaluated model. */
  modelVersion: string;
  modelPrefix: string;
  aggregateCcr: number;
  ccrBySensor: Record<string, number>;
  /** confusion[actual][predicted] counts test images, in `sensors` order. */
  confusion: number[][];
  sensors: string[];
  robustness: RobustnessCurve[];
  reportKeys: string[];
}

export interface AlignmentStageOutput {
  /** Stage key of the run, recorded in the report as the model version. */
  modelVersion: string;
  modelPrefix: string;
  mlflowRunId: string;
  epochsTrained: number;
  /** Epoch whose checkpoint the final attempt resumed after; absent when it started afresh. */
  resumedFromEpoch?: number;
  history: EpochSummary[];
  /** Per held-out synthetic pair, in pixels of the model input. */
  gridErrorBeforePx: number[];
  gridErrorAfterPx: number[];
  /** Object keys of the before/after overlay PNGs. */
  overlays: Array<{ name: string; caption: string; key: string }>;
  realPairs: { pairs: number; meanCorrelationBefore: number; meanCorrelationAfter: number; improvedFraction: number };
}

export interface SensorStageInput {
  preparedManifestKey: string;
  variant: SensorModelVariant;
  sensor: SensorStageConfig;
  seed: number;
  /** MLflow experiment of the pipeline; the MLflow run is a child of `tracking.parentRunId`. */
  experiment: string;
  tracking?: TrackingContext;
}

/** Collects the preset overrides that a `sensor` config section sets. */
function sensorOverrides(sensor: SensorStageConfig): SensorSettingOverrides {
  const overrides: SensorSettingOverrides = {};
  if (sensor.epochs !== undefined) overrides.epochs = sensor.epochs;
  if (sensor.batchSize !== undefined) overrides.batchSize = sensor.batchSize;
  if (sensor.inputSizePx !== undefined) overrides.inputSizePx = sensor.inputSizePx;
  if (sensor.input !== undefined) overrides.input = sensor.input;
  if (sensor.trainPatchesPerImage !== undefined) overrides.trainPatchesPerImage = sensor.trainPatchesPerImage;
  if (sensor.testPatchGrid !== undefined) overrides.testPatchGrid = sensor.testPatchGrid;
  if (sensor.widthMultiplier !== undefined) overrides.widthMultiplier = sensor.widthMultiplier;
  if (sensor.learningRate !== undefined) overrides.learningRate = sensor.learningRate;
  if (sensor.learningRateSchedule !== undefined) overrides.learningRateSchedule = sensor.learningRateSchedule;
  if (sensor.augmentation !== undefined) overrides.augmentation = sensor.augmentation;
  return overrides;
}

/** Converts a perturbation of the robustness tables to the report's curve name and level, or undefined for the unperturbed baseline. */
function curvePoint(perturbation: Perturbation): { perturbation: RobustnessCurve['perturbation']; level: number } | undefined {
  switch (perturbation.kind) {
    case 'none':
      return undefined;
    case 'rotation':
      return { perturbation: 'rotation', level: perturbation.angleDegrees };
    case 'occlusion':
    case 'noise':
      return { perturbation: perturbation.kind, level: perturbation.percent };
  }
}

/** Groups robustness rows into one curve per perturbation kind, in level order. */
function robustnessCurves(variant: string, rows: Array<{ perturbation: Perturbation; aggregateCcr: number }>): RobustnessCurve[] {
  const curves = new Map<RobustnessCurve['perturbation'], RobustnessCurve>();
  for (const row of rows) {
    const point = curvePoint(row.perturbation);
    if (point === undefined) continue;
    const curve = curves.get(point.perturbation) ?? { variant, perturbation: point.perturbation, points: [] };
    curve.points.push({ level: point.level, ccr: row.aggregateCcr });
    curves.set(point.perturbation, curve);
  }
  for (const curve of curves.values()) curve.points.sort((a, b) => a.level - b.level);
  return [...curves.values()];
}

/**
 * Pipeline stages around the sensor-classifier and alignment activities:
 * each runs the underlying activity inside runCachedStage, so a rerun with
 * the same config, seed and prepared data set reuses the finished output.
 * The checkpoint run key is derived from the stage key, so a retry of the
 * same stage resumes from the newest epoch checkpoint.
 */
export function createPipelineStageActivities(deps: ActivityDependencies) {
  const { store, logger } = deps;
  const sensorActivities = createSensorActivities(deps);
  const alignmentActivities = createAlignmentActivities(deps);

  return {
    /** Trains one sensor classifier on the prepared data set's sensor-train split. Heartbeats after every batch. */
    async trainSensorStage(input: SensorStageInput): Promise<StageOutcome<SensorTrainingOutput>> {
      const stage = `sensor-${input.variant}`;
      // Only the training settings key the model; `variants` and `robustness` do not change what is trained.
      const training = { size: input.sensor.size, ...sensorOverrides(input.sensor) };
      const keyInput = { stage, codeVersion: CODE_VERSIONS.sensorTrain, config: { ...training, variant: input.variant, seed: input.seed }, inputs: { prepared: input.preparedManifestKey } };
      // Shallow and deep runs on the same data and settings share this MLflow pair key, so `whorl compare` pairs them.
      const pairKey = `pipeline-${stageKey({ stage: 'sensor-pair', codeVersion: CODE_VERSIONS.sensorTrain, config: { ...training, seed: input.seed }, inputs: { prepared: input.preparedManifestKey } }).slice(0, 16)}`;
      // The checkpoint run key follows the training code's version, not this wrapper's, as the classifier's own
      // model cache does. A classifier reused from that cache then comes with its checkpoint history.
      const runKey = `${stage}-${stageKey({ ...keyInput, codeVersion: SENSOR_TRAINING_CODE_VERSION })}`;

      const result = await runCachedStage(store, keyInput, async () => {
        const trained = await sensorActivities.trainSensorModel({
          manifestKey: input.preparedManifestKey,
          variant: input.variant,
          size: input.sensor.size,
          overrides: sensorOverrides(input.sensor),
          seed: input.seed,
          runKey,
          experiment: input.experiment,
          pairKey,
          parentRunId: input.tracking?.parentRunId,
        });
        const checkpoint = await findLatestCheckpoint(store, runKey, stage);
        const history = (checkpoint?.manifest.history ?? []).map((record) => ({ epoch: record.epoch + 1, loss: record.loss, accuracy: record.metrics.accuracy }));
        logger.info({ stage, runKey, modelPrefix: trained.modelPrefix, reused: trained.reused }, 'sensor classifier stage trained');
        return {
          variant: input.variant,
          modelPrefix: trained.modelPrefix,
          mlflowRunId: trained.mlflowRunId,
          parameterCount: trained.parameterCount,
          trainingTimeMs: trained.trainingTimeMs,
          history,
          tensorBackend: trained.tensorBackend,
        };
      });
      const { output } = result;
      const last = output.history[output.history.length - 1];
      const detail = `${output.parameterCount} parameters, ${output.history.length} epochs${last?.accuracy === undefined ? '' : `, train accuracy ${last.accuracy.toFixed(3)}`}`;
      return { cached: result.cached, key: result.key, detail, output };
    },

    /**
     * Evaluates a trained sensor classifier on the test split (CCR, confusion
     * matrix and, unless `sensor.robustness` is false, the robustness
     * tables), writes the report files under the stage prefix and finishes
     * the training's MLflow run.
     */
    async evaluateSensorStage(input: { preparedManifestKey: string; training: StageOutcome<SensorTrainingOutput>; sensor: SensorStageConfig; seed: number }): Promise<StageOutcome<SensorEvaluationOutput>> {
      const { variant } = input.training.output;
      const keyInput = {
        stage: `sensor-${variant}-evaluate`,
        codeVersion: CODE_VERSIONS.sensorEvaluate,
        config: { robustness: input.sensor.robustness, seed: input.seed },
        inputs: { prepared: input.preparedManifestKey, model: input.training.key },
      };
      const result = await runCachedStage(store, keyInput, async (prefix) => {
        const reportPrefix = `${prefix}report/`;
        const evaluated = await sensorActivities.evaluateSensorModel({
          modelPrefix: input.training.output.modelPrefix,
          manifestKey: input.preparedManifestKey,
          mlflowRunId: input.training.output.mlflowRunId,
          seed: input.seed,
          reportPrefix,
          skipRobustness: !input.sensor.robustness,
        });
        // The activity returns robustness rows by label only; evaluation.json keeps each row's perturbation and level.
        const written = JSON.parse(Buffer.from(await store.get(`${reportPrefix}evaluation.json`)).toString('utf8')) as { robustness: Array<{ perturbation: Perturbation; aggregateCcr: number }> };
        return {
          variant,
          modelVersion: input.training.key,
          modelPrefix: input.training.output.modelPrefix,
          aggregateCcr: evaluated.aggregateCcr,
          ccrBySensor: evaluated.ccrBySensor,
          confusion: evaluated.confusion,
          sensors: evaluated.sensors,
          robustness: robustnessCurves(variant, written.robustness),
          reportKeys: evaluated.reportKeys,
        };
      });
      return { cached: result.cached, key: result.key, detail: `CCR ${result.output.aggregateCcr.toFixed(3)}`, output: result.output };
    },

    /**
     * Trains and evaluates the alignment network, then measures its grid-point
     * error pair by pair and draws overlays for the run report. Heartbeats
     * after every training batch; the evaluation after training sends none.
     */
    async trainAlignmentStage(input: { preparedManifestKey: string; alignment: AlignmentStageConfig; seed: number; experiment: string; tracking?: TrackingContext }): Promise<StageOutcome<AlignmentStageOutput>> {
      const keyInput = { stage: 'alignment', codeVersion: CODE_VERSIONS.alignment, config: { ...input.alignment, seed: input.seed }, inputs: { prepared: input.preparedManifestKey } };
      const key = stageKey(keyInput);
      const runKey = `alignment-${key}`;

      const result = await runCachedStage(store, keyInput, async (prefix) => {
        const trained = await alignmentActivities.trainAlignmentNetwork({
          runKey,
          preparedManifestKey: input.preparedManifestKey,
          preset: input.alignment.preset,
          epochs: input.alignment.epochs,
          batchesPerEpoch: input.alignment.batchesPerEpoch,
          batchSize: input.alignment.batchSize,
          learningRate: input.alignment.learningRate,
          seed: input.seed,
          evaluationPairCount: input.alignment.evaluationPairCount,
          maxImpressionPairs: input.alignment.maxImpressionPairs,
          referenceMode: input.alignment.referenceMode,
          modelPrefix: `models/alignment/${key}/`,
          experiment: input.experiment,
          parentRunId: input.tracking?.parentRunId,
        });
        Context.current().heartbeat({ phase: 'measuring alignment pairs' });

        return failFastOnUserInput(async () => {
          const checkpoint = await findLatestCheckpoint(store, runKey, 'alignment');
          const history = (checkpoint?.manifest.history ?? []).map((record) => ({ epoch: record.epoch + 1, loss: record.loss }));
          const evaluationImages = (await readPreparedImages(store, input.preparedManifestKey, { hashingSplit: 'eval' })).map((image) => ({ widthPx: image.width, heightPx: image.height, pixels: image.pixels }));
          const { model } = await loadAlignmentModel(store, trained.modelPrefix);
          try {
            const measured = measureAlignmentPairs(model, evaluationImages, { pairCount: input.alignment.evaluationPairCount, seed: input.seed, overlayCount: input.alignment.overlays });
            const overlays: AlignmentStageOutput['overlays'] = [];
            for (const overlay of measured.overlays) {
              const overlayKey = `${prefix}overlays/${overlay.name}.png`;
              await store.put(overlayKey, overlay.png, { contentType: 'image/png' });
              overlays.push({ name: overlay.name, caption: overlay.caption, key: overlayKey });
            }
            return {
              modelVersion: key,
              modelPrefix: trained.modelPrefix,
              mlflowRunId: trained.mlflowRunId,
              epochsTrained: trained.epochsTrained,
              resumedFromEpoch: trained.resumedFromEpoch,
              history,
              gridErrorBeforePx: measured.gridErrorBeforePx,
              gridErrorAfterPx: measured.gridErrorAfterPx,
              overlays,
              realPairs: {
                pairs: trained.realPairs.pairs,
                meanCorrelationBefore: trained.realPairs.meanCorrelationBefore,
                meanCorrelationAfter: trained.realPairs.meanCorrelationAfter,
                improvedFraction: trained.realPairs.improvedFraction,
              },
            };
          } finally {
            model.dispose();
          }
        });
      });
      const { output } = result;
      const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
      const detail = `grid error ${mean(output.gridErrorBeforePx).toFixed(2)} px before, ${mean(output.gridErrorAfterPx).toFixed(2)} px after alignment`;
      return { cached: result.cached, key: result.key, detail, output };
    },
  };
}

export type PipelineStageActivities = ReturnType<typeof createPipelineStageActivities>;
