import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import type { FeatureMatrix } from './feature-matrix';
import type { SeededRandom } from './random';

/** Dense matrices in this file are row-major Float64Array values with explicit sizes. */

/** Returns the mean of each column. */
export function columnMeans(features: FeatureMatrix): Float64Array {
  const { data, rowCount, columnCount } = features;
  const means = new Float64Array(columnCount);
  for (let row = 0; row < rowCount; row++) {
    const offset = row * columnCount;
    for (let column = 0; column < columnCount; column++) {
      means[column] += data[offset + column];
    }
  }
  for (let column = 0; column < columnCount; column++) {
    means[column] /= rowCount;
  }
  return means;
}

/** Returns the sample covariance (divided by n - 1) as a `d x d` matrix. */
export function covarianceMatrix(features: FeatureMatrix, means: Float64Array): Float64Array {
  const { data, rowCount, columnCount: d } = features;
  const covariance = new Float64Array(d * d);
  const centered = new Float64Array(d);

  for (let row = 0; row < rowCount; row++) {
    const offset = row * d;
    for (let i = 0; i < d; i++) {
      centered[i] = data[offset + i] - means[i];
    }
    // Only the upper triangle is accumulated. Zero entries (common in image
    // pixels whose column mean is zero) are skipped.
    for (let i = 0; i < d; i++) {
      const ci = centered[i];
      if (ci === 0) {
        continue;
      }
      const rowOffset = i * d;
      for (let j = i; j < d; j++) {
        covariance[rowOffset + j] += ci * centered[j];
      }
    }
  }

  const scale = 1 / Math.max(1, rowCount - 1);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const value = covariance[i * d + j] * scale;
      covariance[i * d + j] = value;
      covariance[j * d + i] = value;
    }
  }
  return covariance;
}

/** Principal directions of a feature set, largest variance first. */
export interface PrincipalComponents {
  readonly means: Float64Array;
  /** `d x k` row-major: column `j` is the j-th principal direction. */
  readonly directions: Float64Array;
  readonly componentCount: number;
  /** Variance along each direction, descending. */
  readonly variances: Float64Array;
}

/**
 * Computes the top `componentCount` principal directions from the full
 * eigendecomposition of the covariance matrix. Each direction's sign is fixed
 * so that its largest-magnitude entry is positive, which makes the result
 * independent of the eigensolver's sign choice.
 */
export function principalComponents(features: FeatureMatrix, componentCount: number): PrincipalComponents {
  const d = features.columnCount;
  const means = columnMeans(features);
  const covariance = covarianceMatrix(features, means);
  const decomposition = new EigenvalueDecomposition(Matrix.from1DArray(d, d, covariance), { assumeSymmetric: true });
  const eigenvalues = decomposition.realEigenvalues;
  const eigenvectors = decomposition.eigenvectorMatrix;

  const order = Array.from(eigenvalues.keys()).sort((a, b) => eigenvalues[b] - eigenvalues[a] || a - b);
  const directions = new Float64Array(d * componentCount);
  const variances = new Float64Array(componentCount);
  for (let component = 0; component < componentCount; component++) {
    const source = order[component];
    variances[component] = Math.max(0, eigenvalues[source]);

    let largest = 0;
    for (let i = 0; i < d; i++) {
      const value = eigenvectors.get(i, source);
      if (Math.abs(value) > Math.abs(largest)) {
        largest = value;
      }
    }
    const sign = largest < 0 ? -1 : 1;
    for (let i = 0; i < d; i++) {
      directions[i * componentCount + component] = sign * eigenvectors.get(i, source);
    }
  }
  return { means, directions, componentCount, variances };
}

/**
 * Returns `(X - means) * projection` as an `n x k` row-major matrix, where
 * `projection` is `d x k` row-major.
 */
export function projectCentered(features: FeatureMatrix, means: ArrayLike<number>, projection: ArrayLike<number>, k: number): Float64Array {
  const { data, rowCount, columnCount: d } = features;
  const output = new Float64Array(rowCount * k);
  for (let row = 0; row < rowCount; row++) {
    const inputOffset = row * d;
    const outputOffset = row * k;
    for (let i = 0; i < d; i++) {
      const centered = data[inputOffset + i] - means[i];
      if (centered === 0) {
        continue;
      }
      const projectionOffset = i * k;
      for (let j = 0; j < k; j++) {
        output[outputOffset + j] += centered * projection[projectionOffset + j];
      }
    }
  }
  return output;
}

/** Returns `a * b` for row-major `a` (`m x n`) and `b` (`n x p`). */
export function multiply(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, p: number): Float64Array {
  const output = new Float64Array(m * p);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) {
        continue;
      }
      const bOffset = k * p;
      const outputOffset = i * p;
      for (let j = 0; j < p; j++) {
        output[outputOffset + j] += aik * b[bOffset + j];
      }
    }
  }
  return output;
}

/** Returns an `m x n` matrix of independent standard normal samples. */
export function gaussianMatrix(m: number, n: number, random: SeededRandom): Float64Array {
  const output = new Float64Array(m * n);
  for (let i = 0; i < output.length; i++) {
    output[i] = random.nextGaussian();
  }
  return output;
}

/**
 * Orthonormalizes columns `[firstColumn, firstColumn + count)` of a row-major
 * `rows x columns` matrix in place with modified Gram–Schmidt. Requires
 * `count <= rows` and linearly independent columns, which is true with
 * probability one for Gaussian samples.
 */
export function orthonormalizeColumns(matrix: Float64Array, rows: number, columns: number, firstColumn: number, count: number): void {
  for (let j = firstColumn; j < firstColumn + count; j++) {
    for (let previous = firstColumn; previous < j; previous++) {
      let dot = 0;
      for (let i = 0; i < rows; i++) {
        dot += matrix[i * columns + j] * matrix[i * columns + previous];
      }
      for (let i = 0; i < rows; i++) {
        matrix[i * columns + j] -= dot * matrix[i * columns + previous];
      }
    }
    let norm = 0;
    for (let i = 0; i < rows; i++) {
      norm += matrix[i * columns + j] ** 2;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < rows; i++) {
      matrix[i * columns + j] /= norm;
    }
  }
}

/** Returns a random `n x n` orthogonal matrix (Gram–Schmidt on Gaussian samples). */
export function randomOrthogonalMatrix(n: number, random: SeededRandom): Float64Array {
  const matrix = gaussianMatrix(n, n, random);
  orthonormalizeColumns(matrix, n, n, 0, n);
  return matrix;
}

/**
 * Solves the orthogonal Procrustes problem: returns the `n x n` orthogonal
 * `R` that maximizes `trace(Bᵀ V R)` given `C = Bᵀ V` (`n x n`). With the SVD
 * `C = U S Wᵀ` the maximizer is `R = W Uᵀ`.
 */
export function procrustesRotation(c: Float64Array, n: number): Float64Array {
  const svd = new SingularValueDecomposition(Matrix.from1DArray(n, n, c));
  const rotation = svd.rightSingularVectors.mmul(svd.leftSingularVectors.transpose());
  return Float64Array.from(rotation.to1DArray());
}

/** Returns `aᵀ b` for row-major `a` (`m x n`) and `b` (`m x p`), an `n x p` matrix. */
export function multiplyTransposed(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, p: number): Float64Array {
  const output = new Float64Array(n * p);
  for (let row = 0; row < m; row++) {
    for (let i = 0; i < n; i++) {
      const ai = a[row * n + i];
      if (ai === 0) {
        continue;
      }
      for (let j = 0; j < p; j++) {
        output[i * p + j] += ai * b[row * p + j];
      }
    }
  }
  return output;
}
