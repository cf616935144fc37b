import * as tf from '@tensorflow/tfjs';
import { strict as assert } from 'node:assert';
import { conv2dFilterGradient, dilateFilter, registerWasmTrainingKernels, wasmMissingKernels, wasmReplacementKernels } from '../../src/tensors';
import { assertClose, installTrainingSupport, randomInput, runOnBackend } from './helpers';
import { modelOpCases } from './op-cases';

describe('wasm training kernels', function () {
  let previousBackend: string | undefined;

  before(async function () {
    previousBackend = tf.getBackend();
    installTrainingSupport();
    assert.ok(await tf.setBackend('wasm'), 'the wasm backend failed to start');
  });

  after(async function () {
    if (previousBackend !== undefined) {
      await tf.setBackend(previousBackend);
    }
  });

  it('registers missing and replacement kernels', function () {
    for (const kernel of [...wasmMissingKernels, ...wasmReplacementKernels]) {
      assert.equal(tf.getKernel(kernel.kernelName, 'wasm'), kernel, `${kernel.kernelName} is not the registered wasm kernel`);
    }
    assert.deepEqual(registerWasmTrainingKernels(), [], 'a second registration should change nothing');
  });

  it('filter gradient kernel accepts bare TensorInfo inputs', async function () {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randomInput([1, 5, 5, 2], 6).values, [1, 5, 5, 2]);
    const dy = tf.tensor4d(randomInput([1, 5, 5, 3], 7).values, [1, 5, 5, 3]);
    const attributes = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] };
    const expected = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attributes) as tf.Tensor;
    const kernel = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm');
    assert.ok(kernel, 'Conv2DBackpropFilter is not registered for wasm');
    const before = tf.memory().numTensors;

    const bare = (tensor: tf.Tensor): tf.TensorInfo => ({ dataId: tensor.dataId, shape: tensor.shape, dtype: tensor.dtype });
    const result = kernel.kernelFunc({ inputs: { x: bare(x), dy: bare(dy) }, attrs: attributes, backend: tf.backend() }) as tf.Tensor;

    assert.equal(tf.memory().numTensors, before + 1, 'only the result should remain');
    assert.deepEqual(Array.from(result.dataSync()), Array.from(expected.dataSync()));
    assert.equal(x.dataSync().length, 50, 'the input must stay readable');
    tf.dispose([x, dy, expected, result]);
  });

  describe('ops and gradients match cpu', function () {
    for (const opCase of modelOpCases()) {
      it(opCase.name, async function () {
        const wasm = await runOnBackend('wasm', opCase.inputs, opCase.compute);
        const cpu = await runOnBackend('cpu', opCase.inputs, opCase.compute);
        assertClose(wasm, cpu, opCase.name);
      });
    }
  });

  it('filter gradient supports NCHW input', async function () {
    const x = randomInput([2, 3, 8, 7], 1);
    const dy = randomInput([2, 4, 4, 4], 2);
    const attributes = { strides: 2, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] };
    const expected = await runOnBackend('cpu', [x, dy], (xTensor, dyTensor) =>
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: xTensor, dy: dyTensor }, attributes) as tf.Tensor,
    );
    const actual = await runOnBackend('wasm', [x, dy], (xTensor, dyTensor) =>
      conv2dFilterGradient(xTensor as tf.Tensor4D, dyTensor as tf.Tensor4D, {
        strides: 2,
        pad: 'same',
        dataFormat: 'NCHW',
        filterShape: [3, 3, 3, 4],
      }),
    );
    assertClose(actual, expected, 'NCHW filter gradient');
  });

  it('filter gradient rejects a mismatched dy', async function () {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 8, 8, 2]) as tf.Tensor4D;
    const dy = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    assert.throws(
      () => conv2dFilterGradient(x, dy, { strides: 2, pad: 'same', filterShape: [3, 3, 2, 3] }),
      /invalid dy shape \[1, 8, 8, 3\].*expected \[1, 4, 4, 3\]/,
    );
    tf.dispose([x, dy]);
  });

  it('UnsortedSegmentSum drops out-of-range ids', async function () {
    const x = randomInput([6, 3], 3);
    const ids = { shape: [6], values: Int32Array.from([2, -1, 0, 2, 4, 1]), dtype: 'int32' as const };
    const sum = (values: tf.Tensor, segmentIds: tf.Tensor): tf.Tensor => tf.unsortedSegmentSum(values, segmentIds as tf.Tensor1D, 4);
    const actual = await runOnBackend('wasm', [x, ids], sum);
    const expected = await runOnBackend('cpu', [x, ids], sum);
    assertClose(actual, expected, 'unsortedSegmentSum');
    assert.deepEqual(Array.from(actual[0].values.slice(9, 12)), [0, 0, 0], 'segment 3 has no rows and must stay zero');
  });

  it('filter gradient kernel leaks no tensors', async function () {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 9, 9, 3]) as tf.Tensor4D;
    const filter = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const gradient = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 2, 'same')))(filter);
    assert.equal(tf.memory().numTensors, before + 1, 'only the gradient should remain');
    tf.dispose([x, filter, gradient]);
  });

  describe('pooling gradients match finite differences', function () {
    const cases = [
      { backend: 'cpu', pool: 'avgPool', pad: 'same' as const },
      { backend: 'wasm', pool: 'avgPool', pad: 'same' as const },
      { backend: 'wasm', pool: 'avgPool', pad: 'valid' as const },
      { backend: 'cpu', pool: 'maxPool', pad: 'same' as const },
      { backend: 'wasm', pool: 'maxPool', pad: 'same' as const },
      { backend: 'wasm', pool: 'maxPool', pad: 'valid' as const },
    ];
    for (const testCase of cases) {
      it(`${testCase.pool} 3x3 stride 2 ${testCase.pad} on ${testCase.backend}`, async function () {
        await tf.setBackend(testCase.backend);
        // Distinct values at least 0.02 apart, so a finite-difference step of
        // 0.001 never changes which cell is a window's maximum.
        const input = randomInput([1, 7, 6, 2], 8);
        const order = Array.from(input.values.keys()).sort((a, b) => input.values[a] - input.values[b]);
        order.forEach((position, rank) => {
          input.values[position] = (rank / order.length) * 2 - 1;
        });
        const weights = randomInput([1, 4, 3, 2], 9);
        const pool = testCase.pool === 'avgPool' ? tf.avgPool : tf.maxPool;
        const loss = (x: tf.Tensor): tf.Scalar =>
          tf.tidy(() => {
            const pooled = pool(x as tf.Tensor4D, 3, 2, testCase.pad);
            const usedWeights = tf.slice(tf.tensor(weights.values, weights.shape), [0, 0, 0, 0], pooled.shape);
            return tf.sum(tf.mul(pooled, usedWeights));
          });
        const x = tf.tensor(input.values, input.shape);
        const analytic = tf.grad(loss)(x);
        const analyticValues = analytic.dataSync();
        tf.dispose([x, analytic]);

        const step = 1e-3;
        for (let i = 0; i < input.values.length; i++) {
          const shifted = Float32Array.from(input.values);
          shifted[i] += step;
          const up = tf.tidy(() => loss(tf.tensor(shifted, input.shape)).dataSync()[0]);
          shifted[i] -= 2 * step;
          const down = tf.tidy(() => loss(tf.tensor(shifted, input.shape)).dataSync()[0]);
          const numeric = (up - down) / (2 * step);
          assert.ok(Math.abs(analyticValues[i] - numeric) < 2e-3, `element ${i}: gradient ${analyticValues[i]}, finite difference ${numeric}`);
        }
      });
    }
  });

  describe('dilated conv2d gradient', function () {
    const cases = [
      { backend: 'cpu', dilations: 2 as const, pad: 'same' as const },
      { backend: 'wasm', dilations: 2 as const, pad: 'valid' as const },
      { backend: 'wasm', dilations: [3, 2] as [number, number], pad: 'same' as const },
    ];
    for (const testCase of cases) {
      it(`matches a dilated filter on ${testCase.backend}, dilations ${testCase.dilations}, ${testCase.pad}`, async function () {
        const inputs = [randomInput([2, 11, 10, 2], 4), randomInput([3, 3, 2, 3], 5)];
        const [dilationHeight, dilationWidth] = typeof testCase.dilations === 'number' ? [testCase.dilations, testCase.dilations] : testCase.dilations;
        const lossOf = (conv: (x: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D) => (x: tf.Tensor, f: tf.Tensor) =>
          tf.grads((xs: tf.Tensor, fs: tf.Tensor) => tf.sum(tf.square(conv(xs as tf.Tensor4D, fs as tf.Tensor4D))))([x, f]);
        const dilated = await runOnBackend(testCase.backend, inputs, lossOf((x, f) => tf.conv2d(x, f, 1, testCase.pad, 'NHWC', testCase.dilations)));
        const reference = await runOnBackend(
          testCase.backend,
          inputs,
          lossOf((x, f) => tf.conv2d(x, dilateFilter(f, dilationHeight, dilationWidth), 1, testCase.pad)),
        );
        assertClose(dilated, reference, 'dilated conv2d gradients');
      });
    }
  });
});
