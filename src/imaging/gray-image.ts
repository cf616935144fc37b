/**
 * An 8-bit grayscale image stored row by row, top row first, one byte per
 * pixel: 0 is black and 255 is white.
 */
export interface GrayImage {
  widthPx: number;
  heightPx: number;
  /** Row-major pixels; length is widthPx × heightPx. */
  pixels: Uint8Array;
}

/** Creates an image filled with one gray level (255 is white). */
export function createGrayImage(widthPx: number, heightPx: number, fillValue = 255): GrayImage {
  validateDimensions(widthPx, heightPx);
  return { widthPx, heightPx, pixels: new Uint8Array(widthPx * heightPx).fill(fillValue) };
}

export function validateDimensions(widthPx: number, heightPx: number): void {
  if (!Number.isInteger(widthPx) || widthPx <= 0) {
    throw new RangeError(`expected width to be a positive integer, but got ${widthPx}`);
  }
  if (!Number.isInteger(heightPx) || heightPx <= 0) {
    throw new RangeError(`expected height to be a positive integer, but got ${heightPx}`);
  }
}

/**
 * Converts interleaved 8-bit RGBA to gray with the ITU-R BT.601 luma weights,
 * compositing transparent pixels onto white. Weights are integers that sum
 * to 1000, so a pixel with R = G = B keeps its exact value.
 */
export function grayFromRgba(rgba: Uint8Array, widthPx: number, heightPx: number): GrayImage {
  const pixelCount = widthPx * heightPx;
  if (rgba.length < pixelCount * 4) {
    throw new RangeError(`expected ${pixelCount * 4} RGBA bytes for ${widthPx}×${heightPx}, but got ${rgba.length}`);
  }
  const pixels = new Uint8Array(pixelCount);
  for (let i = 0, j = 0; i < pixelCount; i++, j += 4) {
    const luma = (299 * rgba[j] + 587 * rgba[j + 1] + 114 * rgba[j + 2] + 500) / 1000;
    const alpha = rgba[j + 3];
    pixels[i] = alpha === 255 ? luma : Math.round((luma * alpha + 255 * (255 - alpha)) / 255);
  }
  return { widthPx, heightPx, pixels };
}
