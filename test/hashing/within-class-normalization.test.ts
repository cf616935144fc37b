import { strict as assert } from 'node:assert';
import { UserInputError } from '../../src/config/errors';
import { createFeatureMatrix, featureMatrixFromRows } from '../../src/hashing/feature-matrix';
import {
  applyWithinClassNormalization,
  fitWithinClassNormalization,
  loadWithinClassNormalization,
  saveWithinClassNormalization,
} from '../../src/hashing/within-class-normalization';
import { SeededRandom } from '../../src/hashing/random';

/** Two classes in 3 dimensions whose rows differ only along axis 0 inside a class. */
function classesVaryingAlongFirstAxis(): { features: ReturnType<typeof featureMatrixFromRows>; labels: number[] } {
  const rows: number[][] = [];
  const labels: number[] = [];
  const random = new SeededRandom(5);
  for (const [label, center] of [[0, [0, 1, 0]], [1, [0, -1, 1]]] as const) {
    for (let copy = 0; copy < 20; copy++) {
      rows.push([center[0] + random.nextGaussian(), center[1], center[2]]);
      labels.push(label);
    }
  }
  return { features: featureMatrixFromRows(rows), labels };
}

describe('within-class normalization', () => {
  it('shrinks the within-class direction', () => {
    const { features, labels } = classesVaryingAlongFirstAxis();
    const normalization = fitWithinClassNormalization(features, labels, { regularization: 0.1, exponent: 0.5 });
    const mapped = applyWithinClassNormalization(featureMatrixFromRows([[1, 1, 0]]), normalization);
    // The input weighs both axes equally; after the map axis 0, where classes vary, must weigh far less than axis 1.
    assert.ok(Math.abs(mapped.data[0]) < 0.5 * Math.abs(mapped.data[1]), `axis 0 ${mapped.data[0]} should be under half of axis 1 ${mapped.data[1]}`);
  });

  it('exponent 0.5 whitens the regularized covariance', () => {
    // Class deviations (±1, ±2, 0) and (±1, ∓2, 0) cancel each other's cross terms, so S_w = diag(1, 4, 0) with mean eigenvalue 5/3.
    const features = featureMatrixFromRows([[1, 2, 0], [-1, -2, 0], [5, 3, 1], [3, 7, 1]]);
    const regularization = 0.3;
    const { matrix } = fitWithinClassNormalization(features, [0, 0, 1, 1], { regularization, exponent: 0.5 });
    const ridge = (regularization * 5) / 3;
    const expectedDiagonal = [1 / Math.sqrt(1 + ridge), 1 / Math.sqrt(4 + ridge), 1 / Math.sqrt(ridge)];
    for (let row = 0; row < 3; row++) {
      for (let column = 0; column < 3; column++) {
        const expected = row === column ? expectedDiagonal[row] : 0;
        assert.ok(Math.abs(matrix[row * 3 + column] - expected) < 1e-9, `M[${row}][${column}] = ${matrix[row * 3 + column]}, expected ${expected}`);
      }
    }
  });

  it('is symmetric', () => {
    const { features, labels } = classesVaryingAlongFirstAxis();
    const { matrix, dimension } = fitWithinClassNormalization(features, labels);
    for (let row = 0; row < dimension; row++) {
      for (let column = 0; column < dimension; column++) assert.ok(Math.abs(matrix[row * dimension + column] - matrix[column * dimension + row]) < 1e-9);
    }
  });

  it('exponent 0 only rescales rows to unit length', () => {
    const { features, labels } = classesVaryingAlongFirstAxis();
    const normalization = fitWithinClassNormalization(features, labels, { regularization: 1, exponent: 0 });
    const mapped = applyWithinClassNormalization(featureMatrixFromRows([[3, 4, 0]]), normalization);
    assert.deepEqual(Array.from(mapped.data, (value) => Number(value.toFixed(6))), [0.6, 0.8, 0]);
  });

  it('keeps zero rows at zero', () => {
    const { features, labels } = classesVaryingAlongFirstAxis();
    const mapped = applyWithinClassNormalization(createFeatureMatrix(new Float32Array(3), 1, 3), fitWithinClassNormalization(features, labels));
    assert.deepEqual(Array.from(mapped.data), [0, 0, 0]);
  });

  it('save and load round trip bit-exactly', () => {
    const { features, labels } = classesVaryingAlongFirstAxis();
    const normalization = fitWithinClassNormalization(features, labels);
    const loaded = loadWithinClassNormalization(JSON.parse(JSON.stringify(saveWithinClassNormalization(normalization))));
    assert.deepEqual(loaded, normalization);
    assert.deepEqual(applyWithinClassNormalization(features, loaded).data, applyWithinClassNormalization(features, normalization).data);
  });

  it('rejects a label count that differs from the rows', () => {
    const { features } = classesVaryingAlongFirstAxis();
    assert.throws(() => fitWithinClassNormalization(features, [0, 1]), (error: Error) => error instanceof UserInputError && /2 class labels for 40 feature rows/.test(error.message));
  });

  it('rejects classes of one row each', () => {
    const features = featureMatrixFromRows([[1, 0], [0, 1]]);
    assert.throws(() => fitWithinClassNormalization(features, [0, 1]), (error: Error) => error instanceof UserInputError && /every label occurs once/.test(error.message));
  });

  it('rejects identical rows within every class', () => {
    const features = featureMatrixFromRows([[1, 0], [1, 0], [0, 1], [0, 1]]);
    assert.throws(() => fitWithinClassNormalization(features, [0, 0, 1, 1]), (error: Error) => error instanceof UserInputError && /no variation inside any class/.test(error.message));
  });

  it('rejects NaN features', () => {
    const features = featureMatrixFromRows([[1, Number.NaN], [0, 1]]);
    assert.throws(() => fitWithinClassNormalization(features, [0, 0]), UserInputError);
  });

  it('rejects out-of-range options', () => {
    const { features, labels } = classesVaryingAlongFirstAxis();
    assert.throws(() => fitWithinClassNormalization(features, labels, { regularization: 0, exponent: 0.25 }), /regularization 0: expected a positive number/);
    assert.throws(() => fitWithinClassNormalization(features, labels, { regularization: 1, exponent: 0.75 }), /exponent 0.75: expected a number from 0/);
  });

  it('rejects features of another width', () => {
    const { features, labels } = classesVaryingAlongFirstAxis();
    const normalization = fitWithinClassNormalization(features, labels);
    assert.throws(() => applyWithinClassNormalization(featureMatrixFromRows([[1, 2]]), normalization), /2 columns but the within-class normalization was fitted on 3/);
  });
});
