import type { GrayImage } from '../imaging';

/**
 * Marks the pixels of blocks whose gray-level standard deviation reaches
 * `minStdDev`: ridges make a block vary, while blank background and the
 * white fill of a warp do not.
 */
export function foregroundMask(image: GrayImage, options: { blockSizePx?: number; minStdDev?: number } = {}): Uint8Array {
  const blockSizePx = options.blockSizePx ?? 8;
  const minStdDev = options.minStdDev ?? 12;
  const mask = new Uint8Array(image.widthPx * image.heightPx);
  for (let top = 0; top < image.heightPx; top += blockSizePx) {
    for (let left = 0; left < image.widthPx; left += blockSizePx) {
      const bottom = Math.min(image.heightPx, top + blockSizePx);
      const right = Math.min(image.widthPx, left + blockSizePx);
      let sum = 0;
      let sumOfSquares = 0;
      for (let y = top; y < bottom; y++) {
        for (let x = left; x < right; x++) {
          const value = image.pixels[y * image.widthPx + x];
          sum += value;
          sumOfSquares += value * value;
        }
      }
      const count = (bottom - top) * (right - left);
      const variance = sumOfSquares / count - (sum / count) ** 2;
      if (Math.sqrt(Math.max(0, variance)) < minStdDev) continue;
      for (let y = top; y < bottom; y++) mask.fill(1, y * image.widthPx + left, y * image.widthPx + right);
    }
  }
  return mask;
}

/** Normalized cross-correlation of two images over the pixels where both are foreground. */
export interface OverlapCorrelation {
  /** Pearson correlation in [-1, 1]; 0 when the overlap is smaller than minOverlapFraction. */
  correlation: number;
  /** Share of all pixels that are foreground in both images. */
  overlapFraction: number;
}

/**
 * Computes the normalized cross-correlation of two images of one size over
 * their common foreground (see foregroundMask). Below `minOverlapFraction`
 * (default 0.05) the correlation is reported as 0, because a few pixels
 * give an arbitrary value.
 */
export function overlapCorrelation(a: GrayImage, b: GrayImage, options: { minOverlapFraction?: number; blockSizePx?: number; minStdDev?: number } = {}): OverlapCorrelation {
  if (a.widthPx !== b.widthPx || a.heightPx !== b.heightPx) {
    throw new RangeError(`expected images of one size, but got ${a.widthPx}×${a.heightPx} and ${b.widthPx}×${b.heightPx}`);
  }
  const maskA = foregroundMask(a, options);
  const maskB = foregroundMask(b, options);
  let count = 0;
  let sumA = 0;
  let sumB = 0;
  for (let i = 0; i < maskA.length; i++) {
    if (maskA[i] === 0 || maskB[i] === 0) continue;
    count++;
    sumA += a.pixels[i];
    sumB += b.pixels[i];
  }
  const overlapFraction = count / maskA.length;
  if (overlapFraction < (options.minOverlapFraction ?? 0.05)) return { correlation: 0, overlapFraction };

  const meanA = sumA / count;
  const meanB = sumB / count;
  let covariance = 0;
  let varianceA = 0;
  let varianceB = 0;
  for (let i = 0; i < maskA.length; i++) {
    if (maskA[i] === 0 || maskB[i] === 0) continue;
    const da = a.pixels[i] - meanA;
    const db = b.pixels[i] - meanB;
    covariance += da * db;
    varianceA += da * da;
    varianceB += db * db;
  }
  const denominator = Math.sqrt(varianceA * varianceB);
  return { correlation: denominator === 0 ? 0 : covariance / denominator, overlapFraction };
}
