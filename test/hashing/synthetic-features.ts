import { createFeatureMatrix, type FeatureMatrix } from '../../src/hashing/feature-matrix';
import { SeededRandom } from '../../src/hashing/random';

/**
 * Unit-variance Gaussian clusters around random centres whose coordinates
 * have standard deviation `centreScale` (default 3): `clusterCount` labels,
 * rows assigned round-robin.
 */
export function clusteredFeatures(options: { rowCount: number; dimension: number; clusterCount: number; seed: number; centreScale?: number }): {
  features: FeatureMatrix;
  labels: Int32Array;
} {
  const random = new SeededRandom(options.seed);
  const centres = Float32Array.from({ length: options.clusterCount * options.dimension }, () => (options.centreScale ?? 3) * random.nextGaussian());
  const data = new Float32Array(options.rowCount * options.dimension);
  const labels = new Int32Array(options.rowCount);
  for (let row = 0; row < options.rowCount; row++) {
    const cluster = row % options.clusterCount;
    labels[row] = cluster;
    for (let column = 0; column < options.dimension; column++) {
      data[row * options.dimension + column] = centres[cluster * options.dimension + column] + random.nextGaussian();
    }
  }
  return { features: createFeatureMatrix(data, options.rowCount, options.dimension), labels };
}
