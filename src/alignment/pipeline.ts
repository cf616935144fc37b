import * as tf from '@tensorflow/tfjs';
import { resizeImage, type GrayImage } from '../imaging';
import { IDENTITY_AFFINE, type AffineParameters } from './affine';
import { checkAffineTransform, DEFAULT_DEGENERACY_LIMITS, type DegeneracyLimits, type TransformCheck } from './degenerate';
import { centerOnCanvas, commonCanvasSidePx, inkTensor, prepareAlignmentImage } from './inputs';
import { warpGrayImage } from './pixel-warp';
import { overlapCorrelation } from './similarity';

/** Pairs per model call; bounds memory for long candidate lists. */
const PREDICT_BATCH_SIZE = 16;

/** A transform predicted for one (source, target) pair, with its degeneracy check. */
export interface PredictedTransform {
  /** Warps the source onto the target, in the normalized frame of their common square canvas. */
  parameters: AffineParameters;
  check: TransformCheck;
  /** Side of the white square canvas both images were centred on, unscaled, before resizing. */
  canvasSidePx: number;
}

/** Side of the square images the model takes, read from its first input. */
export function alignmentInputSizePx(model: tf.LayersModel): number {
  const sizePx = model.inputs[0].shape[1];
  if (sizePx === null || sizePx === undefined || model.inputs[0].shape[2] !== sizePx) {
    throw new Error(`model ${model.name} has input shape [${model.inputs[0].shape.join(', ')}]; expected a square input [batch, size, size, channels]`);
  }
  return sizePx;
}

/**
 * Predicts, for each pair, the transform that warps `source` onto `target`.
 * The two images of a pair may differ in size: both are centred unscaled on
 * one canvas of the larger side before resizing (see prepareAlignmentImage),
 * so they keep one scale.
 */
export function predictPairTransforms(
  model: tf.LayersModel,
  pairs: Array<{ source: GrayImage; target: GrayImage }>,
  options: { limits?: DegeneracyLimits } = {},
): PredictedTransform[] {
  const sizePx = alignmentInputSizePx(model);
  const limits = options.limits ?? DEFAULT_DEGENERACY_LIMITS;
  const results: PredictedTransform[] = [];
  for (let start = 0; start < pairs.length; start += PREDICT_BATCH_SIZE) {
    const chunk = pairs.slice(start, start + PREDICT_BATCH_SIZE);
    const canvasSides = chunk.map((pair) => commonCanvasSidePx([pair.source, pair.target]));
    const sources = chunk.map((pair, index) => prepareAlignmentImage(pair.source, { sizePx, canvasSidePx: canvasSides[index] }));
    const targets = chunk.map((pair, index) => prepareAlignmentImage(pair.target, { sizePx, canvasSidePx: canvasSides[index] }));
    const rows = tf.tidy(() => (model.predict([inkTensor(sources), inkTensor(targets)]) as tf.Tensor2D).arraySync());
    rows.forEach((row, index) => {
      const parameters = row as AffineParameters;
      results.push({ parameters, check: checkAffineTransform(parameters, limits), canvasSidePx: canvasSides[index] });
    });
  }
  return results;
}

/** One image brought into a reference's frame. */
export interface AlignedImage {
  /** The image warped onto the reference, or only centred on the canvas when the transform was degenerate. */
  image: GrayImage;
  parameters: AffineParameters;
  check: TransformCheck;
  /** False when the predicted transform was degenerate and the identity was used instead. */
  transformApplied: boolean;
}

/**
 * Canonical alignment for indexing: warps every image onto the reference
 * frame, so a query and the gallery share one frame before encoding. Each
 * image is centred unscaled on a square canvas whose side is the larger of
 * the reference's and its own, warped at that full resolution with white
 * fill, and resized to `outputSizePx` when given. A degenerate prediction is
 * reported in `check` and replaced by the identity instead of warping
 * the image into garbage.
 */
export function alignToReference(
  model: tf.LayersModel,
  reference: GrayImage,
  images: GrayImage[],
  options: { outputSizePx?: number; limits?: DegeneracyLimits } = {},
): AlignedImage[] {
  const transforms = predictPairTransforms(
    model,
    images.map((image) => ({ source: image, target: reference })),
    options,
  );
  return images.map((image, index) => {
    const { parameters, check, canvasSidePx } = transforms[index];
    const canvas = centerOnCanvas(image, canvasSidePx);
    const transformApplied = !check.degenerate;
    const warped = transformApplied ? warpGrayImage(canvas, parameters) : canvas;
    const sized = options.outputSizePx === undefined ? warped : resizeImage(warped, { widthPx: options.outputSizePx, heightPx: options.outputSizePx });
    return { image: sized, parameters: transformApplied ? parameters : ([...IDENTITY_AFFINE] as AffineParameters), check, transformApplied };
  });
}

/** Match evidence for one (query, candidate) pair. */
export interface MatchScore {
  /** Overlap correlation after warping the candidate onto the query; higher is a better match. */
  score: number;
  /** The same correlation without alignment. */
  scoreBeforeAlignment: number;
  /** Share of pixels that are foreground in both images after alignment. */
  overlapFraction: number;
  parameters: AffineParameters;
  check: TransformCheck;
  /** False when the predicted transform was degenerate; `score` is then the unaligned correlation. */
  transformApplied: boolean;
}

/** Options of pairwiseMatchScores. */
export interface MatchScoreOptions {
  /** Side of the square images the correlation is computed on; 128 by default. */
  evaluationSizePx?: number;
  limits?: DegeneracyLimits;
}

/**
 * Scores each candidate against the query for re-ranking: predicts the
 * transform that warps the candidate onto the query, applies it, and returns
 * the normalized cross-correlation of their common foreground (see
 * overlapCorrelation). Pairs of different sizes share one canvas, so they
 * keep one scale.
 */
export function pairwiseMatchScores(model: tf.LayersModel, query: GrayImage, candidates: GrayImage[], options: MatchScoreOptions = {}): MatchScore[] {
  const evaluationSizePx = options.evaluationSizePx ?? 128;
  const transforms = predictPairTransforms(
    model,
    candidates.map((candidate) => ({ source: candidate, target: query })),
    options,
  );
  return candidates.map((candidate, index) => {
    const { parameters, check, canvasSidePx } = transforms[index];

    // The candidate is warped at twice the evaluation size and both images
    // are then downsampled alike, so the blur of bilinear resampling barely
    // reaches the correlation and cannot pass for better alignment.
    const supersampledPx = evaluationSizePx * 2;
    const preparedQuery = downsample(prepareAlignmentImage(query, { sizePx: supersampledPx, canvasSidePx }), evaluationSizePx);
    const preparedCandidate = prepareAlignmentImage(candidate, { sizePx: supersampledPx, canvasSidePx });
    const before = overlapCorrelation(preparedQuery, downsample(preparedCandidate, evaluationSizePx));
    if (check.degenerate) {
      return { score: before.correlation, scoreBeforeAlignment: before.correlation, overlapFraction: before.overlapFraction, parameters, check, transformApplied: false };
    }
    const after = overlapCorrelation(preparedQuery, downsample(warpGrayImage(preparedCandidate, parameters), evaluationSizePx));
    return { score: after.correlation, scoreBeforeAlignment: before.correlation, overlapFraction: after.overlapFraction, parameters, check, transformApplied: true };
  });
}

function downsample(image: GrayImage, sizePx: number): GrayImage {
  return resizeImage(image, { widthPx: sizePx, heightPx: sizePx });
}

/** Scores one pair; see pairwiseMatchScores for batches of candidates. */
export function pairwiseMatchScore(model: tf.LayersModel, query: GrayImage, candidate: GrayImage, options: MatchScoreOptions = {}): MatchScore {
  return pairwiseMatchScores(model, query, [candidate], options)[0];
}
