import * as tf from '@tensorflow/tfjs';
import { type ArrayInput, randomInput } from './helpers';

/**
 * One op check: inputs as plain arrays and a computation that returns the
 * op's outputs followed by the gradients of a loss with respect to every
 * float input, so a backend comparison covers forward and backward kernels.
 */
export interface OpCase {
  name: string;
  inputs: ArrayInput[];
  compute: (...tensors: tf.Tensor[]) => tf.Tensor[];
  /** Error that tfjs-node raises for this case, when it does not support it. */
  nativeError?: RegExp;
}

/** Outputs of `forward`, then the gradients of sum(output²)/2 with respect to the inputs at `gradientInputs`. */
function withGradients(
  forward: (...tensors: tf.Tensor[]) => tf.Tensor,
  gradientInputs: number[],
): (...tensors: tf.Tensor[]) => tf.Tensor[] {
  return (...tensors) => {
    const output = forward(...tensors);
    const loss = (...differentiated: tf.Tensor[]): tf.Scalar => {
      const all = [...tensors];
      gradientInputs.forEach((position, index) => {
        all[position] = differentiated[index];
      });
      return tf.mul(tf.sum(tf.square(forward(...all))), 0.5) as tf.Scalar;
    };
    const gradients = tf.grads(loss)(gradientInputs.map((position) => tensors[position]));
    return [output, ...gradients];
  };
}

interface Conv2dCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  dilations?: number | [number, number];
}

/** Convolutions as the models use them: 3×3 and 7×7 stems, 1×1 projections, strides, dilation. */
export const CONV2D_CASES: Conv2dCase[] = [
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 5], strides: 2, pad: 'same' },
  { x: [2, 9, 9, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'valid' },
  { x: [1, 9, 10, 2], filter: [2, 3, 2, 3], strides: [2, 3], pad: 'valid' },
  { x: [1, 10, 11, 2], filter: [5, 5, 2, 3], strides: 3, pad: 'same' },
  { x: [2, 5, 5, 4], filter: [1, 1, 4, 2], strides: 1, pad: 'valid' },
  { x: [2, 6, 6, 4], filter: [1, 1, 4, 2], strides: 2, pad: 'same' },
  { x: [1, 16, 16, 3], filter: [7, 7, 3, 4], strides: 2, pad: 'same' },
  { x: [1, 6, 7, 2], filter: [3, 3, 2, 2], strides: 1, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [1, 9, 9, 2], filter: [3, 3, 2, 3], strides: 1, pad: 'same', dilations: 2 },
  { x: [1, 9, 8, 2], filter: [3, 3, 2, 2], strides: 1, pad: 'valid', dilations: [2, 1] },
  { x: [2, 12, 12, 2], filter: [3, 3, 2, 2], strides: 1, pad: 'same', dilations: 3 },
];

export function describeConv2dCase(testCase: Conv2dCase): string {
  const pad = typeof testCase.pad === 'string' ? testCase.pad : 'explicit';
  return `conv2d x[${testCase.x}] filter[${testCase.filter}] strides ${testCase.strides} ${pad} dilations ${testCase.dilations ?? 1}`;
}

function conv2dCase(testCase: Conv2dCase, seed: number): OpCase {
  return {
    name: describeConv2dCase(testCase),
    nativeError: typeof testCase.pad === 'string' ? undefined : /supports only 'valid' and 'same' padding/,
    inputs: [randomInput(testCase.x, seed), randomInput(testCase.filter, seed + 1)],
    compute: withGradients(
      (x, filter) => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, testCase.strides, testCase.pad, 'NHWC', testCase.dilations ?? 1),
      [0, 1],
    ),
  };
}

/**
 * Bilinear sampling of `image` [batch, height, width, channels] at pixel
 * coordinates `grid` [batch, outHeight, outWidth, 2] (x, y), built from gather
 * as a spatial transformer does; points outside the image clamp to its edge.
 */
export function bilinearSample(image: tf.Tensor4D, grid: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, height, width, channels] = image.shape;
    const [, outHeight, outWidth] = grid.shape;
    const x = tf.clipByValue(tf.squeeze(tf.slice(grid, [0, 0, 0, 0], [-1, -1, -1, 1]), [3]), 0, width - 1);
    const y = tf.clipByValue(tf.squeeze(tf.slice(grid, [0, 0, 0, 1], [-1, -1, -1, 1]), [3]), 0, height - 1);
    const x0 = tf.floor(x);
    const y0 = tf.floor(y);
    const x1 = tf.minimum(tf.add(x0, 1), width - 1);
    const y1 = tf.minimum(tf.add(y0, 1), height - 1);
    const weightX = tf.sub(x, x0);
    const weightY = tf.sub(y, y0);

    const flatImage = tf.reshape(image, [batch * height * width, channels]);
    const batchOffset = tf.reshape(tf.mul(tf.range(0, batch, 1, 'int32'), tf.scalar(height * width, 'int32')), [batch, 1, 1]);
    const pixel = (row: tf.Tensor, column: tf.Tensor): tf.Tensor =>
      tf.gather(flatImage, tf.add(batchOffset, tf.add(tf.mul(tf.cast(row, 'int32'), tf.scalar(width, 'int32')), tf.cast(column, 'int32'))));

    const top = tf.add(
      tf.mul(pixel(y0, x0), tf.expandDims(tf.sub(1, weightX), 3)),
      tf.mul(pixel(y0, x1), tf.expandDims(weightX, 3)),
    );
    const bottom = tf.add(
      tf.mul(pixel(y1, x0), tf.expandDims(tf.sub(1, weightX), 3)),
      tf.mul(pixel(y1, x1), tf.expandDims(weightX, 3)),
    );
    const sampled = tf.add(tf.mul(top, tf.expandDims(tf.sub(1, weightY), 3)), tf.mul(bottom, tf.expandDims(weightY, 3)));
    return tf.reshape(sampled, [batch, outHeight, outWidth, channels]);
  });
}

/** Sampling points spread over a 6×7 image and slightly past its edges, away from integer coordinates. */
function samplingGrid(): ArrayInput {
  const grid = randomInput([2, 4, 5, 2], 77);
  for (let i = 0; i < grid.values.length; i++) {
    const extent = i % 2 === 0 ? 7 : 6;
    grid.values[i] = (grid.values[i] + 1) * 0.5 * (extent + 0.6) - 0.8;
  }
  return grid;
}

/** Every op the sensor, alignment and hashing networks use, with gradients. */
export function modelOpCases(): OpCase[] {
  const cases: OpCase[] = CONV2D_CASES.map((testCase, index) => conv2dCase(testCase, 100 + 10 * index));

  cases.push(
    {
      name: 'matMul with bias',
      inputs: [randomInput([6, 7], 1), randomInput([7, 5], 2), randomInput([5], 3)],
      compute: withGradients((a, b, bias) => tf.add(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), bias), [0, 1, 2]),
    },
    {
      name: 'matMul transposed',
      inputs: [randomInput([7, 6], 4), randomInput([5, 7], 5)],
      compute: withGradients((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, true), [0, 1]),
    },
    {
      name: 'batchNorm with batch moments',
      inputs: [randomInput([4, 5, 5, 3], 6), randomInput([3], 7), randomInput([3], 8)],
      compute: withGradients((x, offset, scale) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        return tf.batchNorm(x as tf.Tensor4D, mean, variance, offset as tf.Tensor1D, scale as tf.Tensor1D, 1e-3);
      }, [0, 1, 2]),
    },
    {
      name: 'batchNorm with moving moments',
      inputs: [randomInput([2, 4, 4, 3], 9), randomInput([3], 10), randomInput([3], 11), randomInput([3], 12)],
      compute: withGradients(
        (x, mean, offset, scale) => tf.batchNorm(x as tf.Tensor4D, mean as tf.Tensor1D, tf.add(tf.square(mean), 0.5), offset as tf.Tensor1D, scale as tf.Tensor1D, 1e-3),
        [0, 2, 3],
      ),
    },
    {
      name: 'maxPool 3x3 stride 2 same',
      inputs: [randomInput([2, 9, 9, 3], 13)],
      compute: withGradients((x) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'), [0]),
    },
    {
      name: 'maxPool 2x2 stride 2 valid',
      inputs: [randomInput([2, 8, 7, 2], 14)],
      compute: withGradients((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), [0]),
    },
    {
      name: 'avgPool 3x3 stride 2 same',
      inputs: [randomInput([2, 9, 8, 3], 15)],
      compute: withGradients((x) => tf.avgPool(x as tf.Tensor4D, 3, 2, 'same'), [0]),
    },
    {
      name: 'avgPool 2x2 stride 1 valid',
      inputs: [randomInput([1, 6, 6, 2], 16)],
      compute: withGradients((x) => tf.avgPool(x as tf.Tensor4D, 2, 1, 'valid'), [0]),
    },
    {
      name: 'global average pool',
      inputs: [randomInput([2, 5, 6, 4], 17)],
      compute: withGradients((x) => tf.mean(x, [1, 2]), [0]),
    },
    {
      name: 'relu',
      inputs: [randomInput([3, 17], 18)],
      compute: withGradients((x) => tf.relu(x), [0]),
    },
    {
      name: 'step with NaN, zero and alpha',
      inputs: [{ shape: [6], values: Float32Array.from([Number.NaN, -2, -0, 0, 1e-30, 3]) }],
      compute: (x) => [tf.step(x), tf.step(x, 0.25)],
    },
    {
      name: 'sigmoid and tanh',
      inputs: [randomInput([3, 11], 19)],
      compute: withGradients((x) => tf.add(tf.sigmoid(x), tf.tanh(tf.mul(x, 2))), [0]),
    },
    {
      name: 'softmax cross-entropy',
      inputs: [randomInput([4, 6], 20), randomInput([4, 6], 21)],
      compute: (logits, targets) => {
        const labels = tf.softmax(tf.mul(targets, 3));
        const loss = (z: tf.Tensor): tf.Scalar => tf.losses.softmaxCrossEntropy(labels, z) as tf.Scalar;
        return [tf.softmax(logits), tf.logSoftmax(logits), loss(logits), tf.grad(loss)(logits)];
      },
    },
    {
      name: 'L2 normalize',
      inputs: [randomInput([5, 9], 22)],
      compute: withGradients((x) => {
        const norm = tf.sqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-12));
        return tf.mul(tf.div(x, norm), tf.range(1, 10));
      }, [0]),
    },
    {
      name: 'gather rows with repeats',
      inputs: [randomInput([6, 4], 23), { shape: [7], values: Int32Array.from([5, 0, 2, 2, 5, 1, 5]), dtype: 'int32' }],
      compute: withGradients((x, indices) => tf.gather(x, indices), [0]),
    },
    {
      name: 'gather along axis 1',
      inputs: [randomInput([3, 5, 2], 24), { shape: [2, 3], values: Int32Array.from([4, 0, 4, 1, 1, 3]), dtype: 'int32' }],
      compute: withGradients((x, indices) => tf.gather(x, indices, 1), [0]),
    },
    {
      name: 'bilinear sampling by gather',
      inputs: [randomInput([2, 6, 7, 3], 25), samplingGrid()],
      compute: withGradients((image, grid) => bilinearSample(image as tf.Tensor4D, grid as tf.Tensor4D), [0, 1]),
    },
    {
      name: 'resizeBilinear',
      inputs: [randomInput([2, 5, 6, 2], 26)],
      compute: withGradients((x) => tf.image.resizeBilinear(x as tf.Tensor4D, [9, 4]), [0]),
    },
    {
      name: 'resizeBilinear align corners',
      inputs: [randomInput([1, 4, 4, 3], 27)],
      compute: withGradients((x) => tf.image.resizeBilinear(x as tf.Tensor4D, [7, 7], true), [0]),
    },
  );
  return cases;
}
