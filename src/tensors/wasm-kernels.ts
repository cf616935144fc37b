import * as tf from '@tensorflow/tfjs';
import {
  conv2dFilterGradient,
  conv2dInputGradient,
  type Conv2dFilterGradientOptions,
  type Conv2dInputGradientOptions,
} from './conv2d-gradients';
import { poolingGradientKernels } from './pooling-gradients';

/**
 * Part of the wasm backend's API that the kernels below use. It matches
 * BackendWasm in @tensorflow/tfjs-backend-wasm 4.22.
 */
interface WasmBackendMemory {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.backend_util.TypedArray;
  incRef(dataId: tf.DataId): void;
}

/**
 * Returns a kernel input as a Tensor. Ops pass Tensors to kernels; a bare
 * TensorInfo (passed by another kernel) is wrapped without copying its data.
 * makeTensorFromTensorInfo does not raise the backend's reference count but
 * disposing the wrapper lowers it, so the count is raised here first.
 */
function asTensor<R extends tf.Rank>(info: tf.TensorInfo, backend: tf.KernelBackend): tf.Tensor<R> {
  if (info instanceof tf.Tensor) {
    return info as tf.Tensor<R>;
  }
  (backend as unknown as WasmBackendMemory).incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info, backend) as tf.Tensor<R>;
}

/**
 * Conv2DBackpropFilter for wasm, built from strided slices and matrix products
 * that the backend runs natively (see conv2dFilterGradient).
 */
const conv2dBackpropFilterKernel: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const options = attrs as unknown as Conv2dFilterGradientOptions;
    const wasmBackend = backend as tf.KernelBackend;
    return tf.tidy(() => conv2dFilterGradient(asTensor<tf.Rank.R4>(x, wasmBackend), asTensor<tf.Rank.R4>(dy, wasmBackend), options));
  },
};

/**
 * Conv2DBackpropInput for wasm as a forward convolution (see
 * conv2dInputGradient); it replaces the backend's slower loop kernel.
 */
const conv2dBackpropInputKernel: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const options = attrs as unknown as Conv2dInputGradientOptions;
    const wasmBackend = backend as tf.KernelBackend;
    return tf.tidy(() => conv2dInputGradient(asTensor<tf.Rank.R4>(dy, wasmBackend), asTensor<tf.Rank.R4>(filter, wasmBackend), options));
  },
};

/**
 * UnsortedSegmentSum for wasm, which the gather gradient needs (bilinear
 * sampling gathers pixels). It sums rows in JavaScript into the output on the
 * wasm heap, like the cpu backend's version. Negative ids are dropped, as
 * TensorFlow does, and so are ids ≥ numSegments, as the cpu backend does.
 */
const unsortedSegmentSumKernel: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const { numSegments } = attrs as unknown as { numSegments: number };
    const memory = backend as unknown as WasmBackendMemory;

    const segmentRank = segmentIds.shape.length;
    const innerShape = x.shape.slice(segmentRank);
    const innerSize = innerShape.reduce((product, size) => product * size, 1);
    const values = memory.readSync(x.dataId) as tf.backend_util.TypedArray;
    const ids = memory.readSync(segmentIds.dataId) as tf.backend_util.TypedArray;

    const output = memory.makeOutput([numSegments, ...innerShape], x.dtype);
    const sums = memory.typedArrayFromHeap(output);
    sums.fill(0);
    for (let row = 0; row < ids.length; row++) {
      const segment = ids[row];
      if (segment < 0 || segment >= numSegments) {
        continue;
      }
      const source = row * innerSize;
      const target = segment * innerSize;
      for (let k = 0; k < innerSize; k++) {
        sums[target + k] += values[source + k];
      }
    }
    return output;
  },
};

/** Kernels that training needs and @tensorflow/tfjs-backend-wasm 4.22 lacks. */
export const wasmMissingKernels: readonly tf.KernelConfig[] = [conv2dBackpropFilterKernel, unsortedSegmentSumKernel];

/** Kernels that replace incorrect or slow ones of @tensorflow/tfjs-backend-wasm 4.22. */
export const wasmReplacementKernels: readonly tf.KernelConfig[] = [
  conv2dBackpropInputKernel,
  ...poolingGradientKernels.filter((kernel) => kernel.backendName === 'wasm'),
];

/**
 * Registers the wasm kernels that training needs: each of
 * {@link wasmMissingKernels} unless the installed backend already has it (so
 * a later release's own kernel wins), and {@link wasmReplacementKernels} in
 * place of the backend's own. Call it after @tensorflow/tfjs-backend-wasm
 * is loaded, because loading it registers the backend's own kernels again.
 * Returns the names it registered; a second call registers nothing new.
 */
export function registerWasmTrainingKernels(): string[] {
  const registered: string[] = [];
  for (const kernel of wasmMissingKernels) {
    if (tf.getKernel(kernel.kernelName, 'wasm') === undefined) {
      tf.registerKernel(kernel);
      registered.push(kernel.kernelName);
    }
  }
  for (const kernel of wasmReplacementKernels) {
    const current = tf.getKernel(kernel.kernelName, 'wasm');
    if (current !== kernel) {
      if (current !== undefined) {
        tf.unregisterKernel(kernel.kernelName, 'wasm');
      }
      tf.registerKernel(kernel);
      registered.push(kernel.kernelName);
    }
  }
  return registered;
}
