import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { buildAlignmentModel, CPU_ALIGNMENT_MODEL, FeatureCorrelation, FeatureL2Normalization, PAPER_ALIGNMENT_MODEL } from '../../src/models/alignment';
import { useFastestBackend } from './backend';

function dot(a: number[], b: number[]): number {
  return a.reduce((sum, value, index) => sum + value * b[index], 0);
}

describe('alignment model', function () {
  before(async function () {
    await useFastestBackend();
  });

  it('correlation holds every feature pair product', function () {
    // A and B are 2×3 maps with 2 channels; position k of A is row·3 + column.
    const featuresA = tf.tensor4d([1, 2, 3, 4, 5, 6, -1, 0, 0, 1, 2, -2], [1, 2, 3, 2]);
    const featuresB = tf.tensor4d([0, 1, 1, 0, 2, 2, -3, 1, 1, -1, 0.5, 0.5], [1, 2, 3, 2]);
    const output = new FeatureCorrelation().apply([featuresA, featuresB]) as tf.Tensor;
    const a = featuresA.arraySync()[0];
    const b = featuresB.arraySync()[0];
    const values = output.arraySync() as number[][][][];

    assert.deepEqual(output.shape, [1, 2, 3, 6]);
    for (let row = 0; row < 2; row++) {
      for (let column = 0; column < 3; column++) {
        for (let k = 0; k < 6; k++) {
          const expected = dot(b[row][column], a[Math.floor(k / 3)][k % 3]);
          assert.ok(Math.abs(values[0][row][column][k] - expected) < 1e-5, `(${row}, ${column}, ${k}): ${values[0][row][column][k]} vs ${expected}`);
        }
      }
    }
    tf.dispose([featuresA, featuresB, output]);
  });

  it('L2 normalization gives unit feature vectors', function () {
    const features = tf.tensor4d([3, 4, 0, 0, -1, 1, 5, 12], [1, 2, 2, 2]);
    const output = new FeatureL2Normalization().apply(features) as tf.Tensor;
    const values = output.arraySync() as number[][][][];

    assert.ok(Math.abs(values[0][0][0][0] - 0.6) < 1e-5);
    assert.ok(Math.abs(values[0][0][0][1] - 0.8) < 1e-5);
    assert.deepEqual(values[0][0][1], [0, 0]);
    assert.ok(Math.abs(Math.hypot(...values[0][1][0]) - 1) < 1e-5);
    assert.ok(Math.abs(Math.hypot(...values[0][1][1]) - 1) < 1e-5);
    tf.dispose([features, output]);
  });

  it('tiny model normalizes features and correlations', function () {
    const model = buildAlignmentModel({ inputSizePx: 16, inputChannels: 1, featureBlocks: [[4], [4]], regression: [{ kernelSizePx: 3, filters: 4 }], seed: 3 });
    const probe = tf.model({
      inputs: model.inputs,
      outputs: ['features_l2_normalization', 'correlation', 'correlation_l2_normalization'].map((name) => model.getLayer(name).getOutputAt(name === 'features_l2_normalization' ? 1 : 0) as tf.SymbolicTensor),
    });
    const source = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 1);
    const target = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 2);
    const [features, correlation, normalized] = probe.predict([source, target]) as tf.Tensor[];

    assert.deepEqual(features.shape, [2, 4, 4, 4]);
    assert.deepEqual(correlation.shape, [2, 4, 4, 16]);
    assert.deepEqual(normalized.shape, [2, 4, 4, 16]);
    const featureNorms = tf.norm(features, 'euclidean', -1).dataSync();
    featureNorms.forEach((norm, index) => assert.ok(norm < 1e-3 || Math.abs(norm - 1) < 1e-3, `feature vector ${index} has norm ${norm}`));
    // Unit features give correlations that are cosines, so within [-1, 1].
    correlation.dataSync().forEach((value, index) => assert.ok(Math.abs(value) <= 1 + 1e-5, `correlation ${index} is ${value}`));
    const normalizedValues = normalized.dataSync();
    normalizedValues.forEach((value, index) => assert.ok(value >= 0, `normalized correlation ${index} is negative: ${value}`));
    const correlationNorms = tf.norm(normalized, 'euclidean', -1).dataSync();
    correlationNorms.forEach((norm, index) => assert.ok(norm < 1e-3 || Math.abs(norm - 1) < 1e-3, `correlation vector ${index} has norm ${norm}`));
    tf.dispose([source, target, features, correlation, normalized]);
    model.dispose();
  });

  it('untrained model predicts the identity', function () {
    const model = buildAlignmentModel(CPU_ALIGNMENT_MODEL);
    const images = tf.randomUniform([3, 64, 64, 1], 0, 1, 'float32', 5);
    const theta = model.predict([images, tf.reverse(images, 1)]) as tf.Tensor;

    assert.deepEqual(theta.shape, [3, 6]);
    const values = theta.arraySync() as number[][];
    for (const row of values) assert.deepEqual(row.map((value) => Math.round(value * 1e6) / 1e6), [1, 0, 0, 0, 1, 0]);
    tf.dispose([images, theta]);
    model.dispose();
  });

  it('paper-sized model has the published shapes', function () {
    const model = buildAlignmentModel(PAPER_ALIGNMENT_MODEL);
    const shapeOf = (name: string): tf.Shape => (model.getLayer(name).getOutputAt(0) as tf.SymbolicTensor).shape;

    assert.deepEqual(shapeOf('features_l2_normalization'), [null, 15, 15, 512]);
    assert.deepEqual(shapeOf('correlation'), [null, 15, 15, 225]);
    assert.deepEqual(shapeOf('regression_conv1'), [null, 9, 9, 128]);
    assert.deepEqual(shapeOf('regression_conv2'), [null, 5, 5, 64]);
    assert.deepEqual(model.outputs[0].shape, [null, 6]);
    model.dispose();
  });

  it('rejects an input size the pools do not divide', function () {
    assert.throws(() => buildAlignmentModel({ ...CPU_ALIGNMENT_MODEL, inputSizePx: 60 }), /divisible by 2\^3/);
  });

  it('rejects regression kernels larger than the correlation map', function () {
    assert.throws(() => buildAlignmentModel({ ...CPU_ALIGNMENT_MODEL, regression: [{ kernelSizePx: 9, filters: 8 }] }), /do not fit the 8×8 correlation map/);
  });
});
