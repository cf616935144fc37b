import * as tf from '@tensorflow/tfjs';
import { strict as assert } from 'node:assert';
import { UserInputError } from '../../src/config/errors';
import { initializeTensorBackend, tensorBackendRunParameters } from '../../src/tensors';

describe('initializeTensorBackend', function () {
  let previousBackend: string | undefined;

  before(function () {
    previousBackend = tf.getBackend();
  });

  after(async function () {
    if (previousBackend !== undefined) {
      await tf.setBackend(previousBackend);
    }
  });

  it('starts the requested cpu backend', async function () {
    const info = await initializeTensorBackend({ backend: 'cpu', env: {} });
    assert.equal(info.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal(info.threads, 1);
    assert.equal(info.version, tf.version_core);
    assert.deepEqual(info.skipped, []);
  });

  it('starts wasm on one thread', async function () {
    const info = await initializeTensorBackend({ backend: 'wasm', threads: 2, env: {} });
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(info.threads, 1);
    assert.match(info.version, /^\d+\.\d+\.\d+$/);
  });

  it('lets WHORL_TENSOR_BACKEND override the config', async function () {
    const info = await initializeTensorBackend({ backend: 'wasm', env: { WHORL_TENSOR_BACKEND: 'cpu' } });
    assert.equal(info.name, 'cpu');
  });

  it('rejects an unknown backend name', async function () {
    await assert.rejects(
      initializeTensorBackend({ env: { WHORL_TENSOR_BACKEND: 'webgl' } }),
      (error: Error) =>
        error instanceof UserInputError &&
        /invalid WHORL_TENSOR_BACKEND "webgl": expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu/.test(error.message),
    );
  });

  const invalidThreads = [
    { env: { WHORL_TENSOR_THREADS: '0' }, threads: undefined, message: /invalid WHORL_TENSOR_THREADS "0"/ },
    { env: { WHORL_TENSOR_THREADS: 'two' }, threads: undefined, message: /invalid WHORL_TENSOR_THREADS "two"/ },
    { env: {}, threads: 1.5, message: /invalid tensors.threads 1.5/ },
  ];
  for (const testCase of invalidThreads) {
    it(`rejects threads ${JSON.stringify(testCase.env.WHORL_TENSOR_THREADS ?? testCase.threads)}`, async function () {
      await assert.rejects(
        initializeTensorBackend({ backend: 'cpu', threads: testCase.threads, env: testCase.env }),
        (error: Error) => error instanceof UserInputError && testCase.message.test(error.message),
      );
    });
  }

  it('explains an unavailable GPU package', async function () {
    await assert.rejects(initializeTensorBackend({ backend: 'tensorflow-gpu', env: {} }), (error: Error) => {
      assert.ok(error instanceof UserInputError, error.name);
      assert.ok(error.message.includes('tensor backend "tensorflow-gpu" is not available'), error.message);
      // Which reason applies depends on whether an earlier test in this process already loaded tfjs-node.
      const reasons = ['@tensorflow/tfjs-node-gpu is not installed', '@tensorflow/tfjs-node is already loaded in this process'];
      assert.ok(reasons.some((reason) => error.message.includes(reason)), error.message);
      return true;
    });
  });

  it('auto picks the fastest backend that starts', async function () {
    const info = await initializeTensorBackend({ env: {} });
    assert.equal(info.skipped[0]?.name, 'tensorflow-gpu', 'the GPU package is tried first');
    assert.ok(['tensorflow', 'wasm'].includes(info.name), `expected tensorflow or wasm, got ${info.name}`);
    assert.equal(tf.getBackend(), info.tfjsBackend);
    if (info.name === 'tensorflow') {
      assert.match(info.version, /^2\.\d+\.\d+/, 'the native backend reports the libtensorflow version');
    }
  });

  it('formats run parameters', function () {
    const parameters = tensorBackendRunParameters({
      name: 'tensorflow',
      tfjsBackend: 'tensorflow',
      threads: 2,
      version: '2.21.0',
      gpuDevice: false,
      skipped: [],
    });
    assert.deepEqual(parameters, { 'tensors.backend': 'tensorflow', 'tensors.threads': '2', 'tensors.version': '2.21.0' });
  });
});
