import * as tf from '@tensorflow/tfjs';

/** Backend methods the pooling gradient kernels use to read inputs and write their output. */
interface BackendMemory {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  /** cpu backend. */
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  /** wasm backend. */
  makeOutput?(shape: number[], dtype: tf.DataType, memoryOffset: undefined, values: Float32Array): tf.TensorInfo;
}

function writeOutput(backend: BackendMemory, shape: number[], values: Float32Array): tf.TensorInfo {
  if (backend.makeTensorInfo !== undefined) {
    return backend.makeTensorInfo(shape, 'float32', values);
  }
  if (backend.makeOutput !== undefined) {
    return backend.makeOutput(shape, 'float32', undefined, values);
  }
  throw new Error('pooling gradient kernels support only the cpu and wasm backends');
}

interface PoolingAttributes {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function poolInfo(inputShape: number[], attributes: PoolingAttributes): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attributes;
  return tf.backend_util.computePool2DInfo(inputShape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
}

/** Window of output position (oh, ow) clipped to the input: rows [rowStart, rowEnd) and columns [columnStart, columnEnd). */
function windowBounds(info: tf.backend_util.Conv2DInfo, oh: number, ow: number): [number, number, number, number] {
  const rowOrigin = oh * info.strideHeight - info.padInfo.top;
  const columnOrigin = ow * info.strideWidth - info.padInfo.left;
  return [
    Math.max(0, rowOrigin),
    Math.min(info.inHeight, rowOrigin + info.filterHeight),
    Math.max(0, columnOrigin),
    Math.min(info.inWidth, columnOrigin + info.filterWidth),
  ];
}

/**
 * Computes the gradient of max pooling. Each output gradient goes to the
 * first maximum of its window in row-major order, as in the cpu backend, and
 * padding cells never count as a maximum.
 */
export function maxPoolBackprop(input: Float32Array, outputGradient: Float32Array, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const inputGradient = new Float32Array(input.length);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const [rowStart, rowEnd, columnStart, columnEnd] = windowBounds(info, oh, ow);
        for (let c = 0; c < inChannels; c++) {
          let maxIndex = -1;
          for (let row = rowStart; row < rowEnd; row++) {
            for (let column = columnStart; column < columnEnd; column++) {
              const index = ((b * inHeight + row) * inWidth + column) * inChannels + c;
              if (maxIndex === -1 || input[index] > input[maxIndex]) {
                maxIndex = index;
              }
            }
          }
          if (maxIndex >= 0) {
            inputGradient[maxIndex] += outputGradient[((b * outHeight + oh) * outWidth + ow) * inChannels + c];
          }
        }
      }
    }
  }
  return inputGradient;
}

/**
 * Computes the gradient of average pooling. The forward pass averages over
 * the window's cells inside the input only (padding is not counted), so each
 * output gradient is shared equally among those cells.
 */
export function avgPoolBackprop(outputGradient: Float32Array, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const inputGradient = new Float32Array(batchSize * inHeight * inWidth * inChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const [rowStart, rowEnd, columnStart, columnEnd] = windowBounds(info, oh, ow);
        const count = (rowEnd - rowStart) * (columnEnd - columnStart);
        if (count <= 0) {
          continue;
        }
        const outputOffset = ((b * outHeight + oh) * outWidth + ow) * inChannels;
        for (let row = rowStart; row < rowEnd; row++) {
          for (let column = columnStart; column < columnEnd; column++) {
            const inputOffset = ((b * inHeight + row) * inWidth + column) * inChannels;
            for (let c = 0; c < inChannels; c++) {
              inputGradient[inputOffset + c] += outputGradient[outputOffset + c] / count;
            }
          }
        }
      }
    }
  }
  return inputGradient;
}

function maxPoolGradKernel(backendName: string): tf.KernelConfig {
  return {
    kernelName: tf.MaxPoolGrad,
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const memory = backend as BackendMemory;
      const info = poolInfo(input.shape, attrs as unknown as PoolingAttributes);
      const inputValues = memory.readSync(input.dataId) as Float32Array;
      const outputGradient = memory.readSync(dy.dataId) as Float32Array;
      return writeOutput(memory, input.shape, maxPoolBackprop(inputValues, outputGradient, info));
    },
  };
}

function avgPoolGradKernel(backendName: string): tf.KernelConfig {
  return {
    kernelName: tf.AvgPoolGrad,
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const memory = backend as BackendMemory;
      const info = poolInfo(input.shape, attrs as unknown as PoolingAttributes);
      const outputGradient = memory.readSync(dy.dataId) as Float32Array;
      return writeOutput(memory, input.shape, avgPoolBackprop(outputGradient, info));
    },
  };
}

/**
 * Pooling gradient kernels that replace incorrect ones in tfjs 4.22, checked
 * against TensorFlow 2.21 and finite differences:
 * - wasm MaxPoolGrad sends gradients to the wrong cells (a 1×4×4×1 input with
 *   a 2×2 window and stride 2 shows it);
 * - wasm and cpu AvgPoolGrad divide by the full window size at 'same'
 *   padding, where the forward pass divides by the cells inside the input.
 */
export const poolingGradientKernels: readonly tf.KernelConfig[] = [
  maxPoolGradKernel('wasm'),
  avgPoolGradKernel('wasm'),
  avgPoolGradKernel('cpu'),
];
