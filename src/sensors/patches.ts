import { UserInputError } from '../config/errors';
import { WHITE, cropImage, resizeImage, type GrayImage } from '../imaging';

/**
 * Input mode of a sensor classifier. `whole` resizes the whole
 * prepared image to the model input. `whole-and-frame` stacks that with a
 * second view: the image's frame (its foreground box against the canvas)
 * stretched to the model input. A small print on a large canvas so keeps
 * its ridge texture, and the first view keeps its size and shape.
 * `patches` cuts crops of the model input size from the prepared image
 * without resizing, so the network gets the sensor's texture at the
 * prepared resolution. It trains on random crops and averages the softmax
 * outputs of a fixed grid of crops at test time. `patches-and-whole` cuts
 * the same crops and stacks each one with the whole prepared image resized
 * to the crop size, so every input also carries the print's shape and
 * background.
 */
export type SensorInputMode = 'whole' | 'whole-and-frame' | 'patches' | 'patches-and-whole';

export const SENSOR_INPUT_MODES: readonly SensorInputMode[] = ['whole', 'whole-and-frame', 'patches', 'patches-and-whole'];

/** Returns true for the modes that cut crops from the prepared image. */
export function usesPatches(mode: SensorInputMode): boolean {
  return mode === 'patches' || mode === 'patches-and-whole';
}

/** Returns the model's input channels: the image channels, doubled in the modes that stack a second view. */
export function modelInputChannels(mode: SensorInputMode, channels: number): number {
  return mode === 'patches-and-whole' || mode === 'whole-and-frame' ? 2 * channels : channels;
}

/** Top-left corner and size of one crop, in pixels of the prepared image. */
export interface PatchRectangle {
  left: number;
  top: number;
  widthPx: number;
  heightPx: number;
}

/** Range of top-left corners, inclusive at both ends, from which crops are cut. */
export interface PatchPositionRange {
  minLeft: number;
  maxLeft: number;
  minTop: number;
  maxTop: number;
}

/** Minimal generator interface, so both the imaging and the training generators can draw crops. */
export interface PatchRandom {
  /** Returns an integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number;
}

/**
 * A row or column is foreground when at least this share of its pixels is
 * darker than pure white. The white padding of `fit: pad` has none, and the
 * share ignores the few scattered pixels that the noise perturbation sets.
 */
const FOREGROUND_LINE_SHARE = 0.02;

/** Returns the first and one-past-last index whose count reaches `threshold`, or the whole range when none does. */
function foregroundSpan(counts: Uint32Array, threshold: number): [number, number] {
  let first = 0;
  while (first < counts.length && counts[first] < threshold) first++;
  if (first === counts.length) return [0, counts.length];

  let end = counts.length;
  while (counts[end - 1] < threshold) end--;
  return [first, end];
}

/**
 * Finds the bounding box of the rows and columns that are foreground, that
 * is, that have at least 2% of their pixels different from the canvas gray
 * (white, 255, by default). An image without such a row or column is all
 * foreground.
 */
export function foregroundBox(image: GrayImage, canvasGray: number = WHITE): PatchRectangle {
  const rowCounts = new Uint32Array(image.heightPx);
  const columnCounts = new Uint32Array(image.widthPx);
  for (let y = 0; y < image.heightPx; y++) {
    for (let x = 0; x < image.widthPx; x++) {
      if (image.pixels[y * image.widthPx + x] !== canvasGray) {
        rowCounts[y]++;
        columnCounts[x]++;
      }
    }
  }

  const [top, bottom] = foregroundSpan(rowCounts, Math.max(2, FOREGROUND_LINE_SHARE * image.widthPx));
  const [left, right] = foregroundSpan(columnCounts, Math.max(2, FOREGROUND_LINE_SHARE * image.heightPx));
  return { left, top, widthPx: right - left, heightPx: bottom - top };
}

/** Places one axis of a crop: inside the foreground span when it is wide enough, centred on it otherwise, and always inside the image. */
function axisRange(start: number, length: number, imageLength: number, patchSizePx: number): [number, number] {
  const last = imageLength - patchSizePx;
  if (length >= patchSizePx) return [start, start + length - patchSizePx];

  const centred = Math.round(start + (length - patchSizePx) / 2);
  const clamped = Math.min(last, Math.max(0, centred));
  return [clamped, clamped];
}

/**
 * Returns the top-left corners from which square crops of `patchSizePx`
 * are cut: every crop lies inside the image and, where the foreground box
 * is large enough, inside the foreground box against `canvasGray`. Raises
 * UserInputError when the image is smaller than a crop.
 */
export function patchPositionRange(image: GrayImage, patchSizePx: number, canvasGray: number = WHITE): PatchPositionRange {
  if (image.widthPx < patchSizePx || image.heightPx < patchSizePx) {
    throw new UserInputError(
      `invalid image for patch input: it is ${image.widthPx}×${image.heightPx} pixels, smaller than the ${patchSizePx}-pixel patch; prepare the data at a larger imageSizePx or lower the classifier's inputSizePx`,
    );
  }
  const box = foregroundBox(image, canvasGray);
  const [minLeft, maxLeft] = axisRange(box.left, box.widthPx, image.widthPx, patchSizePx);
  const [minTop, maxTop] = axisRange(box.top, box.heightPx, image.heightPx, patchSizePx);
  return { minLeft, maxLeft, minTop, maxTop };
}

/** Draws one crop position uniformly from the range of `patchPositionRange`. */
export function sampleRandomPatch(image: GrayImage, patchSizePx: number, random: PatchRandom, canvasGray: number = WHITE): PatchRectangle {
  const range = patchPositionRange(image, patchSizePx, canvasGray);
  return {
    left: range.minLeft + random.nextInt(range.maxLeft - range.minLeft + 1),
    top: range.minTop + random.nextInt(range.maxTop - range.minTop + 1),
    widthPx: patchSizePx,
    heightPx: patchSizePx,
  };
}

/**
 * Returns the frame view of `whole-and-frame` input: the image's foreground
 * box against `canvasGray`, stretched to `sizePx` × `sizePx`.
 */
export function frameView(image: GrayImage, sizePx: number, canvasGray: number = WHITE): GrayImage {
  return resizeImage(cropImage(image, foregroundBox(image, canvasGray)), { widthPx: sizePx, heightPx: sizePx });
}

/** Returns `count` evenly spaced integers from `min` to `max`, or the midpoint when `count` is 1. */
function evenlySpaced(min: number, max: number, count: number): number[] {
  if (count === 1) return [Math.round((min + max) / 2)];
  return Array.from({ length: count }, (_, index) => Math.round(min + ((max - min) * index) / (count - 1)));
}

/**
 * Returns the test crops of one image: a grid of `gridSide` × `gridSide`
 * positions spread evenly over the range of `patchPositionRange`, row by
 * row. Positions repeat when the range is narrower than the grid.
 */
export function gridPatches(image: GrayImage, patchSizePx: number, gridSide: number, canvasGray: number = WHITE): PatchRectangle[] {
  if (!Number.isInteger(gridSide) || gridSide < 1) {
    throw new UserInputError(`invalid test patch grid side ${gridSide}: expected a positive integer`);
  }
  const range = patchPositionRange(image, patchSizePx, canvasGray);
  const lefts = evenlySpaced(range.minLeft, range.maxLeft, gridSide);
  const tops = evenlySpaced(range.minTop, range.maxTop, gridSide);
  return tops.flatMap((top) => lefts.map((left) => ({ left, top, widthPx: patchSizePx, heightPx: patchSizePx })));
}

/** Cuts the grid crops of one image for `gridPatches`. */
export function cropGridPatches(image: GrayImage, patchSizePx: number, gridSide: number, canvasGray: number = WHITE): GrayImage[] {
  return gridPatches(image, patchSizePx, gridSide, canvasGray).map((rectangle) => cropImage(image, rectangle));
}

/**
 * Averages the probability rows of each image's crops: `probabilities`
 * contains `cropsPerImage` consecutive rows of `classCount` values per
 * image, and the result contains one averaged row per image.
 */
export function averagePatchProbabilities(probabilities: ArrayLike<number>, options: { cropsPerImage: number; classCount: number }): Float32Array[] {
  const { cropsPerImage, classCount } = options;
  const rowsPerImage = cropsPerImage * classCount;
  if (probabilities.length % rowsPerImage !== 0) {
    throw new Error(`got ${probabilities.length} probabilities, not a multiple of ${cropsPerImage} crops × ${classCount} classes`);
  }

  const averages: Float32Array[] = [];
  for (let offset = 0; offset < probabilities.length; offset += rowsPerImage) {
    const mean = new Float32Array(classCount);
    for (let crop = 0; crop < cropsPerImage; crop++) {
      for (let label = 0; label < classCount; label++) mean[label] += probabilities[offset + crop * classCount + label];
    }
    for (let label = 0; label < classCount; label++) mean[label] /= cropsPerImage;
    averages.push(mean);
  }
  return averages;
}
