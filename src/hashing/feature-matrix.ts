import { UserInputError } from '../config/errors';

/**
 * A dense row-major matrix of feature vectors: row `i` occupies
 * `data[i * columnCount, (i + 1) * columnCount)`.
 */
export interface FeatureMatrix {
  readonly rowCount: number;
  readonly columnCount: number;
  readonly data: Float32Array;
}

/** Wraps row-major values as a FeatureMatrix after checking that the sizes agree. */
export function createFeatureMatrix(data: Float32Array, rowCount: number, columnCount: number): FeatureMatrix {
  if (!Number.isInteger(rowCount) || rowCount < 0 || !Number.isInteger(columnCount) || columnCount < 1) {
    throw new UserInputError(`invalid feature matrix shape ${rowCount}x${columnCount}: expected a non-negative integer row count and a positive integer column count`);
  }
  if (data.length !== rowCount * columnCount) {
    throw new UserInputError(`feature matrix data has ${data.length} values but ${rowCount}x${columnCount} needs ${rowCount * columnCount}. Check the row and column counts`);
  }
  return { rowCount, columnCount, data };
}

/** Builds a FeatureMatrix from equal-length rows. */
export function featureMatrixFromRows(rows: ArrayLike<number>[]): FeatureMatrix {
  if (rows.length === 0) {
    throw new UserInputError('cannot build a feature matrix from zero rows: pass at least one feature vector');
  }
  const columnCount = rows[0].length;
  const data = new Float32Array(rows.length * columnCount);
  rows.forEach((row, rowIndex) => {
    if (row.length !== columnCount) {
      throw new UserInputError(`feature row ${rowIndex} has ${row.length} values but row 0 has ${columnCount}. Every row needs the same length`);
    }
    data.set(Array.from(row), rowIndex * columnCount);
  });
  return createFeatureMatrix(data, rows.length, columnCount);
}

/** Returns a view of one row. Writing to it changes the matrix. */
export function featureRow(features: FeatureMatrix, rowIndex: number): Float32Array {
  return features.data.subarray(rowIndex * features.columnCount, (rowIndex + 1) * features.columnCount);
}

/** Copies the listed rows, in the listed order, into a new matrix. */
export function selectRows(features: FeatureMatrix, rowIndices: ArrayLike<number>): FeatureMatrix {
  const data = new Float32Array(rowIndices.length * features.columnCount);
  for (let i = 0; i < rowIndices.length; i++) {
    data.set(featureRow(features, rowIndices[i]), i * features.columnCount);
  }
  return createFeatureMatrix(data, rowIndices.length, features.columnCount);
}

/** Raises UserInputError on the first NaN or infinite value, naming its row and column. */
export function assertFiniteFeatures(features: FeatureMatrix, what: string): void {
  const { data, columnCount } = features;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const row = Math.floor(i / columnCount);
      const column = i % columnCount;
      throw new UserInputError(
        `${what} contain ${data[i]} at row ${row}, column ${column}: features must be finite numbers, so drop or impute the row before hashing`,
      );
    }
  }
}

/**
 * Checks training features: finite values, at least `minimumRowCount` rows
 * and at least one column whose value varies across rows. Single constant
 * columns (such as an image border that is always black) are allowed.
 */
export function validateTrainingFeatures(features: FeatureMatrix, options: { minimumRowCount: number; codeLengthBits: number }): void {
  if (features.rowCount < options.minimumRowCount) {
    throw new UserInputError(
      `training features have ${features.rowCount} rows but a ${options.codeLengthBits}-bit hasher needs at least ${options.minimumRowCount}: ` +
        'pass more training samples or choose a shorter code length',
    );
  }
  assertFiniteFeatures(features, 'training features');

  const { data, rowCount, columnCount } = features;
  for (let column = 0; column < columnCount; column++) {
    const first = data[column];
    for (let row = 1; row < rowCount; row++) {
      if (data[row * columnCount + column] !== first) {
        return;
      }
    }
  }
  throw new UserInputError(
    `training features are constant: all ${rowCount} rows are identical across ${columnCount} columns, so no hash function can separate them; ` +
      'check the feature extraction step (an all-black image set, a failed decode)',
  );
}

/** Raises UserInputError unless the features have the column count the hasher was trained on. */
export function assertColumnCount(features: FeatureMatrix, expectedColumnCount: number): void {
  if (features.columnCount !== expectedColumnCount) {
    throw new UserInputError(
      `features have ${features.columnCount} columns but the hasher was trained on ${expectedColumnCount}. Encode with the same feature extractor used for training`,
    );
  }
}
