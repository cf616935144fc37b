import * as tf from '@tensorflow/tfjs';

/** Attributes of the Conv2D and Conv2DBackpropFilter kernels as tfjs passes them. */
export interface Conv2dFilterGradientOptions {
  /** Filter shape [filterHeight, filterWidth, inChannels, outChannels]. */
  filterShape: [number, number, number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Computes the conv2d filter gradient dL/dW from the input `x` and the output
 * gradient `dy` as one forward convolution, so it runs on any backend with a
 * fast Conv2D kernel (the wasm backend has no Conv2DBackpropFilter kernel).
 *
 *   dW[kh, kw, ci, co] = Σ_{b, oh, ow} xPadded[b, kh + oh·sh, kw + ow·sw, ci] · dy[b, oh, ow, co]
 *
 * is a 'valid' convolution of xPadded with the batch and channel axes
 * swapped ([inChannels, height, width, batch]) by dy used as the filter
 * ([outHeight, outWidth, batch, outChannels]) at dilation (sh, sw). On the
 * wasm backend this takes about half the time of one matrix product per tap.
 * Dilation is not an attribute of this kernel: the Conv2D gradient below
 * handles dilation by calling it with the dilated filter shape.
 */
export function conv2dFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, options: Conv2dFilterGradientOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const channelsFirst = options.dataFormat === 'NCHW';
    const input = channelsFirst ? tf.transpose(x, [0, 2, 3, 1]) : x;
    const outputGradient = channelsFirst ? tf.transpose(dy, [0, 2, 3, 1]) : dy;

    const info = tf.backend_util.computeConv2DInfo(
      input.shape,
      options.filterShape,
      options.strides,
      1,
      options.pad,
      options.dimRoundingMode,
      false,
      'channelsLast',
    );
    const { batchSize, inHeight, inWidth, inChannels, outChannels, outHeight, outWidth } = info;
    const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
    if (outputGradient.shape[1] !== outHeight || outputGradient.shape[2] !== outWidth || outputGradient.shape[3] !== outChannels) {
      throw new Error(
        `invalid dy shape [${outputGradient.shape.join(', ')}] for conv2d filter gradient: expected [${batchSize}, ${outHeight}, ${outWidth}, ${outChannels}]`,
      );
    }

    // Rows and columns the filter taps reach, counted from the top-left
    // padding. The padded input is cut to exactly this span, so the
    // convolution yields filterHeight × filterWidth outputs; 'ceil' rounding
    // can reach past the padding that computeConv2DInfo reports.
    const spanHeight = filterHeight + (outHeight - 1) * strideHeight;
    const spanWidth = filterWidth + (outWidth - 1) * strideWidth;
    const padBottom = Math.max(0, spanHeight - inHeight - padInfo.top);
    const padRight = Math.max(0, spanWidth - inWidth - padInfo.left);
    const padded = tf.pad(input, [
      [0, 0],
      [padInfo.top, padBottom],
      [padInfo.left, padRight],
      [0, 0],
    ]);
    const span = tf.slice(padded, [0, 0, 0, 0], [batchSize, spanHeight, spanWidth, inChannels]);

    const channelsAsBatch = tf.transpose(span, [3, 1, 2, 0]) as tf.Tensor4D;
    const gradientAsFilter = tf.transpose(outputGradient, [1, 2, 0, 3]) as tf.Tensor4D;
    const dilations: [number, number] = [strideHeight, strideWidth];
    const gradient = tf.conv2d(channelsAsBatch, gradientAsFilter, 1, 'valid', 'NHWC', dilations);
    return tf.transpose(gradient, [1, 2, 0, 3]);
  });
}

/** Attributes of the Conv2DBackpropInput kernel as tfjs passes them. */
export interface Conv2dInputGradientOptions {
  /** Input shape [batch, height, width, inChannels], or [batch, inChannels, height, width] for NCHW. */
  inputShape: [number, number, number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Computes the conv2d input gradient dL/dx as a stride-1 'valid' forward
 * convolution, which the wasm backend runs through XNNPACK; its own
 * Conv2DBackpropInput kernel is a plain loop, about 6x slower than its
 * forward convolution on a 32×32×32×16 batch.
 *
 * With dy spread to stride spacing (zeros between rows and columns) and
 * padded by filterSize - 1 - padBefore, the input gradient is the correlation
 * of that with the filter rotated by 180° and its channel axes swapped.
 */
export function conv2dInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, options: Conv2dInputGradientOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const channelsFirst = options.dataFormat === 'NCHW';
    const [batchSize, inHeight, inWidth, inChannels] = channelsFirst
      ? [options.inputShape[0], options.inputShape[2], options.inputShape[3], options.inputShape[1]]
      : options.inputShape;
    const outputGradient = channelsFirst ? tf.transpose(dy, [0, 2, 3, 1]) : dy;
    const info = tf.backend_util.computeConv2DInfo(
      [batchSize, inHeight, inWidth, inChannels],
      filter.shape,
      options.strides,
      1,
      options.pad,
      options.dimRoundingMode,
      false,
      'channelsLast',
    );
    const { outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;

    // Spread dy so that output row oh sits at row oh·strideHeight.
    const spreadHeight = (outHeight - 1) * strideHeight + 1;
    const spreadWidth = (outWidth - 1) * strideWidth + 1;
    let spread: tf.Tensor4D = outputGradient;
    if (strideHeight > 1 || strideWidth > 1) {
      const grid = tf.pad(tf.reshape(outputGradient, [batchSize, outHeight, 1, outWidth, 1, outChannels]), [
        [0, 0],
        [0, 0],
        [0, strideHeight - 1],
        [0, 0],
        [0, strideWidth - 1],
        [0, 0],
      ]);
      const full = tf.reshape(grid, [batchSize, outHeight * strideHeight, outWidth * strideWidth, outChannels]) as tf.Tensor4D;
      spread = tf.slice(full, [0, 0, 0, 0], [batchSize, spreadHeight, spreadWidth, outChannels]);
    }

    // Pad (or crop, when a side's padding exceeds filterSize - 1) so that a
    // 'valid' correlation yields exactly inHeight × inWidth.
    const before = [filterHeight - 1 - padInfo.top, filterWidth - 1 - padInfo.left];
    const after = [inHeight + filterHeight - 1 - before[0] - spreadHeight, inWidth + filterWidth - 1 - before[1] - spreadWidth];
    const padded = tf.pad(spread, [
      [0, 0],
      [Math.max(0, before[0]), Math.max(0, after[0])],
      [Math.max(0, before[1]), Math.max(0, after[1])],
      [0, 0],
    ]);
    const cropped = tf.slice(
      padded,
      [0, Math.max(0, -before[0]), Math.max(0, -before[1]), 0],
      [batchSize, inHeight + filterHeight - 1, inWidth + filterWidth - 1, outChannels],
    );

    const rotatedFilter = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const inputGradient = tf.conv2d(cropped, rotatedFilter, 1, 'valid');
    return channelsFirst ? tf.transpose(inputGradient, [0, 3, 1, 2]) : inputGradient;
  });
}

/**
 * Spreads a filter [h, w, in, out] to its dilated form
 * [(h - 1)·dh + 1, (w - 1)·dw + 1, in, out] with zeros between the taps.
 */
export function dilateFilter(filter: tf.Tensor4D, dilationHeight: number, dilationWidth: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [height, width, inChannels, outChannels] = filter.shape;
    const spread = tf.pad(tf.reshape(filter, [height, 1, width, 1, inChannels, outChannels]), [
      [0, 0],
      [0, dilationHeight - 1],
      [0, 0],
      [0, dilationWidth - 1],
      [0, 0],
      [0, 0],
    ]);
    const dilatedHeight = (height - 1) * dilationHeight + 1;
    const dilatedWidth = (width - 1) * dilationWidth + 1;
    const grid = tf.reshape(spread, [height * dilationHeight, width * dilationWidth, inChannels, outChannels]);
    return tf.slice(grid as tf.Tensor4D, [0, 0, 0, 0], [dilatedHeight, dilatedWidth, inChannels, outChannels]);
  });
}

interface Conv2dAttributes {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function pair(value: number | [number, number]): [number, number] {
  return typeof value === 'number' ? [value, value] : value;
}

function backpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  attributes: Conv2dAttributes,
): tf.Tensor4D {
  const { strides, pad, dataFormat, dimRoundingMode } = attributes;
  const kernelAttributes = { strides, pad, dataFormat, dimRoundingMode, inputShape };
  return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, kernelAttributes as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

function backpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attributes: Conv2dAttributes,
): tf.Tensor4D {
  const { strides, pad, dataFormat, dimRoundingMode } = attributes;
  const kernelAttributes = { strides, pad, dataFormat, dimRoundingMode, filterShape };
  return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, kernelAttributes as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * Gradient of the Conv2D kernel that also covers dilation rates above 1, which
 * the gradient shipped with tfjs-core 4.22 rejects. A convolution with
 * dilation d equals a convolution with the dilated filter, so the input
 * gradient is the backprop-input of the dilated filter, and the filter
 * gradient is the dilated filter's gradient sampled at every d-th tap. tfjs
 * allows dilation only with stride 1, so no stride needs handling here.
 */
export const conv2dGradientConfig: tf.GradConfig = {
  kernelName: tf.Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attributes) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const conv2dAttributes = attributes as unknown as Conv2dAttributes;
    const [dilationHeight, dilationWidth] = pair(conv2dAttributes.dilations ?? 1);
    const outputGradient = dy as tf.Tensor4D;

    if (dilationHeight === 1 && dilationWidth === 1) {
      return {
        x: () => backpropInput(outputGradient, filter, x.shape, conv2dAttributes),
        filter: () => backpropFilter(x, outputGradient, filter.shape, conv2dAttributes),
      };
    }

    return {
      x: () => backpropInput(outputGradient, dilateFilter(filter, dilationHeight, dilationWidth), x.shape, conv2dAttributes),
      filter: () =>
        tf.tidy(() => {
          const [height, width, inChannels, outChannels] = filter.shape;
          const dilatedShape: [number, number, number, number] = [
            (height - 1) * dilationHeight + 1,
            (width - 1) * dilationWidth + 1,
            inChannels,
            outChannels,
          ];
          const dilatedGradient = backpropFilter(x, outputGradient, dilatedShape, conv2dAttributes);
          return tf.stridedSlice(dilatedGradient, [0, 0, 0, 0], dilatedShape, [dilationHeight, dilationWidth, 1, 1]);
        }),
    };
  },
};

/**
 * Replaces the Conv2D gradient of tfjs-core with {@link conv2dGradientConfig}
 * for every backend. Calling it again has no further effect.
 */
export function registerConv2dGradient(): void {
  tf.registerGradient(conv2dGradientConfig);
}
