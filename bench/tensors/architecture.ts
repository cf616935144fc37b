import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One layer of a benchmark architecture; measure_keras.py reads the same spec. */
export type LayerSpec =
  | {
      type: 'conv2d';
      filters: number;
      kernelSize: number;
      strides: number;
      padding: 'same' | 'valid';
      activation: 'relu' | 'linear';
      dilation?: number;
    }
  | { type: 'batchNorm' }
  | { type: 'relu' }
  | { type: 'maxPool'; poolSize: number; strides: number }
  | { type: 'globalAveragePool' }
  | { type: 'flatten' }
  | { type: 'dense'; units: number; activation: 'relu' | 'softmax' | 'linear' };

export interface ArchitectureSpec {
  description: string;
  /** [heightPx, widthPx, channels] of one image. */
  inputShape: [number, number, number];
  batchSize: number;
  classes: number;
  layers: LayerSpec[];
}

export function loadArchitectures(): Record<string, ArchitectureSpec> {
  return JSON.parse(readFileSync(join(__dirname, 'architectures.json'), 'utf8')) as Record<string, ArchitectureSpec>;
}

/** Builds the architecture as a tfjs layers model compiled with Adam and cross-entropy. */
export function buildModel(spec: ArchitectureSpec): tf.LayersModel {
  const model = tf.sequential();
  spec.layers.forEach((layer, index) => {
    const inputShape = index === 0 ? { inputShape: spec.inputShape } : {};
    switch (layer.type) {
      case 'conv2d':
        model.add(
          tf.layers.conv2d({
            ...inputShape,
            filters: layer.filters,
            kernelSize: layer.kernelSize,
            strides: layer.strides,
            padding: layer.padding,
            activation: layer.activation,
            dilationRate: layer.dilation ?? 1,
          }),
        );
        break;
      case 'batchNorm':
        model.add(tf.layers.batchNormalization(inputShape));
        break;
      case 'relu':
        model.add(tf.layers.reLU(inputShape));
        break;
      case 'maxPool':
        model.add(tf.layers.maxPooling2d({ ...inputShape, poolSize: layer.poolSize, strides: layer.strides }));
        break;
      case 'globalAveragePool':
        model.add(tf.layers.globalAveragePooling2d(inputShape));
        break;
      case 'flatten':
        model.add(tf.layers.flatten(inputShape));
        break;
      case 'dense':
        model.add(tf.layers.dense({ ...inputShape, units: layer.units, activation: layer.activation }));
        break;
    }
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return model;
}

/**
 * Counts the FLOPs (2 per multiply-accumulate) of one forward pass over a
 * batch. Only convolutions and dense layers are counted, because pooling,
 * normalization and activations do a few FLOPs per value.
 */
export function forwardFlops(spec: ArchitectureSpec): number {
  let [height, width, channels] = spec.inputShape;
  let flops = 0;
  for (const layer of spec.layers) {
    switch (layer.type) {
      case 'conv2d': {
        const span = (layer.kernelSize - 1) * (layer.dilation ?? 1) + 1;
        const outHeight = layer.padding === 'same' ? Math.ceil(height / layer.strides) : Math.ceil((height - span + 1) / layer.strides);
        const outWidth = layer.padding === 'same' ? Math.ceil(width / layer.strides) : Math.ceil((width - span + 1) / layer.strides);
        flops += 2 * outHeight * outWidth * layer.kernelSize * layer.kernelSize * channels * layer.filters;
        [height, width, channels] = [outHeight, outWidth, layer.filters];
        break;
      }
      case 'maxPool':
        height = Math.floor((height - layer.poolSize) / layer.strides) + 1;
        width = Math.floor((width - layer.poolSize) / layer.strides) + 1;
        break;
      case 'globalAveragePool':
      case 'flatten':
        channels = layer.type === 'flatten' ? height * width * channels : channels;
        height = 1;
        width = 1;
        break;
      case 'dense':
        flops += 2 * channels * layer.units;
        channels = layer.units;
        break;
      case 'batchNorm':
      case 'relu':
        break;
    }
  }
  return flops * spec.batchSize;
}
