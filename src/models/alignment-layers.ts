import * as tf from '@tensorflow/tfjs';

type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0];

function firstTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}

/**
 * Divides every feature vector (the last axis) by its L2 norm:
 * x / sqrt(Σ x² + epsilon). The epsilon keeps an all-zero vector at zero
 * instead of dividing by zero.
 */
export class FeatureL2Normalization extends tf.layers.Layer {
  static readonly className = 'WhorlFeatureL2Normalization';
  readonly epsilon: number;

  constructor(config: LayerArgs & { epsilon?: number } = {}) {
    super(config);
    this.epsilon = config.epsilon ?? 1e-6;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const features = firstTensor(inputs);
      const norms = tf.sqrt(tf.add(tf.sum(tf.square(features), -1, true), this.epsilon));
      return tf.div(features, norms);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

/**
 * The correlation layer of CNNGeometric. For feature maps A and B of shape
 * [batch, h, w, c], the output [batch, h, w, h·w] contains at (i, j, k) the
 * scalar product of B's feature at (i, j) with A's feature at position k,
 * where k = row·w + column runs over A's positions row by row.
 */
export class FeatureCorrelation extends tf.layers.Layer {
  static readonly className = 'WhorlFeatureCorrelation';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) {
      throw new Error(`FeatureCorrelation expects two feature maps [A, B], but got ${Array.isArray(inputs) ? inputs.length : 1} input`);
    }
    return tf.tidy(() => {
      const [featuresA, featuresB] = inputs;
      const [batch, height, width, channels] = featuresA.shape;
      const flatA = tf.reshape(featuresA, [batch, height * width, channels]);
      const flatB = tf.reshape(featuresB, [batch, height * width, channels]);
      const products = tf.matMul(flatB, flatA, false, true);
      return tf.reshape(products, [batch, height, width, height * width]);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shapes = inputShape as tf.Shape[];
    if (shapes.length !== 2) {
      throw new Error(`FeatureCorrelation expects two input shapes, but got ${shapes.length}`);
    }
    const [shapeA, shapeB] = shapes;
    if (shapeA.length !== 4 || shapeA.slice(1).join(',') !== shapeB.slice(1).join(',')) {
      throw new Error(`FeatureCorrelation expects two feature maps of one shape [batch, h, w, c], but got [${shapeA.join(', ')}] and [${shapeB.join(', ')}]`);
    }
    const [batch, height, width] = shapeA;
    if (height === null || width === null) {
      throw new Error('FeatureCorrelation needs feature maps of a fixed height and width');
    }
    return [batch, height, width, height * width];
  }
}

let registered = false;

/** Registers the custom layers with tfjs serialization so saved alignment models load. Safe to call repeatedly. */
export function registerAlignmentLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(FeatureL2Normalization);
  tf.serialization.registerClass(FeatureCorrelation);
  registered = true;
}
