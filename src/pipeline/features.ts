import type { PreparedImage } from '../datasets/shards';
import { createFeatureMatrix, type FeatureMatrix } from '../hashing/feature-matrix';

/**
 * Turns prepared images into hashing features: each image is averaged down
 * to `sizePx` × `sizePx` cells (area averaging), centred and scaled to unit
 * L2 norm, so brightness and contrast differences between sensors matter less.
 */
export function pixelFeatures(images: Array<Pick<PreparedImage, 'width' | 'height' | 'pixels'>>, sizePx: number): FeatureMatrix {
  const dimension = sizePx * sizePx;
  const data = new Float32Array(images.length * dimension);
  images.forEach((image, row) => {
    const cells = data.subarray(row * dimension, (row + 1) * dimension);
    averageDown(image, sizePx, cells);
    normalizeFeatureRow(cells);
  });
  return createFeatureMatrix(data, images.length, dimension);
}

function averageDown(image: Pick<PreparedImage, 'width' | 'height' | 'pixels'>, sizePx: number, cells: Float32Array): void {
  const counts = new Float32Array(cells.length);
  for (let y = 0; y < image.height; y++) {
    const cellY = Math.min(sizePx - 1, Math.floor((y * sizePx) / image.height));
    for (let x = 0; x < image.width; x++) {
      const cellX = Math.min(sizePx - 1, Math.floor((x * sizePx) / image.width));
      cells[cellY * sizePx + cellX] += image.pixels[y * image.width + x] / 255;
      counts[cellY * sizePx + cellX] += 1;
    }
  }
  for (let index = 0; index < cells.length; index++) cells[index] = counts[index] > 0 ? cells[index] / counts[index] : 0;
}

/** Centres a feature row on zero and scales it to unit L2 norm, in place. */
export function normalizeFeatureRow(values: Float32Array): void {
  let mean = 0;
  for (const value of values) mean += value;
  mean /= values.length;
  let squares = 0;
  for (let index = 0; index < values.length; index++) {
    values[index] -= mean;
    squares += values[index] * values[index];
  }
  // A blank image has no contrast to scale; it stays all zeros.
  const norm = Math.sqrt(squares);
  if (norm > 0) for (let index = 0; index < values.length; index++) values[index] /= norm;
}
