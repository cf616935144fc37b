import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import {
  composeAffine,
  createAlignmentTrainer,
  evaluateSyntheticPairs,
  disposeBatch,
  makeEvaluationPairs,
  makeSyntheticPair,
  meanGridPointDistance,
  pairsToBatch,
  type AffineParameters,
  type AffineSamplingRanges,
  type AlignmentTrainer,
} from '../../src/alignment';
import { createGrayImage, createRandom, type GrayImage } from '../../src/imaging';
import { TrainingRandom } from '../../src/training';
import { useFastestBackend } from './backend';

/** Gray blobs on white: shapes a tiny network can align after seconds of training. */
function blobImage(seed: string, sizePx = 48): GrayImage {
  const random = createRandom(seed);
  const image = createGrayImage(sizePx, sizePx, 255);
  const blobs = Array.from({ length: 4 }, () => ({
    x: random.uniform(0.2, 0.8) * sizePx,
    y: random.uniform(0.2, 0.8) * sizePx,
    radiusX: random.uniform(0.06, 0.16) * sizePx,
    radiusY: random.uniform(0.06, 0.16) * sizePx,
    level: random.uniform(0, 120),
  }));
  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) {
      for (const blob of blobs) {
        if (((x - blob.x) / blob.radiusX) ** 2 + ((y - blob.y) / blob.radiusY) ** 2 <= 1) image.pixels[y * sizePx + x] = Math.round(blob.level);
      }
    }
  }
  return image;
}

const TINY_MODEL = { inputSizePx: 32, inputChannels: 1, featureBlocks: [[8], [16]], regression: [{ kernelSizePx: 3, filters: 16 }], seed: 11 };
const SHIFT_AND_SCALE: AffineSamplingRanges = { maxRotationDegrees: 0, maxShear: 0, minScale: 0.9, maxScale: 1.1, maxTranslation: 0.25 };
const TRAINING_STEPS = 400;

async function train(trainer: AlignmentTrainer, steps: number, seed: number): Promise<number[]> {
  const random = new TrainingRandom(seed);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) losses.push((await trainer.trainStep(0, step, { random, globalStep: step })).loss);
  return losses;
}

describe('alignment training', function () {
  this.timeout(180_000);
  const trainImages = Array.from({ length: 256 }, (_, index) => blobImage(`train-${index}`));
  const heldOutImages = Array.from({ length: 16 }, (_, index) => blobImage(`held-out-${index}`));
  let trainer: AlignmentTrainer;

  before(async function () {
    await useFastestBackend();
    trainer = createAlignmentTrainer({ modelOptions: TINY_MODEL, trainImages, batchSize: 16, learningRate: 0.001, ranges: SHIFT_AND_SCALE });
    await train(trainer, TRAINING_STEPS, 1);
  });

  after(function () {
    trainer.dispose();
  });

  it('halves grid error on held-out pairs', function () {
    const pairs = makeEvaluationPairs(heldOutImages, { sizePx: 32, pairCount: 64, seed: 5, ranges: SHIFT_AND_SCALE });
    const evaluation = evaluateSyntheticPairs(trainer.model, pairs);

    assert.equal(evaluation.overall.pairs, 64);
    assert.ok(
      evaluation.overall.alignedError < 0.5 * evaluation.overall.identityError,
      `aligned error ${evaluation.overall.alignedError.toFixed(4)} is not below half the identity error ${evaluation.overall.identityError.toFixed(4)}`,
    );
  });

  it('recovers a known shift within half its offset', function () {
    // Shift by (0.2, -0.15) with 5% zoom. Unaligned, the grid error is 0.25
    // normalized units (4 px of the 32-px input), and aligned it must be below half that.
    const components = { rotationDegrees: 0, shear: 0, scaleX: 0.95, scaleY: 0.95, translationX: 0.2, translationY: -0.15 };
    const known = composeAffine(components);
    const pairs = heldOutImages.slice(0, 8).map((image) => makeSyntheticPair(image, { sizePx: 32, components }));
    const batch = pairsToBatch(pairs);
    const predicted = tf.tidy(() => (trainer.model.predict([batch.source, batch.target]) as tf.Tensor2D).arraySync() as AffineParameters[]);
    disposeBatch(batch);
    const errors = predicted.map((parameters) => meanGridPointDistance(parameters, known));
    const meanError = errors.reduce((sum, error) => sum + error, 0) / errors.length;

    assert.ok(meanError < 0.125, `mean grid error ${meanError.toFixed(4)} over 8 held-out images; per image ${errors.map((error) => error.toFixed(3)).join(', ')}`);
  });

  it('restores saved state exactly', async function () {
    const files = await trainer.saveState();
    const restored = createAlignmentTrainer({ modelOptions: TINY_MODEL, trainImages, batchSize: 16, learningRate: 0.001, ranges: SHIFT_AND_SCALE });
    await restored.loadState(files);
    const inputs = [tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 1), tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 2)];
    const expected = (trainer.model.predict(inputs) as tf.Tensor).arraySync();
    const actual = (restored.model.predict(inputs) as tf.Tensor).arraySync();

    assert.deepEqual(actual, expected);
    restored.dispose();
    tf.dispose(inputs);
  });
});
