import * as tf from '@tensorflow/tfjs';
import { regularGridPoints } from './affine';

/**
 * Computes the training loss of CNNGeometric. It is the mean, over a
 * pointsPerSide² grid spanning [-1, 1]² and over the batch, of the squared
 * Euclidean distance between each point moved by the predicted and by the
 * true transform.
 * Both tensors are [batch, 6] AffineParameters. It has the (yTrue, yPred)
 * signature of a tfjs loss function.
 */
export function gridPointLoss(trueTheta: tf.Tensor, predictedTheta: tf.Tensor, pointsPerSide = 20): tf.Scalar {
  return tf.tidy(() => {
    const points = regularGridPoints(pointsPerSide);
    const pointCount = points.length / 2;
    const homogeneous = new Float32Array(pointCount * 3);
    for (let i = 0; i < pointCount; i++) {
      homogeneous[i] = points[2 * i];
      homogeneous[pointCount + i] = points[2 * i + 1];
      homogeneous[2 * pointCount + i] = 1;
    }

    // The map is linear in theta, so the displacement is (Δθ as 2×3) · [x; y; 1].
    const batch = trueTheta.shape[0] as number;
    const difference = tf.reshape(tf.sub(predictedTheta, trueTheta), [batch, 2, 3]);
    const grid = tf.tensor2d(homogeneous, [3, pointCount]);
    const displacement = tf.matMul(tf.reshape(difference, [batch * 2, 3]), grid);
    return tf.div(tf.sum(tf.square(displacement)), batch * pointCount) as tf.Scalar;
  });
}
