import { UserInputError } from '../config/errors';
import { readPreparedImages, type PreparedImage } from '../datasets';
import type { GrayImage } from '../imaging';
import type { Logger } from '../logging';
import { ALIGNMENT_MODEL_PRESETS, type AlignmentModelOptions, type AlignmentModelPreset } from '../models/alignment';
import type { ObjectStore } from '../storage';
import { UNFINISHED_RUN_FILTER, type MlflowClient } from '../tracking';
import { checkpointRoot, runTrainingLoop, type TrainingProgress } from '../training';
import { evaluateImpressionPairs, evaluateSyntheticPairs, makeEvaluationPairs, type ImpressionPair, type RealPairEvaluation, type SyntheticEvaluation } from './evaluation';
import { saveAlignmentModel } from './model-store';
import { chooseReferenceImage, type AlignmentReferences } from './reference';
import { createAlignmentTrainer } from './training';

/** Stage name in checkpoint prefixes and MLflow tags. */
export const ALIGNMENT_STAGE = 'alignment';

/** Settings of one alignment training run as plain data, so a workflow can pass them to an activity. */
export interface AlignmentStageRequest {
  /** Identifies the run across retries; checkpoints go under `checkpoints/<runKey>/alignment/`. */
  runKey: string;
  /** Prepared data set; its `hashingSplit` keeps training and evaluation fingers apart. */
  preparedManifestKey: string;
  preset: AlignmentModelPreset;
  /** Fields that replace the preset's, such as a smaller inputSizePx. */
  modelOverrides?: Partial<AlignmentModelOptions>;
  epochs: number;
  batchesPerEpoch: number;
  /** Pairs per step; default 16. */
  batchSize?: number;
  /** Adam learning rate; default 0.001. */
  learningRate?: number;
  seed: number;
  /** Held-out synthetic pairs for the final evaluation; default 256. */
  evaluationPairCount?: number;
  /** Real impression pairs of held-out fingers for the correlation figures; default 200. */
  maxImpressionPairs?: number;
  /** `per-sensor` stores one reference per sensor beside the global one. */
  referenceMode: 'global' | 'per-sensor';
  /** Folder of the finished model, such as `models/alignment/<hash>/`. */
  modelPrefix: string;
  /** MLflow experiment name. */
  experiment: string;
  parentRunId?: string;
}

export interface AlignmentStageResult {
  modelPrefix: string;
  mlflowRunId: string;
  epochsTrained: number;
  resumedFromEpoch?: number;
  synthetic: SyntheticEvaluation;
  realPairs: Omit<RealPairEvaluation, 'scores'>;
  trainImages: number;
  evaluationImages: number;
}

export interface AlignmentStageDependencies {
  store: ObjectStore;
  tracking: MlflowClient;
  logger: Logger;
  onProgress?(progress: TrainingProgress): void;
  signal?: AbortSignal;
}

function toGrayImage(image: PreparedImage): GrayImage {
  return { widthPx: image.width, heightPx: image.height, pixels: image.pixels };
}

function validateRequest(request: AlignmentStageRequest): void {
  // The run key also goes into an MLflow search filter, so it is checked before any request.
  try {
    checkpointRoot(request.runKey, ALIGNMENT_STAGE);
  } catch (error) {
    throw new UserInputError((error as Error).message);
  }
  if (!(request.preset in ALIGNMENT_MODEL_PRESETS)) {
    throw new UserInputError(`unknown alignment model preset "${request.preset}": expected one of ${Object.keys(ALIGNMENT_MODEL_PRESETS).join(', ')}`);
  }
  for (const [name, value] of [
    ['epochs', request.epochs],
    ['batchesPerEpoch', request.batchesPerEpoch],
    ['batchSize', request.batchSize ?? 16],
    ['evaluationPairCount', request.evaluationPairCount ?? 256],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new UserInputError(`invalid ${name} ${value}: expected a positive integer`);
  }
  const learningRate = request.learningRate ?? 0.001;
  if (!(learningRate > 0 && Number.isFinite(learningRate))) throw new UserInputError(`invalid learningRate ${learningRate}: expected a positive number`);
}

/** Pairs the first impression of each held-out finger with its other impressions, up to `limit` pairs. */
function impressionPairs(images: PreparedImage[], limit: number): ImpressionPair[] {
  const byFinger = new Map<string, PreparedImage[]>();
  for (const image of images) {
    const key = `${image.dataset}/${image.database}/${image.identity}`;
    byFinger.set(key, [...(byFinger.get(key) ?? []), image]);
  }
  const pairs: ImpressionPair[] = [];
  for (const [finger, prints] of byFinger) {
    const [query, ...candidates] = [...prints].sort((a, b) => (a.impression ?? 0) - (b.impression ?? 0) || a.id.localeCompare(b.id));
    for (const candidate of candidates) {
      if (pairs.length >= limit) return pairs;
      pairs.push({ id: `${finger}:${query.id}~${candidate.id}`, query: toGrayImage(query), candidate: toGrayImage(candidate) });
    }
  }
  return pairs;
}

/**
 * Trains the alignment network on synthetic warps of the training fingers,
 * with per-epoch checkpoints and resume, evaluates it on held-out fingers,
 * chooses the reference frames and saves everything under modelPrefix.
 * One MLflow run, tagged with the run key, is reused across retries.
 */
export async function trainAlignmentStage(request: AlignmentStageRequest, deps: AlignmentStageDependencies): Promise<AlignmentStageResult> {
  validateRequest(request);
  const modelOptions: AlignmentModelOptions = { ...ALIGNMENT_MODEL_PRESETS[request.preset], seed: request.seed, ...request.modelOverrides };
  const logger = deps.logger.child({ stage: ALIGNMENT_STAGE, runKey: request.runKey });

  const trainPrepared = await readPreparedImages(deps.store, request.preparedManifestKey, { hashingSplit: 'train' });
  const evaluationPrepared = await readPreparedImages(deps.store, request.preparedManifestKey, { hashingSplit: 'eval' });
  if (trainPrepared.length === 0 || evaluationPrepared.length === 0) {
    throw new UserInputError(
      `prepared data set ${request.preparedManifestKey} has ${trainPrepared.length} training and ${evaluationPrepared.length} evaluation images for the alignment network; it needs both, so raise the number of fingers or set hashingEvalFraction between 0 and 1`,
    );
  }
  const trainImages = trainPrepared.map(toGrayImage);
  const evaluationImages = evaluationPrepared.map(toGrayImage);

  const experimentId = await deps.tracking.getOrCreateExperiment(request.experiment);
  // An unfinished run of the same key is an interrupted attempt, which this one resumes. A finished run records a complete training, so training again gets a new run.
  const existing = await deps.tracking.searchRuns({
    experimentIds: [experimentId],
    filter: `tags."whorl.run_key" = '${request.runKey}' and tags."whorl.stage" = '${ALIGNMENT_STAGE}' and ${UNFINISHED_RUN_FILTER}`,
    maxResults: 1,
  });
  const runId =
    existing[0]?.info.runId ??
    (
      await deps.tracking.createRun({
        experimentId,
        runName: `${ALIGNMENT_STAGE}-${request.runKey}`,
        tags: { 'whorl.run_key': request.runKey, 'whorl.stage': ALIGNMENT_STAGE },
        parentRunId: request.parentRunId,
      })
    ).runId;
  if (existing.length === 0) {
    await deps.tracking.logParams(runId, {
      preset: request.preset,
      model_options: JSON.stringify(modelOptions),
      epochs: request.epochs,
      batches_per_epoch: request.batchesPerEpoch,
      batch_size: request.batchSize ?? 16,
      learning_rate: request.learningRate ?? 0.001,
      seed: request.seed,
      prepared_manifest: request.preparedManifestKey,
      train_images: trainImages.length,
      evaluation_images: evaluationImages.length,
    });
  }

  const trainer = createAlignmentTrainer({ modelOptions, trainImages, batchSize: request.batchSize ?? 16, learningRate: request.learningRate ?? 0.001 });
  try {
    const evaluationPairs = makeEvaluationPairs(evaluationImages, { sizePx: modelOptions.inputSizePx, pairCount: request.evaluationPairCount ?? 256, seed: request.seed });
    const validationPairs = evaluationPairs.slice(0, 64);
    const loop = await runTrainingLoop({
      stage: ALIGNMENT_STAGE,
      runKey: request.runKey,
      epochs: request.epochs,
      batchesPerEpoch: request.batchesPerEpoch,
      seed: request.seed,
      trainStep: (epoch, batch, context) => trainer.trainStep(epoch, batch, context),
      evaluate: async () => ({ validation_grid_error: evaluateSyntheticPairs(trainer.model, validationPairs).overall.alignedError }),
      saveState: () => trainer.saveState(),
      loadState: (files) => trainer.loadState(files),
      store: deps.store,
      tracking: { client: deps.tracking, runId },
      onProgress: deps.onProgress,
      signal: deps.signal,
      keepCheckpoints: 2,
      logger,
    });

    const synthetic = evaluateSyntheticPairs(trainer.model, evaluationPairs);
    const realEvaluation = evaluateImpressionPairs(trainer.model, impressionPairs(evaluationPrepared, request.maxImpressionPairs ?? 200));
    const realPairs: AlignmentStageResult['realPairs'] = {
      pairs: realEvaluation.pairs,
      meanCorrelationBefore: realEvaluation.meanCorrelationBefore,
      meanCorrelationAfter: realEvaluation.meanCorrelationAfter,
      improvedFraction: realEvaluation.improvedFraction,
      degenerateCount: realEvaluation.degenerateCount,
    };

    const references: AlignmentReferences = { global: chooseReferenceImage(trainImages, { seed: request.seed }).image, bySensor: {} };
    if (request.referenceMode === 'per-sensor') {
      for (const sensor of [...new Set(trainPrepared.map((image) => image.sensor))].sort()) {
        const sensorImages = trainPrepared.filter((image) => image.sensor === sensor).map(toGrayImage);
        references.bySensor[sensor] = chooseReferenceImage(sensorImages, { seed: request.seed }).image;
      }
    }

    const metrics: Record<string, number> = {
      synthetic_identity_grid_error: synthetic.overall.identityError,
      synthetic_aligned_grid_error: synthetic.overall.alignedError,
      synthetic_degenerate_predictions: synthetic.degenerateCount,
      real_ncc_before: realPairs.meanCorrelationBefore,
      real_ncc_after: realPairs.meanCorrelationAfter,
      real_improved_fraction: realPairs.improvedFraction,
      real_degenerate_predictions: realPairs.degenerateCount,
    };
    for (const bin of synthetic.byRotation) {
      metrics[`synthetic_identity_grid_error_rot${bin.fromDegrees}_${bin.toDegrees}`] = bin.identityError;
      metrics[`synthetic_aligned_grid_error_rot${bin.fromDegrees}_${bin.toDegrees}`] = bin.alignedError;
    }
    await saveAlignmentModel(deps.store, request.modelPrefix, { model: trainer.model, modelOptions, references, metrics });
    await deps.tracking.logBatch(runId, { metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, step: request.epochs })), tags: { 'whorl.model_prefix': request.modelPrefix } });
    await deps.tracking.endRun(runId, 'FINISHED');
    logger.info({ modelPrefix: request.modelPrefix, runId, ...metrics }, 'finished alignment stage');

    return {
      modelPrefix: request.modelPrefix,
      mlflowRunId: runId,
      epochsTrained: loop.epochsTrained,
      resumedFromEpoch: loop.resumedFromEpoch,
      synthetic,
      realPairs,
      trainImages: trainImages.length,
      evaluationImages: evaluationImages.length,
    };
  } finally {
    trainer.dispose();
  }
}
