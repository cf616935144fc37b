import * as tf from '@tensorflow/tfjs';
import { normalizeIntensity, resizeImage, type GrayImage, type Random } from '../imaging';
import { composeAffine, DEFAULT_SAMPLING_RANGES, sampleAffine, type AffineComponents, type AffineParameters, type AffineSamplingRanges } from './affine';
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
 * Makes one pair from a fingerprint. The source is the image, stretched and
 * centred on a white square canvas at full resolution. The target is that
 * canvas warped by an affine transform, with white where the transform
 * reaches past the canvas. Both are then resized to sizePx, so the warp
 * itself is done at full resolution and downsampled with antialiasing. The
 * transform is drawn from `random` within `ranges`, unless `components`
 * fixes it.
 */
export function makeSyntheticPair(
  image: GrayImage,
  options: { sizePx: number; random: Random; ranges?: AffineSamplingRanges } | { sizePx: number; components: AffineComponents },
): SyntheticPair {
  const canvas = centerOnCanvas(normalizeIntensity(image), Math.max(image.widthPx, image.heightPx));
  const { parameters, components } =
    'components' in options ? { parameters: composeAffine(options.components), components: options.components } : sampleAffine(options.random, options.ranges ?? DEFAULT_SAMPLING_RANGES);
  const warped = warpGrayImage(canvas, parameters);
  const size = { widthPx: options.sizePx, heightPx: options.sizePx };
  return { source: resizeImage(canvas, size), target: resizeImage(warped, size), parameters, components };
}

/**
 * Shrinks an image, keeping its aspect ratio, so its longer side is at most
 * `maxSideFactor` × sizePx (2 by default). Synthesis warps at full
 * resolution, and this bounds that cost for large prints while keeping
 * enough detail for an antialiased resize to sizePx.
 */
export function shrinkForSynthesis(image: GrayImage, options: { sizePx: number; maxSideFactor?: number }): GrayImage {
  const maxSidePx = options.sizePx * (options.maxSideFactor ?? 2);
  const longerSidePx = Math.max(image.widthPx, image.heightPx);
  if (longerSidePx <= maxSidePx) return image;
  const scale = maxSidePx / longerSidePx;
  return resizeImage(image, { widthPx: Math.max(2, Math.round(image.widthPx * scale)), heightPx: Math.max(2, Math.round(image.heightPx * scale)) });
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
