import * as tf from '@tensorflow/tfjs';

export interface SeededDropoutArgs extends tf.serialization.ConfigDict {
  rate: number;
  seed: number;
}

/**
 * Dropout whose mask depends on the layer's seed plus a step counter that
 * the trainer sets before every batch. The built-in dropout layer either
 * draws from an unseeded generator or, with a seed, repeats the same mask on
 * every batch; this layer gives a fresh mask per step that a resumed run
 * reproduces exactly.
 */
export class SeededDropout extends tf.layers.Layer {
  static readonly className = 'WhorlSeededDropout';
  readonly rate: number;
  readonly seed: number;
  /** Global training step; mixed into the mask seed. */
  step = 0;

  constructor(args: SeededDropoutArgs & { name?: string }) {
    super({ name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) {
      throw new Error(`invalid dropout rate ${args.rate}: expected a number in [0, 1)`);
    }
    this.rate = args.rate;
    this.seed = args.seed;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs.training !== true || this.rate === 0) return tf.clone(input);
    return tf.dropout(input, this.rate, undefined, (this.seed + Math.imul(this.step, 0x9e3779b1)) >>> 0);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}

tf.serialization.registerClass(SeededDropout);

/** Sets the step counter of every SeededDropout layer in the model, before a training batch. */
export function setDropoutStep(model: tf.LayersModel, step: number): void {
  for (const layer of model.layers) {
    if (layer instanceof SeededDropout) layer.step = step;
  }
}
