import * as tf from '@tensorflow/tfjs';
import { createRandom, type GrayImage } from '../imaging';
import { DEFAULT_SAMPLING_RANGES, IDENTITY_AFFINE, meanGridPointDistance, type AffineParameters, type AffineSamplingRanges } from './affine';
import { checkAffineTransform } from './degenerate';
import { alignmentInputSizePx, pairwiseMatchScores, type MatchScore } from './pipeline';
import { disposeBatch, makeSyntheticPair, pairsToBatch, shrinkForSynthesis, type SyntheticPair } from './synthetic-pairs';

/** Grid-point errors of one group of synthetic pairs, in normalized units (2 is the image width). */
export interface GridErrorSummary {
  pairs: number;
  /** Mean error of the identity transform, that is, before alignment. */
  identityError: number;
  /** Mean error of the predicted transform. */
  alignedError: number;
}

export interface RotationBinSummary extends GridErrorSummary {
  /** Bin of absolute rotation, in degrees: fromDegrees ≤ |rotation| < toDegrees. */
  fromDegrees: number;
  toDegrees: number;
}

export interface SyntheticEvaluation {
  overall: GridErrorSummary;
  byRotation: RotationBinSummary[];
  /** Predictions flagged by checkAffineTransform; they still count in the errors. */
  degenerateCount: number;
  /** Converts the normalized errors above to pixels of the model input: multiply by this. */
  pixelsPerUnit: number;
  pointsPerSide: number;
}

/** Makes the held-out pairs once, so every model is evaluated on the same ones. */
export function makeEvaluationPairs(images: GrayImage[], options: { sizePx: number; pairCount: number; seed: number | string; ranges?: AffineSamplingRanges }): SyntheticPair[] {
  if (images.length === 0) throw new RangeError('expected at least one evaluation image, but got none');
  const random = createRandom(`${options.seed}/alignment-evaluation`);
  const pairs: SyntheticPair[] = [];
  for (let i = 0; i < options.pairCount; i++) {
    pairs.push(makeSyntheticPair(shrinkForSynthesis(images[i % images.length], options), { sizePx: options.sizePx, random, ranges: options.ranges ?? DEFAULT_SAMPLING_RANGES }));
  }
  return pairs;
}

function summarize(errors: Array<{ identity: number; aligned: number }>): GridErrorSummary {
  const pairs = errors.length;
  const mean = (values: number[]): number => (pairs === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / pairs);
  return { pairs, identityError: mean(errors.map((error) => error.identity)), alignedError: mean(errors.map((error) => error.aligned)) };
}

/**
 * Mean grid-point distance between the predicted and the true transform on
 * held-out synthetic pairs, next to the distance of the identity (no
 * alignment), overall and by bins of absolute rotation.
 */
export function evaluateSyntheticPairs(
  model: tf.LayersModel,
  pairs: SyntheticPair[],
  options: { rotationBinEdgesDegrees?: number[]; pointsPerSide?: number; batchSize?: number } = {},
): SyntheticEvaluation {
  const edges = options.rotationBinEdgesDegrees ?? [0, 5, 10, 15];
  const pointsPerSide = options.pointsPerSide ?? 20;
  const batchSize = options.batchSize ?? 16;
  const sizePx = alignmentInputSizePx(model);

  const predictions: AffineParameters[] = [];
  for (let start = 0; start < pairs.length; start += batchSize) {
    const batch = pairsToBatch(pairs.slice(start, start + batchSize));
    const rows = tf.tidy(() => (model.predict([batch.source, batch.target]) as tf.Tensor2D).arraySync());
    disposeBatch(batch);
    predictions.push(...(rows as AffineParameters[]));
  }

  const errors = pairs.map((pair, index) => ({
    rotation: Math.abs(pair.components.rotationDegrees),
    identity: meanGridPointDistance(IDENTITY_AFFINE, pair.parameters, pointsPerSide),
    aligned: meanGridPointDistance(predictions[index], pair.parameters, pointsPerSide),
  }));
  const byRotation: RotationBinSummary[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const last = i + 2 === edges.length;
    const inBin = errors.filter((error) => error.rotation >= edges[i] && (error.rotation < edges[i + 1] || (last && error.rotation <= edges[i + 1])));
    byRotation.push({ fromDegrees: edges[i], toDegrees: edges[i + 1], ...summarize(inBin) });
  }
  return {
    overall: summarize(errors),
    byRotation,
    degenerateCount: predictions.filter((parameters) => checkAffineTransform(parameters).degenerate).length,
    pixelsPerUnit: (sizePx - 1) / 2,
    pointsPerSide,
  };
}

/** Two impressions of one finger, for evaluation without ground truth. */
export interface ImpressionPair {
  id: string;
  query: GrayImage;
  candidate: GrayImage;
}

export interface RealPairEvaluation {
  pairs: number;
  meanCorrelationBefore: number;
  meanCorrelationAfter: number;
  /** Share of pairs whose correlation rose with alignment. */
  improvedFraction: number;
  degenerateCount: number;
  scores: Array<{ id: string } & MatchScore>;
}

/** Overlap correlation of real impression pairs before and after warping each candidate onto its query. */
export function evaluateImpressionPairs(model: tf.LayersModel, pairs: ImpressionPair[], options: { evaluationSizePx?: number } = {}): RealPairEvaluation {
  const scores = pairs.map((pair) => ({ id: pair.id, ...pairwiseMatchScores(model, pair.query, [pair.candidate], options)[0] }));
  const count = scores.length;
  const mean = (values: number[]): number => (count === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / count);
  return {
    pairs: count,
    meanCorrelationBefore: mean(scores.map((score) => score.scoreBeforeAlignment)),
    meanCorrelationAfter: mean(scores.map((score) => score.score)),
    improvedFraction: count === 0 ? Number.NaN : scores.filter((score) => score.score > score.scoreBeforeAlignment).length / count,
    degenerateCount: scores.filter((score) => !score.transformApplied).length,
    scores,
  };
}
