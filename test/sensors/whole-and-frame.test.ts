import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { createGrayImage, cropImage, pasteImage, preprocessImage, resizeImage, type GrayImage } from '../../src/imaging';
import {
  CPU_SENSOR_TRAINING,
  evaluateSensorRun,
  foregroundBox,
  frameView,
  imagesToBatch,
  loadSensorClassifier,
  modelInputBatch,
  predictProbabilities,
  predictSensor,
  renderFeatureMaps,
  trainSensorClassifier,
  trainingInput,
  type SensorClassifier,
} from '../../src/sensors';
import { TrainingRandom } from '../../src/training';
import { tempStore, writePreparedDataset } from './support';

/** Draws a textured 30×50 print at (20, 5) on a black 64-pixel canvas, as fixed-scale preparation with `canvasGray: 0` places a small print. */
function smallPrintOnBlack(): GrayImage {
  const print = createGrayImage(30, 50, 0);
  for (let y = 0; y < 50; y++) {
    for (let x = 0; x < 30; x++) print.pixels[y * 30 + x] = 60 + ((x * 7 + y * 13) % 150);
  }
  const canvas = createGrayImage(64, 64, 0);
  pasteImage(canvas, print, 20, 5);
  return canvas;
}

describe('whole-and-frame sensor input', function () {
  this.timeout(120_000);

  before(async () => {
    await tf.setBackend('cpu');
  });

  it('frame view stretches the print', () => {
    const image = smallPrintOnBlack();
    assert.deepEqual(foregroundBox(image, 0), { left: 20, top: 5, widthPx: 30, heightPx: 50 });
    const view = frameView(image, 32, 0);
    assert.deepEqual(view, resizeImage(cropImage(image, { left: 20, top: 5, widthPx: 30, heightPx: 50 }), { widthPx: 32, heightPx: 32 }));
    // The print's gray levels are 60–209, so a view with no canvas in it has no black pixel.
    assert.ok(view.pixels.every((value) => value >= 60), 'frame view contains canvas pixels');
  });

  it('training view stacks the frame', () => {
    const image = smallPrintOnBlack();
    const settings = { input: 'whole-and-frame' as const, inputSizePx: 32, augmentation: { maxRotationDegrees: 0, maxShiftPx: 0 } };
    const view = trainingInput(image, settings, new TrainingRandom(3), 0);
    assert.equal(view.image, image);
    assert.deepEqual(view.stacked, frameView(image, 32, 0));
  });

  it('augmented view frames the augmented image', () => {
    const image = smallPrintOnBlack();
    const settings = { input: 'whole-and-frame' as const, inputSizePx: 32, augmentation: { maxRotationDegrees: 5, maxShiftPx: 2, keepFrame: true, maxGamma: 2 } };
    const view = trainingInput(image, settings, new TrainingRandom(3), 0);
    assert.notDeepEqual(view.image.pixels, image.pixels);
    assert.deepEqual(view.stacked, frameView(view.image, 32, 0));
  });

  it('model input has both views', () => {
    const image = smallPrintOnBlack();
    const metadata = { inputSizePx: 32, channels: 1, input: 'whole-and-frame' as const, preprocess: { imageSizePx: 64, fit: 'fixed-scale' as const, canvasGray: 0, variant: 'full' as const, normalization: 'none' as const } };
    const batch = modelInputBatch([image], metadata as SensorClassifier['metadata']);
    assert.deepEqual(batch.shape, [1, 32, 32, 2]);
    const stacked = batch.dataSync();
    const whole = tf.tidy(() => imagesToBatch([image], { inputSizePx: 32, channels: 1 }).dataSync());
    const frame = tf.tidy(() => imagesToBatch([frameView(image, 32, 0)], { inputSizePx: 32, channels: 1 }).dataSync());
    batch.dispose();
    for (let pixel = 0; pixel < 32 * 32; pixel++) {
      assert.equal(stacked[2 * pixel], whole[pixel], `whole channel, pixel ${pixel}`);
      assert.equal(stacked[2 * pixel + 1], frame[pixel], `frame channel, pixel ${pixel}`);
    }
  });

  it('trains, evaluates and predicts', async () => {
    const store = tempStore();
    const sensors = ['sensor-a', 'sensor-b', 'sensor-c'];
    const manifestKey = await writePreparedDataset(store, { sensors, imagesPerSensor: 4, trainPerSensor: 2, sizePx: 32 });
    const settings = {
      ...CPU_SENSOR_TRAINING,
      variant: 'shallow' as const,
      seed: 5,
      input: 'whole-and-frame' as const,
      inputSizePx: 16,
      widthMultiplier: 0.0625,
      epochs: 1,
      batchSize: 4,
      augmentation: { maxRotationDegrees: 0, maxShiftPx: 0 },
    };
    const trained = await trainSensorClassifier({ store, manifestKey, settings });
    assert.equal(trained.metadata.input, 'whole-and-frame');
    const classifier = await loadSensorClassifier(store, trained.modelPrefix);
    assert.deepEqual(classifier.model.inputs[0].shape, [null, 16, 16, 2]);

    const result = await evaluateSensorRun({ store, modelPrefix: trained.modelPrefix, manifestKey, reportPrefix: 'reports/frame/', seed: 1, skipRobustness: true });
    assert.equal(result.evaluation.testImages, 6);

    const query = smallPrintOnBlack();
    const [expected] = predictProbabilities(classifier, [preprocessImage(query, classifier.metadata.preprocess)]);
    const prediction = predictSensor(classifier, query);
    sensors.forEach((sensor, label) => assert.ok(Math.abs(prediction.probabilities[sensor] - expected[label]) < 1e-5, `${sensor}: ${prediction.probabilities[sensor]} against ${expected[label]}`));
    assert.ok(Object.keys(renderFeatureMaps(classifier, query, ['block1_conv1'])).includes('block1_conv1'));
    classifier.model.dispose();
  });
});
