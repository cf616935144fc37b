import { createGrayImage, type GrayImage } from './gray-image';
import { resizeImage } from './resize';

/** White, the background level of live-scan fingerprint images. */
export const WHITE = 255;

/**
 * Stretches intensities linearly so the given low and high percentiles map
 * to 0 and 255, clipping the rest. A flat image is returned unchanged.
 */
export function normalizeIntensity(image: GrayImage, options: { lowPercentile?: number; highPercentile?: number } = {}): GrayImage {
  const lowPercentile = options.lowPercentile ?? 1;
  const highPercentile = options.highPercentile ?? 99;
  if (!(lowPercentile >= 0 && lowPercentile < highPercentile && highPercentile <= 100)) {
    throw new RangeError(`expected 0 ≤ lowPercentile < highPercentile ≤ 100, but got ${lowPercentile} and ${highPercentile}`);
  }
  const histogram = new Uint32Array(256);
  for (const value of image.pixels) histogram[value]++;
  const total = image.pixels.length;
  const findLevel = (percentile: number): number => {
    const target = (percentile / 100) * total;
    let cumulative = 0;
    for (let level = 0; level < 256; level++) {
      cumulative += histogram[level];
      if (cumulative > target || (cumulative === total && cumulative >= target)) return level;
    }
    return 255;
  };
  const low = findLevel(lowPercentile);
  const high = findLevel(highPercentile);
  if (high <= low) return { ...image, pixels: image.pixels.slice() };

  return mapGrayLevels(image, (level) => ((level - low) * 255) / (high - low));
}

/**
 * Maps every gray level of an image through `transfer`, rounded and clipped
 * to 0–255. The transfer runs once per level, through a 256-entry table.
 */
export function mapGrayLevels(image: GrayImage, transfer: (level: number) => number): GrayImage {
  const lookup = new Uint8Array(256);
  for (let level = 0; level < 256; level++) lookup[level] = Math.min(255, Math.max(0, Math.round(transfer(level))));
  return { widthPx: image.widthPx, heightPx: image.heightPx, pixels: image.pixels.map((value) => lookup[value]) };
}

/** Copies `source` onto `target` with its top-left corner at (left, top), clipping at the edges. */
export function pasteImage(target: GrayImage, source: GrayImage, left: number, top: number): void {
  for (let y = Math.max(0, -top); y < source.heightPx && y + top < target.heightPx; y++) {
    const fromX = Math.max(0, -left);
    const toX = Math.min(source.widthPx, target.widthPx - left);
    if (toX <= fromX) continue;
    target.pixels.set(source.pixels.subarray(y * source.widthPx + fromX, y * source.widthPx + toX), (y + top) * target.widthPx + left + fromX);
  }
}

/** Cuts the rectangle at (left, top) of the given size; the rectangle must lie inside the image. */
export function cropImage(image: GrayImage, rectangle: { left: number; top: number; widthPx: number; heightPx: number }): GrayImage {
  const { left, top, widthPx, heightPx } = rectangle;
  if (left < 0 || top < 0 || left + widthPx > image.widthPx || top + heightPx > image.heightPx) {
    throw new RangeError(`crop ${widthPx}×${heightPx} at (${left}, ${top}) lies outside the ${image.widthPx}×${image.heightPx} image`);
  }
  const pixels = new Uint8Array(widthPx * heightPx);
  for (let y = 0; y < heightPx; y++) {
    pixels.set(image.pixels.subarray((top + y) * image.widthPx + left, (top + y) * image.widthPx + left + widthPx), y * widthPx);
  }
  return { widthPx, heightPx, pixels };
}

/** Ways of fitting an image into a square, as fitToSquare describes them. */
export const FIT_MODES = ['pad', 'stretch', 'fixed-scale'] as const;
export type FitMode = (typeof FIT_MODES)[number];

/**
 * Default source side that spans the whole canvas in `fixed-scale` mode:
 * 640 px, the longest image side among the FVC 2000–2004 databases
 * (FVC2004 DB1, 640×480).
 */
export const DEFAULT_FIXED_SCALE_REFERENCE_SIDE_PX = 640;

export interface FitToSquareOptions {
  /** Side of the square output in pixels. */
  sizePx: number;
  fit: FitMode;
  /**
   * `fixed-scale` only: the source side in pixels that maps onto the whole
   * canvas, so every image is scaled by sizePx / fixedScaleReferenceSidePx.
   * Default DEFAULT_FIXED_SCALE_REFERENCE_SIDE_PX.
   */
  fixedScaleReferenceSidePx?: number;
  /**
   * `pad` and `fixed-scale` only: the gray level of the canvas around the
   * image, white (255) by default. A dark canvas keeps the edges of a
   * near-white sensor image visible.
   */
  canvasGray?: number;
}

/**
 * Resizes to a square. `pad` keeps the aspect ratio, scales the longer side
 * to the square and centres the image on white. `stretch` scales each axis
 * independently. `fixed-scale` scales every image by the same factor,
 * sizePx / fixedScaleReferenceSidePx, and centres it on white, so images
 * of different sizes keep their relative sizes, aspect ratios and ridge
 * periods. It throws a RangeError for an image with a side longer than the
 * reference side.
 */
export function fitToSquare(image: GrayImage, options: FitToSquareOptions): GrayImage {
  const { sizePx, fit } = options;
  if (fit === 'stretch') return resizeImage(image, { widthPx: sizePx, heightPx: sizePx });

  const scale = fit === 'fixed-scale' ? fixedScaleFactor(image, options) : sizePx / Math.max(image.widthPx, image.heightPx);
  const widthPx = Math.max(1, Math.round(image.widthPx * scale));
  const heightPx = Math.max(1, Math.round(image.heightPx * scale));
  const resized = resizeImage(image, { widthPx, heightPx });
  if (widthPx === sizePx && heightPx === sizePx) return resized;
  const canvas = createGrayImage(sizePx, sizePx, canvasGrayLevel(options.canvasGray));
  pasteImage(canvas, resized, Math.floor((sizePx - widthPx) / 2), Math.floor((sizePx - heightPx) / 2));
  return canvas;
}

/** Returns the canvas gray level, white when unset, and rejects a value outside 0–255. */
export function canvasGrayLevel(canvasGray: number | undefined): number {
  if (canvasGray === undefined) return WHITE;
  if (!(Number.isInteger(canvasGray) && canvasGray >= 0 && canvasGray <= WHITE)) {
    throw new RangeError(`expected canvasGray to be an integer from 0 to 255, but got ${canvasGray}`);
  }
  return canvasGray;
}

/** Raised when an image is larger than the fixed-scale reference side, so that data preparation can quarantine it with its own reason. */
export class ImageExceedsReferenceError extends RangeError {
  override readonly name = 'ImageExceedsReferenceError';
}

function fixedScaleFactor(image: GrayImage, options: FitToSquareOptions): number {
  const referenceSidePx = options.fixedScaleReferenceSidePx ?? DEFAULT_FIXED_SCALE_REFERENCE_SIDE_PX;
  if (!(Number.isInteger(referenceSidePx) && referenceSidePx > 0)) {
    throw new RangeError(`expected fixedScaleReferenceSidePx to be a positive integer, but got ${referenceSidePx}`);
  }
  if (image.widthPx > referenceSidePx || image.heightPx > referenceSidePx) {
    throw new ImageExceedsReferenceError(
      `image ${image.widthPx}×${image.heightPx} does not fit the fixed-scale reference side of ${referenceSidePx} px. ` +
        `Set fixedScaleReferenceSidePx to at least ${Math.max(image.widthPx, image.heightPx)} or use fit pad`,
    );
  }
  return options.sizePx / referenceSidePx;
}

/**
 * Builds the background-invariance variant: keeps only the central square
 * patch (90×90 by default) and makes everything around it white, at the
 * original size. A sensor classifier trained on it cannot rely on
 * background texture or image borders.
 */
export function centralPatchOnWhite(image: GrayImage, options: { patchSizePx?: number } = {}): GrayImage {
  const patchSizePx = options.patchSizePx ?? 90;
  const patchWidthPx = Math.min(patchSizePx, image.widthPx);
  const patchHeightPx = Math.min(patchSizePx, image.heightPx);
  const left = Math.floor((image.widthPx - patchWidthPx) / 2);
  const top = Math.floor((image.heightPx - patchHeightPx) / 2);
  const patch = cropImage(image, { left, top, widthPx: patchWidthPx, heightPx: patchHeightPx });
  const canvas = createGrayImage(image.widthPx, image.heightPx, WHITE);
  pasteImage(canvas, patch, left, top);
  return canvas;
}

export interface PreprocessOptions {
  /** Side of the square output image in pixels. */
  imageSizePx: number;
  fit: FitMode;
  /** `fixed-scale` only: the source side that spans the whole square (default DEFAULT_FIXED_SCALE_REFERENCE_SIDE_PX). */
  fixedScaleReferenceSidePx?: number;
  /** Gray level around the fitted image, white by default. The `central-patch-on-white` variant always uses white. */
  canvasGray?: number;
  /** `full` keeps the whole image; `central-patch-on-white` applies centralPatchOnWhite first. */
  variant: 'full' | 'central-patch-on-white';
  /** Percentile stretch before resizing; `none` keeps the sensor's own intensities. */
  normalization: 'percentile-stretch' | 'none';
}

/**
 * Prepares one decoded image: intensity normalization, the optional
 * background-invariance variant, then resizing to a square. It uses no
 * randomness, so its output depends only on its input.
 */
export function preprocessImage(image: GrayImage, options: PreprocessOptions): GrayImage {
  let result = options.normalization === 'percentile-stretch' ? normalizeIntensity(image) : image;
  if (options.variant === 'central-patch-on-white') result = centralPatchOnWhite(result);
  return fitToSquare(result, { sizePx: options.imageSizePx, fit: options.fit, fixedScaleReferenceSidePx: options.fixedScaleReferenceSidePx, canvasGray: preparedCanvasGray(options) });
}

/**
 * Returns the canvas gray level of prepared images, which augmentation uses
 * to fill uncovered pixels. The `central-patch-on-white` variant always
 * gets white, because a canvas of another gray would show the image's
 * extent that the variant hides.
 */
export function preparedCanvasGray(options: Pick<PreprocessOptions, 'canvasGray' | 'variant'>): number {
  return options.variant === 'central-patch-on-white' ? WHITE : canvasGrayLevel(options.canvasGray);
}
