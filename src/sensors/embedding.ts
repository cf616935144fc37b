import * as tf from '@tensorflow/tfjs';
import type { GrayImage } from '../imaging';
import { createFeatureMatrix, type FeatureMatrix } from '../hashing/feature-matrix';
import { normalizeFeatureRow } from '../pipeline/features';
import { classifierInputMode, modelInputBatch, type SensorClassifier } from './classifier';
import { usesPatches } from './patches';

/** Images per model call, which bounds memory. */
const EMBEDDING_BATCH_SIZE = 32;

/**
 * Returns a model that maps the classifier's input to the input of its last
 * layer, the softmax classifier: the penultimate representation.
 */
export function penultimateModel(classifier: SensorClassifier): tf.LayersModel {
  const layers = classifier.model.layers;
  const last = layers[layers.length - 1];
  return tf.model({ inputs: classifier.model.inputs, outputs: last.input as tf.SymbolicTensor });
}

/**
 * Computes the penultimate-layer embedding of every prepared image from the
 * input the classifier takes (`modelInputBatch`): one input per image in the
 * whole modes, or the mean over the test crop grid in the patch modes. Each
 * row is centred and scaled to unit L2 norm, like the other hashing features.
 */
export function sensorEmbeddingFeatures(classifier: SensorClassifier, embedder: tf.LayersModel, images: GrayImage[]): FeatureMatrix {
  const { metadata } = classifier;
  const dimension = (embedder.outputs[0].shape[1] as number | null) ?? 0;
  const data = new Float32Array(images.length * dimension);
  const patchMode = usesPatches(classifierInputMode(metadata));
  const gridSide = patchMode ? (metadata.testPatchGrid ?? 1) : 1;
  const cropsPerImage = gridSide * gridSide;

  for (let start = 0; start < images.length; start += EMBEDDING_BATCH_SIZE) {
    const chunk = images.slice(start, start + EMBEDDING_BATCH_SIZE);
    const values = tf.tidy(() => {
      const batch = modelInputBatch(chunk, metadata);
      return (embedder.predict(batch) as tf.Tensor).dataSync();
    });
    chunk.forEach((_, offset) => {
      const row = data.subarray((start + offset) * dimension, (start + offset + 1) * dimension);
      for (let crop = 0; crop < cropsPerImage; crop++) {
        const base = (offset * cropsPerImage + crop) * dimension;
        for (let column = 0; column < dimension; column++) row[column] += values[base + column] / cropsPerImage;
      }
      normalizeFeatureRow(row);
    });
  }
  return createFeatureMatrix(data, images.length, dimension);
}
