import { sampleBilinear, validateDimensions, WHITE, type GrayImage } from '../imaging';
import { applyAffine, type AffineParameters } from './affine';

/**
 * Warps a gray image pixel by pixel in plain loops: for every output pixel,
 * map its normalized position with the transform and sample the source
 * bilinearly. It is the reference that the tfjs warp is tested against, and
 * the warp used for full-resolution images outside a model.
 */
export function warpGrayImageValues(image: GrayImage, parameters: Readonly<AffineParameters>, options: { widthPx?: number; heightPx?: number; fillValue?: number } = {}): Float32Array {
  const widthPx = options.widthPx ?? image.widthPx;
  const heightPx = options.heightPx ?? image.heightPx;
  const fillValue = options.fillValue ?? WHITE;
  validateDimensions(widthPx, heightPx);
  if (widthPx < 2 || heightPx < 2 || image.widthPx < 2 || image.heightPx < 2) {
    throw new RangeError(`expected images of at least 2×2 pixels, but got source ${image.widthPx}×${image.heightPx} and output ${widthPx}×${heightPx}`);
  }

  const values = new Float32Array(widthPx * heightPx);
  for (let row = 0; row < heightPx; row++) {
    const targetY = -1 + (2 * row) / (heightPx - 1);
    for (let column = 0; column < widthPx; column++) {
      const targetX = -1 + (2 * column) / (widthPx - 1);
      const [sourceX, sourceY] = applyAffine(parameters, targetX, targetY);
      const pixelX = ((sourceX + 1) * (image.widthPx - 1)) / 2;
      const pixelY = ((sourceY + 1) * (image.heightPx - 1)) / 2;
      values[row * widthPx + column] = sampleBilinear(image, pixelX, pixelY, fillValue);
    }
  }
  return values;
}

/** Warps a gray image like warpGrayImageValues and rounds the result to 8 bits. */
export function warpGrayImage(image: GrayImage, parameters: Readonly<AffineParameters>, options: { widthPx?: number; heightPx?: number; fillValue?: number } = {}): GrayImage {
  const values = warpGrayImageValues(image, parameters, options);
  const pixels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) pixels[i] = Math.min(255, Math.max(0, Math.round(values[i])));
  return { widthPx: options.widthPx ?? image.widthPx, heightPx: options.heightPx ?? image.heightPx, pixels };
}
