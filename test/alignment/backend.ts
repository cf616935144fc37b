import * as tf from '@tensorflow/tfjs';

/**
 * Selects the native TensorFlow backend when its addon loads, else keeps the
 * pure-JS CPU backend, so the tests run either way but train fast where they can.
 */
export async function useFastestBackend(): Promise<string> {
  try {
    // NOTE: loads tfjs-node directly because src/tensors has no shared backend initializer yet.
    require('@tensorflow/tfjs-node');
    await tf.setBackend('tensorflow');
  } catch {
    await tf.setBackend('cpu');
  }
  await tf.ready();
  return tf.getBackend();
}
