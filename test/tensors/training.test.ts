import * as tf from '@tensorflow/tfjs';
import { strict as assert } from 'node:assert';
import { installTrainingSupport, loadNativeBackend, randomInput } from './helpers';

/**
 * A small CNN with the layer kinds of the project's networks: strided and
 * dilated convolutions, batch normalization, max and average pooling, dense.
 */
function buildSmallCnn(): tf.LayersModel {
  const seeded = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [16, 16, 1], filters: 8, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: seeded(1) }));
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.activation({ activation: 'relu' }));
  model.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu', kernelInitializer: seeded(2) }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  model.add(tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: seeded(3) }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  return model;
}

/** Noise images with a bright square in the left (class 0) or right (class 1) half. */
function brightSquareBatch(batchSize: number): { images: tf.Tensor4D; labels: tf.Tensor2D } {
  const noise = randomInput([batchSize, 16, 16, 1], 11).values.map((value) => value * 0.3);
  const labels: number[] = [];
  for (let n = 0; n < batchSize; n++) {
    const label = n % 2;
    const column = label === 0 ? 2 : 10;
    for (let row = 5; row < 9; row++) {
      for (let offset = 0; offset < 4; offset++) {
        noise[(n * 16 + row) * 16 + column + offset] += 1.5;
      }
    }
    labels.push(label);
  }
  return { images: tf.tensor4d(noise, [batchSize, 16, 16, 1]), labels: tf.oneHot(labels, 2).toFloat() as tf.Tensor2D };
}

describe('small CNN training', function () {
  let previousBackend: string | undefined;
  let nativeUnavailable: string | undefined;

  before(function () {
    previousBackend = tf.getBackend();
    nativeUnavailable = loadNativeBackend();
    installTrainingSupport();
  });

  after(async function () {
    if (previousBackend !== undefined) {
      await tf.setBackend(previousBackend);
    }
  });

  for (const backendName of ['tensorflow', 'wasm', 'cpu']) {
    it(`lowers the loss on ${backendName}`, async function () {
      if (backendName === 'tensorflow' && nativeUnavailable !== undefined) {
        this.skip();
      }
      assert.ok(await tf.setBackend(backendName), `backend ${backendName} failed to start`);
      const model = buildSmallCnn();
      const { images, labels } = brightSquareBatch(8);

      const history = await model.fit(images, labels, { epochs: 15, batchSize: 8, shuffle: false, verbose: 0 });
      const losses = history.history.loss as number[];

      assert.ok(losses.every(Number.isFinite), `losses must be finite: ${losses.join(', ')}`);
      assert.ok(losses[losses.length - 1] < 0.5 * losses[0], `final loss ${losses[losses.length - 1]} is not below half the first ${losses[0]}`);
      model.dispose();
      tf.dispose([images, labels]);
    });
  }
});
