import * as tf from '@tensorflow/tfjs';
import { IDENTITY_AFFINE } from '../alignment/affine';
import { FeatureCorrelation, FeatureL2Normalization, registerAlignmentLayers } from './alignment-layers';

export { FeatureCorrelation, FeatureL2Normalization, registerAlignmentLayers } from './alignment-layers';

/** One convolution of the regression network; padding is 'valid', as in CNNGeometric. */
export interface RegressionConvolution {
  kernelSizePx: number;
  filters: number;
}

/** Architecture of a CNNGeometric-style affine regressor. */
export interface AlignmentModelOptions {
  /** Side of the square input images in pixels. */
  inputSizePx: number;
  /** Channels of each input image; 1 for gray fingerprints. */
  inputChannels: number;
  /**
   * Filters of each 3×3 'same' ReLU convolution, grouped into VGG blocks.
   * Each block ends with a 2×2 max pool, so the feature maps have side
   * inputSizePx / 2^blocks.
   */
  featureBlocks: number[][];
  regression: RegressionConvolution[];
  /** Seed of the weight initializers. */
  seed: number;
}

/**
 * VGG-16 cut at pool4 on 240×240 input, giving 15×15×512 features and a
 * 15×15×225 correlation, then conv 7×7×128 and conv 5×5×64 (Rocco et al.,
 * CVPR 2017). It is trained from scratch on one gray channel, because no
 * ImageNet weights are loaded here.
 */
export const PAPER_ALIGNMENT_MODEL: Readonly<AlignmentModelOptions> = {
  inputSizePx: 240,
  inputChannels: 1,
  featureBlocks: [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512]],
  regression: [
    { kernelSizePx: 7, filters: 128 },
    { kernelSizePx: 5, filters: 64 },
  ],
  seed: 1,
};

/**
 * The same structure shrunk to train on a shared CPU in minutes: 64×64
 * input, three one-convolution blocks giving 8×8×64 features and an 8×8×64
 * correlation, then conv 5×5×32 and conv 3×3×16.
 */
export const CPU_ALIGNMENT_MODEL: Readonly<AlignmentModelOptions> = {
  inputSizePx: 64,
  inputChannels: 1,
  featureBlocks: [[16], [32], [64]],
  regression: [
    { kernelSizePx: 5, filters: 32 },
    { kernelSizePx: 3, filters: 16 },
  ],
  seed: 1,
};

export const ALIGNMENT_MODEL_PRESETS = { paper: PAPER_ALIGNMENT_MODEL, cpu: CPU_ALIGNMENT_MODEL } as const;

export type AlignmentModelPreset = keyof typeof ALIGNMENT_MODEL_PRESETS;

/** Side of the feature maps, and of the correlation, for the given options. */
export function featureMapSizePx(options: Pick<AlignmentModelOptions, 'inputSizePx' | 'featureBlocks'>): number {
  return options.inputSizePx / 2 ** options.featureBlocks.length;
}

function validateOptions(options: AlignmentModelOptions): void {
  if (!Number.isInteger(options.inputSizePx) || options.inputSizePx <= 0) {
    throw new RangeError(`expected inputSizePx to be a positive integer, but got ${options.inputSizePx}`);
  }
  if (!Number.isInteger(options.inputChannels) || options.inputChannels <= 0) {
    throw new RangeError(`expected inputChannels to be a positive integer, but got ${options.inputChannels}`);
  }
  if (options.featureBlocks.length === 0 || options.featureBlocks.some((block) => block.length === 0 || block.some((filters) => !Number.isInteger(filters) || filters <= 0))) {
    throw new RangeError(`expected featureBlocks to be non-empty blocks of positive filter counts, but got ${JSON.stringify(options.featureBlocks)}`);
  }
  const featureSize = featureMapSizePx(options);
  if (!Number.isInteger(featureSize)) {
    throw new RangeError(`expected inputSizePx ${options.inputSizePx} to be divisible by 2^${options.featureBlocks.length} (one 2×2 pool per feature block)`);
  }

  let regressionSize = featureSize;
  for (const convolution of options.regression) {
    regressionSize -= convolution.kernelSizePx - 1;
    if (!Number.isInteger(convolution.kernelSizePx) || convolution.kernelSizePx <= 0 || !Number.isInteger(convolution.filters) || convolution.filters <= 0) {
      throw new RangeError(`expected regression convolutions with positive integer kernelSizePx and filters, but got ${JSON.stringify(convolution)}`);
    }
  }
  if (regressionSize < 1) {
    throw new RangeError(
      `regression kernels ${options.regression.map((convolution) => convolution.kernelSizePx).join(', ')} do not fit the ${featureSize}×${featureSize} correlation map: their 'valid' convolutions need a map of at least ${featureSize - regressionSize + 1} pixels`,
    );
  }
}

/**
 * Builds the siamese geometric matcher: inputs `source` and `target`
 * [batch, inputSizePx, inputSizePx, inputChannels], output `theta`
 * [batch, 6], the AffineParameters that warp the source onto the target.
 * Both branches share one set of feature-extractor weights. The final dense
 * layer starts at the identity transform (zero kernel, identity bias), so an
 * untrained model predicts "no motion".
 */
export function buildAlignmentModel(options: AlignmentModelOptions): tf.LayersModel {
  validateOptions(options);
  registerAlignmentLayers();

  const { inputSizePx, inputChannels, seed } = options;
  const source = tf.input({ shape: [inputSizePx, inputSizePx, inputChannels], name: 'source' });
  const target = tf.input({ shape: [inputSizePx, inputSizePx, inputChannels], name: 'target' });

  // Shared feature extractor: each layer object is applied to both inputs.
  const featureLayers: tf.layers.Layer[] = [];
  let layerIndex = 0;
  options.featureBlocks.forEach((block, blockIndex) => {
    block.forEach((filters, convolutionIndex) => {
      featureLayers.push(
        tf.layers.conv2d({
          filters,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: tf.initializers.heNormal({ seed: seed + layerIndex++ }),
          name: `features_block${blockIndex + 1}_conv${convolutionIndex + 1}`,
        }),
      );
    });
    featureLayers.push(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `features_block${blockIndex + 1}_pool` }));
  });
  featureLayers.push(new FeatureL2Normalization({ name: 'features_l2_normalization' }));
  const extract = (image: tf.SymbolicTensor): tf.SymbolicTensor => featureLayers.reduce((features, layer) => layer.apply(features) as tf.SymbolicTensor, image);

  const correlation = new FeatureCorrelation({ name: 'correlation' }).apply([extract(source), extract(target)]) as tf.SymbolicTensor;
  let regression = tf.layers.reLU({ name: 'correlation_relu' }).apply(correlation) as tf.SymbolicTensor;
  regression = new FeatureL2Normalization({ name: 'correlation_l2_normalization' }).apply(regression) as tf.SymbolicTensor;

  options.regression.forEach((convolution, index) => {
    const name = `regression_conv${index + 1}`;
    regression = tf.layers
      .conv2d({ filters: convolution.filters, kernelSize: convolution.kernelSizePx, padding: 'valid', kernelInitializer: tf.initializers.heNormal({ seed: seed + 100 + index }), name })
      .apply(regression) as tf.SymbolicTensor;
    // Momentum 0.9 matches PyTorch's default (0.1 there) that CNNGeometric used; tfjs defaults to 0.99.
    regression = tf.layers.batchNormalization({ momentum: 0.9, name: `${name}_batch_norm` }).apply(regression) as tf.SymbolicTensor;
    regression = tf.layers.reLU({ name: `${name}_relu` }).apply(regression) as tf.SymbolicTensor;
  });

  const flattened = tf.layers.flatten({ name: 'regression_flatten' }).apply(regression) as tf.SymbolicTensor;
  const thetaLayer = tf.layers.dense({ units: 6, kernelInitializer: 'zeros', name: 'theta' });
  const theta = thetaLayer.apply(flattened) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [source, target], outputs: theta, name: 'alignment' });

  // getWeights returns the variables themselves, so only the new bias tensor is disposed.
  const [kernel] = thetaLayer.getWeights();
  const identityBias = tf.tensor1d([...IDENTITY_AFFINE]);
  thetaLayer.setWeights([kernel, identityBias]);
  identityBias.dispose();
  return model;
}
