import * as tf from '@tensorflow/tfjs';
import { SeededInitializers, resolveSensorModelOptions, scaledFilters, type SensorModelOptions } from './options';

/**
 * Stages of ResNet50 (He et al., 2015, v1 as in Keras' ResNet50): bottleneck
 * filters, block count and the stride of the first block. Stage 5 (conv5_x,
 * 7×7 maps at 224 pixels) exists only for the parameter derivation in tests;
 * the deep sensor network stops after stage 4.
 */
export const RESNET50_STAGES: ReadonlyArray<{ stage: number; filters: [number, number, number]; blocks: number; stride: number }> = [
  { stage: 2, filters: [64, 64, 256], blocks: 3, stride: 1 },
  { stage: 3, filters: [128, 128, 512], blocks: 4, stride: 2 },
  { stage: 4, filters: [256, 256, 1024], blocks: 6, stride: 2 },
  { stage: 5, filters: [512, 512, 2048], blocks: 3, stride: 2 },
];

/** Keras' ResNet50 batch-normalization epsilon. */
const BATCH_NORM_EPSILON = 1.001e-5;

interface BlockContext {
  initializers: SeededInitializers;
  widthMultiplier: number;
  batchNormMomentum: number;
}

function convBatchNorm(
  x: tf.SymbolicTensor,
  context: BlockContext,
  options: { filters: number; kernelSize: number; strides?: number; padding?: 'same' | 'valid'; name: string; relu: boolean },
): tf.SymbolicTensor {
  let y = tf.layers
    .conv2d({
      filters: scaledFilters(options.filters, context.widthMultiplier),
      kernelSize: options.kernelSize,
      strides: options.strides ?? 1,
      padding: options.padding ?? 'valid',
      kernelInitializer: context.initializers.glorotUniform(),
      name: `${options.name}_conv`,
    })
    .apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ axis: 3, epsilon: BATCH_NORM_EPSILON, momentum: context.batchNormMomentum, name: `${options.name}_bn` }).apply(y) as tf.SymbolicTensor;
  return options.relu ? (tf.layers.activation({ activation: 'relu', name: `${options.name}_relu` }).apply(y) as tf.SymbolicTensor) : y;
}

/**
 * One bottleneck block: 1×1 reduce, 3×3, 1×1 expand, added to the shortcut.
 * The first block of a stage projects the shortcut with a 1×1 convolution and
 * carries the stage's stride on its first 1×1 convolution, as Keras' v1 does.
 */
function bottleneckBlock(
  x: tf.SymbolicTensor,
  context: BlockContext,
  options: { filters: [number, number, number]; stride: number; project: boolean; name: string },
): tf.SymbolicTensor {
  const [reduce, middle, expand] = options.filters;
  const shortcut = options.project
    ? convBatchNorm(x, context, { filters: expand, kernelSize: 1, strides: options.stride, name: `${options.name}_0`, relu: false })
    : x;

  let y = convBatchNorm(x, context, { filters: reduce, kernelSize: 1, strides: options.stride, name: `${options.name}_1`, relu: true });
  y = convBatchNorm(y, context, { filters: middle, kernelSize: 3, padding: 'same', name: `${options.name}_2`, relu: true });
  y = convBatchNorm(y, context, { filters: expand, kernelSize: 1, name: `${options.name}_3`, relu: false });

  const sum = tf.layers.add({ name: `${options.name}_add` }).apply([shortcut, y]) as tf.SymbolicTensor;
  return tf.layers.activation({ activation: 'relu', name: `${options.name}_out` }).apply(sum) as tf.SymbolicTensor;
}

export interface DeepSensorModelOptions extends SensorModelOptions {
  /**
   * Keeps stage 5, giving the full ResNet50 body. Only for checking the
   * parameter derivation against the published ResNet50 count.
   */
  includeStage5?: boolean;
  /**
   * Momentum of the batch-normalization moving statistics; 0.99 by default,
   * as in Keras. Short CPU runs of a few dozen steps need a lower value such
   * as 0.9, or the statistics used at inference stay near their initial values.
   */
  batchNormMomentum?: number;
}

/**
 * Builds the deep sensor classifier: ResNet50 without its last stage
 * (conv5_x), that is the 7×7 stride-2 stem with max-pool and stages 2–4
 * (3, 4 and 6 bottleneck blocks), then global average pooling and a softmax
 * dense layer over the sensors. Layer names follow Keras' ResNet50
 * (`conv2_block1_1_conv` …). The input side must be at least 32 pixels.
 */
export function buildDeepSensorModel(options: DeepSensorModelOptions): tf.LayersModel {
  const resolved = resolveSensorModelOptions(options, 32);
  const batchNormMomentum = options.batchNormMomentum ?? 0.99;
  if (!(batchNormMomentum >= 0 && batchNormMomentum < 1)) {
    throw new Error(`invalid batchNormMomentum: expected a number in [0, 1), but got ${batchNormMomentum}`);
  }
  const context: BlockContext = { initializers: new SeededInitializers(resolved.seed), widthMultiplier: resolved.widthMultiplier, batchNormMomentum };

  const input = tf.input({ shape: [resolved.inputSizePx, resolved.inputSizePx, resolved.channels], name: 'image' });
  let x = tf.layers.zeroPadding2d({ padding: 3, name: 'conv1_pad' }).apply(input) as tf.SymbolicTensor;
  x = convBatchNorm(x, context, { filters: 64, kernelSize: 7, strides: 2, name: 'conv1', relu: true });
  x = tf.layers.zeroPadding2d({ padding: 1, name: 'pool1_pad' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }).apply(x) as tf.SymbolicTensor;

  const stages = options.includeStage5 === true ? RESNET50_STAGES : RESNET50_STAGES.filter((stage) => stage.stage !== 5);
  for (const stage of stages) {
    for (let block = 1; block <= stage.blocks; block++) {
      x = bottleneckBlock(x, context, {
        filters: stage.filters,
        stride: block === 1 ? stage.stride : 1,
        project: block === 1,
        name: `conv${stage.stage}_block${block}`,
      });
    }
  }

  x = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({ units: resolved.numSensors, activation: 'softmax', kernelInitializer: context.initializers.glorotUniform(), name: 'predictions' })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: options.includeStage5 === true ? 'resnet50' : 'sensor_deep_resnet50' });
}
