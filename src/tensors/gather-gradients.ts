import * as tf from '@tensorflow/tfjs';

let registeredGatherGradient: tf.GradConfig | undefined;

/**
 * Replaces the GatherV2 gradient of tfjs-core 4.22, which returns the int32
 * indices themselves as the gradient of `indices`. When the indices are
 * computed from a differentiable tensor (bilinear sampling casts sampling
 * coordinates to indices), tfjs then rejects the int32 gradient and training
 * stops. Indices are piecewise constant, so their gradient is zero; this
 * wrapper keeps the original `x` gradient and returns float32 zeros for
 * `indices`. A second call changes nothing.
 */
export function registerGatherGradient(): void {
  const original = tf.getGradient(tf.GatherV2);
  if (original === undefined || original === registeredGatherGradient) {
    return;
  }
  registeredGatherGradient = {
    ...original,
    gradFunc: (dy, saved, attributes) => {
      const gradients = original.gradFunc(dy, saved, attributes);
      const indices = saved[1];
      return { ...gradients, indices: () => tf.zeros(indices.shape, 'float32') };
    },
  };
  tf.registerGradient(registeredGatherGradient);
}
