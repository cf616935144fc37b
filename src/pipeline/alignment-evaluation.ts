import * as tf from '@tensorflow/tfjs';
import { IDENTITY_AFFINE, meanGridPointDistance, type AffineParameters } from '../alignment/affine';
import { makeEvaluationPairs } from '../alignment/evaluation';
import { renderAlignmentOverlay } from '../alignment/overlay';
import { alignmentInputSizePx } from '../alignment/pipeline';
import { warpGrayImage } from '../alignment/pixel-warp';
import { disposeBatch, pairsToBatch } from '../alignment/synthetic-pairs';
import type { GrayImage } from '../imaging';

/** Pairs per model call, which bounds memory. */
const PREDICT_BATCH_SIZE = 16;

export interface AlignmentPairErrors {
  /** Mean grid-point distance of the identity transform from the true one, per pair, in pixels of the model input. */
  gridErrorBeforePx: number[];
  /** The same distance for the predicted transform. */
  gridErrorAfterPx: number[];
  /** The first `overlayCount` pairs drawn as target over source, before and after alignment. */
  overlays: Array<{ name: string; caption: string; png: Uint8Array }>;
}

/**
 * Measures the alignment network on held-out synthetic pairs, pair by pair,
 * for the run report. The pairs are made by makeEvaluationPairs with the
 * same seed and count as the alignment stage's own evaluation, so the means
 * match its summary metrics.
 */
export function measureAlignmentPairs(model: tf.LayersModel, images: GrayImage[], options: { pairCount: number; seed: number; overlayCount: number }): AlignmentPairErrors {
  const sizePx = alignmentInputSizePx(model);
  const pixelsPerUnit = (sizePx - 1) / 2;
  const pairs = makeEvaluationPairs(images, { sizePx, pairCount: options.pairCount, seed: options.seed });

  const predictions: AffineParameters[] = [];
  for (let start = 0; start < pairs.length; start += PREDICT_BATCH_SIZE) {
    const batch = pairsToBatch(pairs.slice(start, start + PREDICT_BATCH_SIZE));
    const rows = tf.tidy(() => (model.predict([batch.source, batch.target]) as tf.Tensor2D).arraySync());
    disposeBatch(batch);
    predictions.push(...(rows as AffineParameters[]));
  }

  const gridErrorBeforePx = pairs.map((pair) => meanGridPointDistance(IDENTITY_AFFINE, pair.parameters) * pixelsPerUnit);
  const gridErrorAfterPx = pairs.map((pair, index) => meanGridPointDistance(predictions[index], pair.parameters) * pixelsPerUnit);
  const overlays = pairs.slice(0, options.overlayCount).map((pair, index) => {
    const name = `pair-${String(index).padStart(3, '0')}`;
    const rotation = pair.components.rotationDegrees.toFixed(1);
    const caption = `${name}: rotation ${rotation}°, grid error ${gridErrorBeforePx[index].toFixed(2)} px before and ${gridErrorAfterPx[index].toFixed(2)} px after alignment`;
    return { name, caption, png: renderAlignmentOverlay(pair.target, pair.source, warpGrayImage(pair.source, predictions[index])) };
  });
  return { gridErrorBeforePx, gridErrorAfterPx, overlays };
}
