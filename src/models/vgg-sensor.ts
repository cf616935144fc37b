import * as tf from '@tensorflow/tfjs';
import { SeededInitializers, resolveSensorModelOptions, scaledFilters, type SensorModelOptions } from './options';
import { SeededDropout } from './seeded-dropout';

/**
 * Convolution blocks of VGG-19 (Simonyan and Zisserman, 2014, configuration
 * E): filters per 3×3 convolution and convolutions per block. The shallow
 * sensor network keeps blocks 1–4 and drops block 5.
 */
export const VGG19_BLOCKS: ReadonlyArray<{ filters: number; convolutions: number }> = [
  { filters: 64, convolutions: 2 },
  { filters: 128, convolutions: 2 },
  { filters: 256, convolutions: 4 },
  { filters: 512, convolutions: 4 },
  { filters: 512, convolutions: 4 },
];

export interface ShallowSensorModelOptions extends SensorModelOptions {
  /** Dropout rate before the classifier; 0.5 by default. */
  dropoutRate?: number;
  /**
   * Initializer of the convolution kernels: `glorot-uniform` (the Keras
   * default, used when unset) or `he-normal` (He et al., 2015). Without
   * batch normalization, Glorot's variance halves the activations' variance
   * at every ReLU convolution, which can leave a narrow twelve-layer stack
   * outputting a uniform softmax from the start.
   */
  convolutionInitializer?: ConvolutionInitializer;
}

export type ConvolutionInitializer = 'glorot-uniform' | 'he-normal';

/**
 * Builds the shallow sensor classifier: VGG-19 without block 5, that is
 * blocks 1–4 (twelve 3×3 ReLU convolutions, each block closed by a 2×2
 * max-pool), then flatten, dropout and a softmax dense layer over the
 * sensors. Layer names follow Keras' VGG19 (`block1_conv1` …) so weights
 * can be mapped across. The input side must be at least 16 pixels, because
 * four pools halve it four times.
 */
export function buildShallowSensorModel(options: ShallowSensorModelOptions): tf.LayersModel {
  const resolved = resolveSensorModelOptions(options, 16);
  const dropoutRate = options.dropoutRate ?? 0.5;
  const initializers = new SeededInitializers(resolved.seed);

  const input = tf.input({ shape: [resolved.inputSizePx, resolved.inputSizePx, resolved.channels], name: 'image' });
  let x: tf.SymbolicTensor = input;
  VGG19_BLOCKS.slice(0, 4).forEach((block, blockIndex) => {
    for (let convolution = 1; convolution <= block.convolutions; convolution++) {
      x = tf.layers
        .conv2d({
          filters: scaledFilters(block.filters, resolved.widthMultiplier),
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: options.convolutionInitializer === 'he-normal' ? initializers.heNormal() : initializers.glorotUniform(),
          name: `block${blockIndex + 1}_conv${convolution}`,
        })
        .apply(x) as tf.SymbolicTensor;
    }
    x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${blockIndex + 1}_pool` }).apply(x) as tf.SymbolicTensor;
  });

  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = new SeededDropout({ rate: dropoutRate, seed: resolved.seed, name: 'dropout' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({ units: resolved.numSensors, activation: 'softmax', kernelInitializer: initializers.glorotUniform(), name: 'predictions' })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'sensor_shallow_vgg19' });
}
