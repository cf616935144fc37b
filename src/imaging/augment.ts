import type { GrayImage } from './gray-image';
import { WHITE } from './preprocess';
import type { Random } from './random';

/** Samples a bilinear value at a fractional position, or `fillValue` outside the image. */
export function sampleBilinear(image: GrayImage, x: number, y: number, fillValue: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (px: number, py: number): number => (px < 0 || py < 0 || px >= image.widthPx || py >= image.heightPx ? fillValue : image.pixels[py * image.widthPx + px]);
  const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
  const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
  return top * (1 - fy) + bottom * fy;
}

/**
 * Rotates about the image centre by `angleDegrees` (counter-clockwise as
 * displayed), keeping the size; uncovered corners get `fillValue` (white by default).
 */
export function rotateImage(image: GrayImage, options: { angleDegrees: number; fillValue?: number }): GrayImage {
  const fillValue = options.fillValue ?? WHITE;
  const radians = (options.angleDegrees * Math.PI) / 180;
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);
  const centerX = (image.widthPx - 1) / 2;
  const centerY = (image.heightPx - 1) / 2;
  const pixels = new Uint8Array(image.pixels.length);
  for (let y = 0; y < image.heightPx; y++) {
    for (let x = 0; x < image.widthPx; x++) {
      // Inverse mapping: find the source position that lands on (x, y).
      const dx = x - centerX;
      const dy = y - centerY;
      const sourceX = cos * dx - sin * dy + centerX;
      const sourceY = sin * dx + cos * dy + centerY;
      pixels[y * image.widthPx + x] = Math.round(sampleBilinear(image, sourceX, sourceY, fillValue));
    }
  }
  return { widthPx: image.widthPx, heightPx: image.heightPx, pixels };
}

/** Picks `count` distinct integers from [0, populationSize) by a partial Fisher–Yates shuffle. */
function sampleWithoutReplacement(populationSize: number, count: number, random: Random): Uint32Array {
  const indices = new Uint32Array(populationSize);
  for (let i = 0; i < populationSize; i++) indices[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + random.integer(populationSize - i);
    const swap = indices[i];
    indices[i] = indices[j];
    indices[j] = swap;
  }
  return indices.subarray(0, count);
}

function validatePercent(percent: number): void {
  if (!(percent >= 0 && percent <= 100)) throw new RangeError(`expected percent between 0 and 100, but got ${percent}`);
}

/**
 * Occludes `percent` of the pixels inside one square patch (90×90 by
 * default) placed at a random position, setting them to `fillValue` (black
 * by default). The patch is clipped to the image when the image is smaller.
 */
export function occludePixels(image: GrayImage, options: { percent: number; random: Random; patchSizePx?: number; fillValue?: number }): GrayImage {
  validatePercent(options.percent);
  const patchSizePx = options.patchSizePx ?? 90;
  const fillValue = options.fillValue ?? 0;
  const patchWidthPx = Math.min(patchSizePx, image.widthPx);
  const patchHeightPx = Math.min(patchSizePx, image.heightPx);
  const left = options.random.integer(image.widthPx - patchWidthPx + 1);
  const top = options.random.integer(image.heightPx - patchHeightPx + 1);
  const count = Math.round((options.percent / 100) * patchWidthPx * patchHeightPx);

  const pixels = image.pixels.slice();
  for (const index of sampleWithoutReplacement(patchWidthPx * patchHeightPx, count, options.random)) {
    const x = left + (index % patchWidthPx);
    const y = top + Math.floor(index / patchWidthPx);
    pixels[y * image.widthPx + x] = fillValue;
  }
  return { widthPx: image.widthPx, heightPx: image.heightPx, pixels };
}

/** Replaces `percent` of all pixels, chosen at random, with uniform random gray levels. */
export function addRandomNoise(image: GrayImage, options: { percent: number; random: Random }): GrayImage {
  validatePercent(options.percent);
  const count = Math.round((options.percent / 100) * image.pixels.length);
  const pixels = image.pixels.slice();
  for (const index of sampleWithoutReplacement(pixels.length, count, options.random)) {
    pixels[index] = options.random.integer(256);
  }
  return { widthPx: image.widthPx, heightPx: image.heightPx, pixels };
}
