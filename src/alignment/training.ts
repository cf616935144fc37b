import * as tf from '@tensorflow/tfjs';
import { createRandom, type GrayImage } from '../imaging';
import { buildAlignmentModel, type AlignmentModelOptions } from '../models/alignment';
import { modelFromFiles, modelToFiles, optimizerFromFiles, optimizerToFiles, type StepContext, type StepResult } from '../training';
import { DEFAULT_SAMPLING_RANGES, type AffineSamplingRanges } from './affine';
import { gridPointLoss } from './grid-loss';
import { disposeBatch, makeSyntheticBatch, shrinkForSynthesis } from './synthetic-pairs';

export interface AlignmentTrainerOptions {
  modelOptions: AlignmentModelOptions;
  /** Fingerprints the synthetic pairs are made from; none of their fingers may appear in evaluation. */
  trainImages: GrayImage[];
  /** Pairs per optimizer step; 16 in CNNGeometric. */
  batchSize: number;
  /** Adam learning rate; 0.001 in CNNGeometric. */
  learningRate: number;
  ranges?: AffineSamplingRanges;
}

/**
 * The model, its optimizer and the three callbacks that runTrainingLoop
 * needs. A step draws a fresh batch of synthetic pairs from the loop's
 * seeded generator, so a resumed run draws the same batches.
 */
export interface AlignmentTrainer {
  readonly model: tf.LayersModel;
  trainStep(epoch: number, batch: number, context: StepContext): Promise<StepResult>;
  saveState(): Promise<Record<string, Uint8Array>>;
  loadState(files: Record<string, Uint8Array>): Promise<void>;
  dispose(): void;
}

function compile(model: tf.LayersModel, optimizer: tf.Optimizer): void {
  model.compile({ optimizer, loss: (trueTheta: tf.Tensor, predictedTheta: tf.Tensor) => gridPointLoss(trueTheta, predictedTheta) });
}

export function createAlignmentTrainer(options: AlignmentTrainerOptions): AlignmentTrainer {
  if (options.trainImages.length === 0) {
    throw new RangeError('expected at least one training image for the alignment network, but got none');
  }
  const ranges = options.ranges ?? DEFAULT_SAMPLING_RANGES;
  const sizePx = options.modelOptions.inputSizePx;
  const trainImages = options.trainImages.map((image) => shrinkForSynthesis(image, { sizePx }));
  const optimizer = tf.train.adam(options.learningRate);
  let model = buildAlignmentModel(options.modelOptions);
  compile(model, optimizer);

  return {
    get model() {
      return model;
    },

    async trainStep(_epoch, _batch, context) {
      const random = createRandom(context.random.nextSeed());
      const batch = makeSyntheticBatch(trainImages, { sizePx, batchSize: options.batchSize, random, ranges });
      try {
        const loss = (await model.trainOnBatch([batch.source, batch.target], batch.theta)) as number;
        return { loss };
      } finally {
        disposeBatch(batch);
      }
    },

    async saveState() {
      return { ...(await modelToFiles(model)), ...(await optimizerToFiles(optimizer)) };
    },

    async loadState(files) {
      const restored = await modelFromFiles(files);
      model.dispose();
      model = restored;
      compile(model, optimizer);
      await optimizerFromFiles(optimizer, files);
    },

    dispose() {
      model.dispose();
      optimizer.dispose();
    },
  };
}
