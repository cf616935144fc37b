import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { strict as assert } from 'node:assert';
import {
  registerConv2dGradient,
  registerCpuKernelFixes,
  registerGatherGradient,
  registerNativeKernelFixes,
  registerWasmTrainingKernels,
} from '../../src/tensors';

/** Plain input data, so the same values can be built on every backend. */
export interface ArrayInput {
  shape: number[];
  values: Float32Array | Int32Array;
  dtype?: 'float32' | 'int32';
}

/** Deterministic pseudo-random values in [-1, 1) from a linear congruential generator. */
export function randomInput(shape: number[], seed: number): ArrayInput {
  const size = shape.reduce((product, dimension) => product * dimension, 1);
  const values = new Float32Array(size);
  let state = seed >>> 0;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state / 2 ** 31 - 1;
  }
  return { shape, values };
}

export function toTensor(input: ArrayInput): tf.Tensor {
  return tf.tensor(input.values, input.shape, input.dtype ?? 'float32');
}

/**
 * Runs `compute` on `backendName` with tensors built from `inputs` and returns
 * every output as a Float32Array; tensors made on the way are disposed.
 */
export async function runOnBackend(
  backendName: string,
  inputs: ArrayInput[],
  compute: (...tensors: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<{ shape: number[]; values: Float32Array }[]> {
  assert.ok(await tf.setBackend(backendName), `backend ${backendName} failed to start`);
  const tensors = inputs.map(toTensor);
  const outputs = tf.tidy(() => {
    const result = compute(...tensors);
    return Array.isArray(result) ? result : [result];
  });
  const arrays = outputs.map((output) => ({ shape: output.shape, values: Float32Array.from(output.dataSync()) }));
  tf.dispose([...tensors, ...outputs]);
  return arrays;
}

/**
 * Asserts that two results agree to `relativeTolerance` of the largest finite
 * magnitude in the expected values (NaN only where NaN is expected), and
 * names the first differing element.
 */
export function assertClose(
  actual: { shape: number[]; values: Float32Array }[],
  expected: { shape: number[]; values: Float32Array }[],
  label: string,
  relativeTolerance = 1e-4,
): void {
  assert.equal(actual.length, expected.length, `${label}: output count`);
  actual.forEach((output, index) => {
    assert.deepEqual(output.shape, expected[index].shape, `${label}: shape of output ${index}`);
    const scale = Math.max(1, ...expected[index].values.filter(Number.isFinite).map(Math.abs));
    for (let i = 0; i < output.values.length; i++) {
      if (Number.isNaN(expected[index].values[i])) {
        assert.ok(Number.isNaN(output.values[i]), `${label}: output ${index} element ${i} is ${output.values[i]}, expected NaN`);
        continue;
      }
      const difference = Math.abs(output.values[i] - expected[index].values[i]);
      if (!(difference <= relativeTolerance * scale)) {
        assert.fail(
          `${label}: output ${index} element ${i} is ${output.values[i]}, expected ${expected[index].values[i]} (tolerance ${relativeTolerance * scale})`,
        );
      }
    }
  });
}

/** Registers what initializeTensorBackend registers: wasm kernels, cpu fixes and gradients. */
export function installTrainingSupport(): void {
  registerWasmTrainingKernels();
  registerCpuKernelFixes();
  registerConv2dGradient();
  registerGatherGradient();
}

/**
 * Loads @tensorflow/tfjs-node, which also makes it the current backend.
 * Returns why it could not load, or undefined when it loaded.
 */
export function loadNativeBackend(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-node');
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
  registerNativeKernelFixes();
  return tf.findBackendFactory('tensorflow') === null ? 'the tensorflow backend is not registered' : undefined;
}
