import * as tf from '@tensorflow/tfjs';

/**
 * Differentiable affine warping in tfjs: grid generation and bilinear
 * sampling, as in a spatial transformer. Coordinates follow AffineParameters:
 * normalized, with -1 and +1 at the centres of the border pixels.
 */

/** Output size of a warp in pixels. */
export interface WarpSize {
  heightPx: number;
  widthPx: number;
}

function validateWarpSize(size: WarpSize): void {
  for (const [name, value] of [
    ['heightPx', size.heightPx],
    ['widthPx', size.widthPx],
  ] as const) {
    if (!Number.isInteger(value) || value < 2) {
      throw new RangeError(`expected ${name} to be an integer of at least 2, but got ${value}`);
    }
  }
}

/**
 * Returns the sampling grid [batch, heightPx, widthPx, 2] of source points
 * (x, y) for each output pixel, from transforms `theta` of shape [batch, 6]
 * in the order [a, b, tx, c, d, ty].
 */
export function affineGrid(theta: tf.Tensor2D, size: WarpSize): tf.Tensor4D {
  validateWarpSize(size);
  if (theta.rank !== 2 || theta.shape[1] !== 6) {
    throw new RangeError(`expected theta of shape [batch, 6], but got [${theta.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const { heightPx, widthPx } = size;
    const batch = theta.shape[0];
    const xs = tf.linspace(-1, 1, widthPx);
    const ys = tf.linspace(-1, 1, heightPx);

    // Homogeneous target points [x, y, 1] for every output pixel, row by row.
    const gridX = tf.tile(tf.reshape(xs, [1, widthPx]), [heightPx, 1]);
    const gridY = tf.tile(tf.reshape(ys, [heightPx, 1]), [1, widthPx]);
    const homogeneous = tf.stack([gridX, gridY, tf.onesLike(gridX)], 2).reshape([1, heightPx * widthPx, 3]);

    // [batch, 2, 3] · [batch, 3, HW] → [batch, 2, HW] → [batch, H, W, 2].
    const matrices = tf.reshape(theta, [batch, 2, 3]);
    const points = tf.matMul(matrices, tf.tile(homogeneous, [batch, 1, 1]), false, true);
    return tf.reshape(tf.transpose(points, [0, 2, 1]), [batch, heightPx, widthPx, 2]);
  });
}

/**
 * Samples `images` [batch, height, width, channels] at the normalized source
 * points of `grid` [batch, outHeight, outWidth, 2] with bilinear
 * interpolation. Each of the four neighbours that lies outside the image
 * contributes `fillValue`. Gradients flow to both the images and the grid.
 */
export function bilinearSample(images: tf.Tensor4D, grid: tf.Tensor4D, fillValue = 0): tf.Tensor4D {
  if (images.rank !== 4 || grid.rank !== 4 || grid.shape[3] !== 2) {
    throw new RangeError(`expected images [batch, height, width, channels] and grid [batch, outHeight, outWidth, 2], but got [${images.shape.join(', ')}] and [${grid.shape.join(', ')}]`);
  }
  if (images.shape[0] !== grid.shape[0]) {
    throw new RangeError(`expected images and grid to have the same batch size, but got ${images.shape[0]} and ${grid.shape[0]}`);
  }
  return tf.tidy(() => {
    const [batch, height, width, channels] = images.shape;
    const [, outHeight, outWidth] = grid.shape;
    
    const [gridX, gridY] = tf.split(grid, 2, 3);
    const x = tf.mul(tf.add(gridX, 1), (width - 1) / 2);
    const y = tf.mul(tf.add(gridY, 1), (height - 1) / 2);
    const x0 = tf.floor(x);
    const y0 = tf.floor(y);
    const weightX1 = tf.sub(x, x0);
    const weightY1 = tf.sub(y, y0);
    const weightX0 = tf.sub(1, weightX1);
    const weightY0 = tf.sub(1, weightY1);

    // Row offset of each batch item in the flattened images. Row indices are
    // computed in float32, which is exact up to 2^24 rows, and then cast.
    const rowLimit = 2 ** 24;
    if (batch * height * width > rowLimit) {
      throw new RangeError(`expected at most ${rowLimit} source pixels per call, but got ${batch}×${height}×${width}; split the batch`);
    }
    const batchOffset = tf.reshape(tf.mul(tf.range(0, batch, 1, 'float32'), height * width), [batch, 1, 1, 1]);

    // Gathers one corner's values. The corner positions come from floor(), so
    // they carry no gradient. A custom gradient keeps the tape off the integer
    // row indices, which tfjs cannot differentiate, and scatters the output
    // gradient back onto the image pixels as GatherV2's own gradient does.
    const sampleCorner = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [cornerX, cornerY, image] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      const cornerShape = cornerX.shape;
      const flatImages = tf.reshape(image, [batch * height * width, channels]);
      const inside = tf.logicalAnd(
        tf.logicalAnd(tf.greaterEqual(cornerX, 0), tf.lessEqual(cornerX, width - 1)),
        tf.logicalAnd(tf.greaterEqual(cornerY, 0), tf.lessEqual(cornerY, height - 1)),
      );
      const clampedX = tf.clipByValue(cornerX, 0, width - 1);
      const clampedY = tf.clipByValue(cornerY, 0, height - 1);
      const rows = tf.cast(tf.reshape(tf.add(batchOffset, tf.add(tf.mul(clampedY, width), clampedX)), [-1]), 'int32');
      const insideValues = tf.cast(inside, 'float32');
      const values = tf.reshape(tf.gather(flatImages, rows), [batch, outHeight, outWidth, channels]);
      const filled = tf.add(tf.mul(values, insideValues), tf.mul(tf.sub(1, insideValues), fillValue));
      save([rows, insideValues]);
      return {
        value: filled,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [savedRows, savedInside] = saved;
          const pixelGradient = tf.reshape(tf.mul(dy, savedInside), [-1, channels]);
          const imageGradient = tf.reshape(tf.unsortedSegmentSum(pixelGradient, savedRows as tf.Tensor1D, batch * height * width), images.shape);
          return [tf.zeros(cornerShape), tf.zeros(cornerShape), imageGradient];
        },
      };
    });

    const x1 = tf.add(x0, 1);
    const y1 = tf.add(y0, 1);
    const topLeft = tf.mul(sampleCorner(x0, y0, images), tf.mul(weightX0, weightY0));
    const topRight = tf.mul(sampleCorner(x1, y0, images), tf.mul(weightX1, weightY0));
    const bottomLeft = tf.mul(sampleCorner(x0, y1, images), tf.mul(weightX0, weightY1));
    const bottomRight = tf.mul(sampleCorner(x1, y1, images), tf.mul(weightX1, weightY1));
    return tf.addN([topLeft, topRight, bottomLeft, bottomRight]) as tf.Tensor4D;
  });
}

/**
 * Warps each source image with its transform into an output of the given
 * size (the input size by default). Pixels that map outside the source get
 * `fillValue`.
 */
export function warpAffine(images: tf.Tensor4D, theta: tf.Tensor2D, options: { size?: WarpSize; fillValue?: number } = {}): tf.Tensor4D {
  const size = options.size ?? { heightPx: images.shape[1], widthPx: images.shape[2] };
  return tf.tidy(() => bilinearSample(images, affineGrid(theta, size), options.fillValue ?? 0));
}
