import * as tf from '@tensorflow/tfjs';
import { normalizeIntensity, resizeImage, type GrayImage, type Random } from '../imaging';
import { DEFAULT_SAMPLING_RANGES, sampleAffine, type AffineComponents, type AffineParameters, type AffineSamplingRanges } from './affine';
import { centerOnCanvas, inkTensor } from './inputs';
import { warpGrayImage } from './pixel-warp';

/** One synthetic training pair: the target is the source warped by `parameters`. */
export interface SyntheticPair {
  source: GrayImage;
  target: GrayImage;
  parameters: AffineParameters;
  components: AffineComponents;
}

/** A batch of synthetic pairs as model inputs and the true transforms. */
export interface SyntheticBatch {
  /** [batchSize, sizePx, sizePx, 1] ink values. */
  source: tf.Tensor4D;
  target: tf.Tensor4D;
  /** [batchSize, 6] true AffineParameters. */
  theta: tf.Tensor2D;
  components: AffineComponents[];
}

/**
 * Makes one pair from a fingerprint: the image, stretched and centred on a
 * white square canvas at full resolution, is the source; the target is that
 * canvas warped by a random affine transform, with white where the
 * transform reaches past the canvas. Both are then resized to sizePx, so
 * the warp itself is done at full resolution and downsampled with
 * antialiasing.
 */
export function makeSyntheticPair(image: GrayImage, options: { sizePx: number; random: Random; ranges?: AffineSamplingRanges }): SyntheticPair {
  const canvas = centerOnCanvas(normalizeIntensity(image), Math.max(image.widthPx, image.heightPx));
  const { parameters, components } = sampleAffine(options.random, options.ranges ?? DEFAULT_SAMPLING_RANGES);
  const warped = warpGrayImage(canvas, parameters);
  const size = { widthPx: options.sizePx, heightPx: options.sizePx };
  return { source: resizeImage(canvas, size), target: resizeImage(warped, size), parameters, components };
}

/** Draws `batchSize` images with replacement and makes one synthetic pair from each. */
export function makeSyntheticBatch(images: GrayImage[], options: { sizePx: number; batchSize: number; random: Random; ranges?: AffineSamplingRanges }): SyntheticBatch {
  if (images.length === 0) throw new RangeError('expected at least one training image to make synthetic pairs from');
  if (!Number.isInteger(options.batchSize) || options.batchSize <= 0) {
    throw new RangeError(`expected batchSize to be a positive integer, but got ${options.batchSize}`);
  }
  const pairs: SyntheticPair[] = [];
  for (let i = 0; i < options.batchSize; i++) {
    const image = images[options.random.integer(images.length)];
    pairs.push(makeSyntheticPair(image, options));
  }
  return pairsToBatch(pairs);
}

/** Stacks pairs into model inputs. */
export function pairsToBatch(pairs: SyntheticPair[]): SyntheticBatch {
  return {
    source: inkTensor(pairs.map((pair) => pair.source)),
    target: inkTensor(pairs.map((pair) => pair.target)),
    theta: tf.tensor2d(pairs.map((pair) => pair.parameters)),
    components: pairs.map((pair) => pair.components),
  };
}

export function disposeBatch(batch: SyntheticBatch): void {
  tf.dispose([batch.source, batch.target, batch.theta]);
}
