import { validateDimensions, type GrayImage } from './gray-image';

interface AxisWeights {
  starts: Int32Array;
  counts: Int32Array;
  weights: Float32Array;
  maxTaps: number;
}

/**
 * Precomputes triangle-filter taps for one axis. When shrinking, the filter
 * widens by the scale factor so every source pixel contributes (an
 * antialiased bilinear resample, as in Pillow's BILINEAR).
 */
function computeAxisWeights(sourceLength: number, targetLength: number): AxisWeights {
  const scale = sourceLength / targetLength;
  const support = Math.max(scale, 1);
  const maxTaps = Math.ceil(support) * 2 + 1;
  const starts = new Int32Array(targetLength);
  const counts = new Int32Array(targetLength);
  const weights = new Float32Array(targetLength * maxTaps);
  for (let i = 0; i < targetLength; i++) {
    const center = (i + 0.5) * scale;
    const first = Math.max(0, Math.floor(center - support));
    const last = Math.min(sourceLength - 1, Math.ceil(center + support));
    let total = 0;
    let count = 0;
    for (let j = first; j <= last && count < maxTaps; j++) {
      const weight = Math.max(0, 1 - Math.abs((j + 0.5 - center) / support));
      if (weight === 0 && count === 0) continue;
      weights[i * maxTaps + count] = weight;
      if (count === 0) starts[i] = j;
      total += weight;
      count++;
    }
    if (total === 0) {
      starts[i] = Math.min(sourceLength - 1, Math.floor(center));
      weights[i * maxTaps] = 1;
      count = 1;
      total = 1;
    }
    for (let k = 0; k < count; k++) weights[i * maxTaps + k] /= total;
    counts[i] = count;
  }
  return { starts, counts, weights, maxTaps };
}

/** Resizes to the given size with an antialiased bilinear filter. */
export function resizeImage(image: GrayImage, size: { widthPx: number; heightPx: number }): GrayImage {
  validateDimensions(size.widthPx, size.heightPx);
  if (size.widthPx === image.widthPx && size.heightPx === image.heightPx) {
    return { ...image, pixels: image.pixels.slice() };
  }
  const horizontal = computeAxisWeights(image.widthPx, size.widthPx);
  const vertical = computeAxisWeights(image.heightPx, size.heightPx);

  const intermediate = new Float32Array(size.widthPx * image.heightPx);
  for (let y = 0; y < image.heightPx; y++) {
    const rowStart = y * image.widthPx;
    for (let x = 0; x < size.widthPx; x++) {
      let sum = 0;
      const start = horizontal.starts[x];
      const base = x * horizontal.maxTaps;
      for (let k = 0; k < horizontal.counts[x]; k++) sum += image.pixels[rowStart + start + k] * horizontal.weights[base + k];
      intermediate[y * size.widthPx + x] = sum;
    }
  }

  const pixels = new Uint8Array(size.widthPx * size.heightPx);
  for (let y = 0; y < size.heightPx; y++) {
    const start = vertical.starts[y];
    const base = y * vertical.maxTaps;
    for (let x = 0; x < size.widthPx; x++) {
      let sum = 0;
      for (let k = 0; k < vertical.counts[y]; k++) sum += intermediate[(start + k) * size.widthPx + x] * vertical.weights[base + k];
      pixels[y * size.widthPx + x] = Math.min(255, Math.max(0, Math.round(sum)));
    }
  }
  return { widthPx: size.widthPx, heightPx: size.heightPx, pixels };
}
