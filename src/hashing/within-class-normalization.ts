import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { UserInputError } from '../config/errors';
import { assertFiniteFeatures, createFeatureMatrix, type FeatureMatrix } from './feature-matrix';
import { decodeArray, encodeArray, type SavedParameter } from './hasher';

/**
 * Within-class covariance normalization (WCCN, known from speaker
 * verification): a linear map that shrinks the feature directions in which
 * rows of one class differ. A class is, for example, the impressions of one
 * finger or shifted and rotated copies of one print. Distances then weigh the
 * directions that separate classes more. The map is
 * M = (S_w + r·(tr S_w / d)·I)^(−e), where S_w is the within-class
 * covariance, r the regularization and e the exponent. Exponent 0.5 is full
 * whitening of S_w, and 0 leaves features unchanged.
 */
export interface WithinClassNormalization {
  readonly dimension: number;
  readonly regularization: number;
  readonly exponent: number;
  /** The symmetric `d x d` map, row-major. */
  readonly matrix: Float64Array;
}

export interface WithinClassNormalizationOptions {
  /** Ridge added to S_w, as a multiple of its mean eigenvalue (tr S_w / d). It keeps the map finite when there are fewer rows than dimensions. */
  regularization: number;
  /** Power e of the regularized covariance in the map, from 0 (no change) to 0.5 (full whitening). */
  exponent: number;
}

/**
 * Default settings, chosen on three gallery/probe splits of the FVC
 * fingerprint benchmark (bench/hashing/fingerprints.ts). Exponent 0.35 scored
 * within the spread between hasher seeds of these, so treat them as a
 * starting point for other data.
 */
export const DEFAULT_WITHIN_CLASS_NORMALIZATION: WithinClassNormalizationOptions = { regularization: 1, exponent: 0.25 };

/**
 * Estimates the within-class covariance of `features`, whose rows belong to
 * the classes in `classLabels`, and returns the normalization map. Classes
 * with one row add nothing to S_w, so at least one class needs two rows.
 */
export function fitWithinClassNormalization(
  features: FeatureMatrix,
  classLabels: ArrayLike<number>,
  options: WithinClassNormalizationOptions = DEFAULT_WITHIN_CLASS_NORMALIZATION,
): WithinClassNormalization {
  validateOptions(options);
  assertFiniteFeatures(features, 'within-class normalization training features');
  if (classLabels.length !== features.rowCount) {
    throw new UserInputError(`within-class normalization got ${classLabels.length} class labels for ${features.rowCount} feature rows: pass one label per row`);
  }

  const d = features.columnCount;
  const centered = centerOnClassMeans(features, classLabels);
  if (centered.rowCount === 0) {
    throw new UserInputError('within-class normalization needs at least one class with two or more rows, but every label occurs once: pass several impressions (or augmented copies) per class');
  }
  const rows = new Matrix(centered.rowCount, d);
  for (let row = 0; row < centered.rowCount; row++) {
    for (let column = 0; column < d; column++) rows.set(row, column, centered.data[row * d + column]);
  }
  const covariance = rows.transpose().mmul(rows).div(centered.rowCount);
  const meanEigenvalue = covariance.trace() / d;
  if (!(meanEigenvalue > 0)) {
    throw new UserInputError('within-class normalization found no variation inside any class (rows of one label are identical): the features cannot be normalized, so check the feature extraction');
  }
  for (let index = 0; index < d; index++) covariance.set(index, index, covariance.get(index, index) + options.regularization * meanEigenvalue);

  const decomposition = new EigenvalueDecomposition(covariance, { assumeSymmetric: true });
  const eigenvectors = decomposition.eigenvectorMatrix;
  // Clamp round-off below the ridge so every eigenvalue of the regularized matrix stays positive.
  const scales = decomposition.realEigenvalues.map((value) => Math.pow(Math.max(value, options.regularization * meanEigenvalue), -options.exponent));
  // ml-matrix operations such as mulRowVector change the matrix in place, so scale a copy.
  const map = eigenvectors.clone().mulRowVector(scales).mmul(eigenvectors.transpose());
  return { dimension: d, regularization: options.regularization, exponent: options.exponent, matrix: Float64Array.from(map.to1DArray()) };
}

/**
 * Maps each row through the normalization and rescales it to unit L2 norm,
 * like the feature extractors do. A row that maps to zero stays zero.
 */
export function applyWithinClassNormalization(features: FeatureMatrix, normalization: WithinClassNormalization): FeatureMatrix {
  if (features.columnCount !== normalization.dimension) {
    throw new UserInputError(`features have ${features.columnCount} columns but the within-class normalization was fitted on ${normalization.dimension}: use the feature extractor it was fitted with`);
  }
  assertFiniteFeatures(features, 'features to normalize');
  const d = normalization.dimension;
  const output = new Float32Array(features.rowCount * d);
  const mapped = new Float64Array(d);
  for (let row = 0; row < features.rowCount; row++) {
    mapped.fill(0);
    for (let inner = 0; inner < d; inner++) {
      const value = features.data[row * d + inner];
      if (value === 0) continue;
      const matrixRow = inner * d;
      for (let column = 0; column < d; column++) mapped[column] += value * normalization.matrix[matrixRow + column];
    }
    let squares = 0;
    for (const value of mapped) squares += value * value;
    const norm = Math.sqrt(squares);
    for (let column = 0; column < d; column++) output[row * d + column] = norm > 0 ? mapped[column] / norm : 0;
  }
  return createFeatureMatrix(output, features.rowCount, d);
}

/** Serializes a normalization for a model file; loadWithinClassNormalization reads it back bit-exactly. */
export function saveWithinClassNormalization(normalization: WithinClassNormalization): { [name: string]: SavedParameter } {
  return { dimension: normalization.dimension, regularization: normalization.regularization, exponent: normalization.exponent, matrix: encodeArray(normalization.matrix) };
}

/** Reads the output of saveWithinClassNormalization. */
export function loadWithinClassNormalization(saved: { [name: string]: SavedParameter }): WithinClassNormalization {
  const { dimension, regularization, exponent } = saved;
  if (typeof dimension !== 'number' || typeof regularization !== 'number' || typeof exponent !== 'number') {
    throw new UserInputError('saved within-class normalization lacks a numeric dimension, regularization or exponent: the model file is corrupt or from another tool');
  }
  const matrix = Float64Array.from(decodeArray(saved.matrix, 'matrix'));
  if (matrix.length !== dimension * dimension) {
    throw new UserInputError(`saved within-class normalization has ${matrix.length} matrix values for dimension ${dimension} (expected ${dimension * dimension}): the model file is corrupt`);
  }
  return { dimension, regularization, exponent, matrix };
}

function validateOptions(options: WithinClassNormalizationOptions): void {
  if (!Number.isFinite(options.regularization) || options.regularization <= 0) {
    throw new UserInputError(`invalid within-class normalization regularization ${options.regularization}: expected a positive number, such as 1`);
  }
  if (!Number.isFinite(options.exponent) || options.exponent < 0 || options.exponent > 0.5) {
    throw new UserInputError(`invalid within-class normalization exponent ${options.exponent}: expected a number from 0 (no change) to 0.5 (full whitening), such as 0.25`);
  }
}

/** Returns the rows of classes with two or more rows, each minus its class mean. */
function centerOnClassMeans(features: FeatureMatrix, classLabels: ArrayLike<number>): FeatureMatrix {
  const d = features.columnCount;
  const rowsByClass = new Map<number, number[]>();
  for (let row = 0; row < features.rowCount; row++) {
    const label = classLabels[row];
    const rows = rowsByClass.get(label);
    if (rows === undefined) rowsByClass.set(label, [row]);
    else rows.push(row);
  }

  const classRows = [...rowsByClass.values()].filter((rows) => rows.length >= 2);
  const output = new Float32Array(classRows.reduce((sum, rows) => sum + rows.length, 0) * d);
  let outputRow = 0;
  const mean = new Float64Array(d);
  for (const rows of classRows) {
    mean.fill(0);
    for (const row of rows) {
      for (let column = 0; column < d; column++) mean[column] += features.data[row * d + column] / rows.length;
    }
    for (const row of rows) {
      for (let column = 0; column < d; column++) output[outputRow * d + column] = features.data[row * d + column] - mean[column];
      outputRow++;
    }
  }
  return createFeatureMatrix(output, outputRow, d);
}
