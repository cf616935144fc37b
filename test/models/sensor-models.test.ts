import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { SeededDropout, VGG19_BLOCKS, buildDeepSensorModel, buildShallowSensorModel, setDropoutStep } from '../../src/models';
import { modelFromFiles, modelToFiles } from '../../src/training';

/** Parameters of a k×k convolution with bias. */
function convParams(kernelSize: number, inChannels: number, filters: number): number {
  return kernelSize * kernelSize * inChannels * filters + filters;
}

function denseParams(inputs: number, units: number): number {
  return inputs * units + units;
}

/** Convolution parameters of VGG-19 blocks 1..blockCount on an RGB input. */
function vggConvParams(blockCount: number): number {
  let total = 0;
  let channels = 3;
  for (const block of VGG19_BLOCKS.slice(0, blockCount)) {
    for (let i = 0; i < block.convolutions; i++) {
      total += convParams(3, channels, block.filters);
      channels = block.filters;
    }
  }
  return total;
}

/**
 * Exact totals of Keras' VGG19 and ResNet50 with their 1000-class ImageNet
 * classifiers; keras.io/api/applications lists them rounded as 143.7M and
 * 25.6M. The VGG19 total is rederived from the layer formula below, and the
 * ResNet50 total is reproduced by building the full body.
 */
const KERAS_VGG19_PARAMS = 143_667_240;
const KERAS_RESNET50_PARAMS = 25_636_712;

/** ResNet50 stage 5 (conv5_x): one projecting bottleneck block and two identity blocks, convolutions with bias, batch norm with 4 values per channel. */
function resnetStage5Params(): number {
  const batchNorm = (channels: number): number => 4 * channels;
  const projecting =
    convParams(1, 1024, 512) + batchNorm(512) + convParams(3, 512, 512) + batchNorm(512) + convParams(1, 512, 2048) + batchNorm(2048) + convParams(1, 1024, 2048) + batchNorm(2048);
  const identity = convParams(1, 2048, 512) + batchNorm(512) + convParams(3, 512, 512) + batchNorm(512) + convParams(1, 512, 2048) + batchNorm(2048);
  return projecting + 2 * identity;
}

describe('sensor models', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  describe('paper-sized parameter counts', () => {
    it('VGG-19 derivation matches Keras total', () => {
      const top = denseParams(7 * 7 * 512, 4096) + denseParams(4096, 4096) + denseParams(4096, 1000);
      assert.equal(vggConvParams(5) + top, KERAS_VGG19_PARAMS);
    });

    it('shallow model is VGG-19 minus block 5', () => {
      // Blocks 1–4 keep 10,585,152 parameters; the 224-pixel input leaves 14×14×512 features for the classifier.
      const numSensors = 12;
      const expected = KERAS_VGG19_PARAMS - (vggConvParams(5) - vggConvParams(4)) - (KERAS_VGG19_PARAMS - vggConvParams(5)) + denseParams(14 * 14 * 512, numSensors);
      assert.equal(expected, 11_789_388);
      const model = buildShallowSensorModel({ inputSizePx: 224, channels: 3, numSensors });
      assert.equal(model.countParams(), expected);
      model.dispose();
    });

    it('full ResNet50 body matches Keras total', () => {
      const model = buildDeepSensorModel({ inputSizePx: 224, channels: 3, numSensors: 1000, includeStage5: true });
      assert.equal(model.countParams(), KERAS_RESNET50_PARAMS);
      model.dispose();
    });

    it('deep model is ResNet50 minus stage 5', () => {
      const numSensors = 12;
      const expected = KERAS_RESNET50_PARAMS - denseParams(2048, 1000) - resnetStage5Params() + denseParams(1024, numSensors);
      assert.equal(resnetStage5Params(), 14_998_528);
      assert.equal(expected, 8_601_484);
      const model = buildDeepSensorModel({ inputSizePx: 224, channels: 3, numSensors });
      assert.equal(model.countParams(), expected);
      assert.deepEqual(model.getLayer('conv4_block6_out').outputShape, [null, 14, 14, 1024]);
      model.dispose();
    });
  });

  describe('CPU-sized variants', () => {
    const cases = [
      { name: 'shallow', build: buildShallowSensorModel },
      { name: 'deep', build: buildDeepSensorModel },
    ];
    for (const { name, build } of cases) {
      it(`${name} outputs one probability per sensor`, () => {
        const model = build({ inputSizePx: 64, channels: 1, widthMultiplier: 0.125, numSensors: 5, seed: 3 });
        const output = model.predict(tf.zeros([2, 64, 64, 1])) as tf.Tensor;
        assert.deepEqual(output.shape, [2, 5]);
        const sums = Array.from(output.sum(1).dataSync());
        for (const sum of sums) assert.ok(Math.abs(sum - 1) < 1e-5, `row sum ${sum}`);
        model.dispose();
      });

      it(`${name} build is repeatable from seed`, () => {
        const first = build({ inputSizePx: 32, widthMultiplier: 0.125, numSensors: 3, seed: 9 });
        const second = build({ inputSizePx: 32, widthMultiplier: 0.125, numSensors: 3, seed: 9 });
        const third = build({ inputSizePx: 32, widthMultiplier: 0.125, numSensors: 3, seed: 10 });
        const values = (model: tf.LayersModel) => Array.from(model.getWeights()[0].dataSync());
        assert.deepEqual(values(first), values(second));
        assert.notDeepEqual(values(first), values(third));
      });

      it(`${name} rejects one sensor`, () => {
        assert.throws(() => build({ inputSizePx: 64, numSensors: 1 }), /at least 2 sensors, but got 1/);
      });

      it(`${name} rejects invalid sizes`, () => {
        assert.throws(() => build({ inputSizePx: 8, numSensors: 2 }), /invalid inputSizePx: this network needs at least \d+ pixels, but got 8/);
        assert.throws(() => build({ inputSizePx: 64.5, numSensors: 2 }), /invalid inputSizePx: expected a positive integer/);
        assert.throws(() => build({ inputSizePx: 64, numSensors: 2, widthMultiplier: 0 }), /invalid widthMultiplier/);
      });
    }

    it('width multiplier scales filters', () => {
      const model = buildShallowSensorModel({ inputSizePx: 32, widthMultiplier: 0.25, numSensors: 2 });
      assert.deepEqual(model.getLayer('block1_conv1').outputShape, [null, 32, 32, 16]);
      assert.deepEqual(model.getLayer('block4_pool').outputShape, [null, 2, 2, 128]);
    });
  });

  describe('seeded dropout', () => {
    it('mask depends only on seed and step', () => {
      const layer = new SeededDropout({ rate: 0.5, seed: 4 });
      const input = tf.ones([1, 64]);
      const mask = () => Array.from((layer.apply(input, { training: true }) as tf.Tensor).dataSync());
      layer.step = 7;
      const first = mask();
      const again = mask();
      layer.step = 8;
      const next = mask();
      assert.deepEqual(first, again);
      assert.notDeepEqual(first, next);
    });

    it('passes input through at inference', () => {
      const layer = new SeededDropout({ rate: 0.5, seed: 4 });
      const output = layer.apply(tf.ones([1, 8])) as tf.Tensor;
      assert.deepEqual(Array.from(output.dataSync()), new Array(8).fill(1));
    });

    it('model with seeded dropout round-trips', async () => {
      const model = buildShallowSensorModel({ inputSizePx: 16, widthMultiplier: 0.125, numSensors: 2, seed: 1 });
      setDropoutStep(model, 5);
      const restored = await modelFromFiles(await modelToFiles(model));
      const layer = restored.getLayer('dropout') as SeededDropout;
      assert.ok(layer instanceof SeededDropout);
      assert.equal(layer.rate, 0.5);
      const input = tf.randomUniform([1, 16, 16, 1], 0, 1, 'float32', 2);
      assert.deepEqual(Array.from((restored.predict(input) as tf.Tensor).dataSync()), Array.from((model.predict(input) as tf.Tensor).dataSync()));
    });
  });
});
