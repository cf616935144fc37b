import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { UserInputError } from '../../src/config/errors';
import { WHITE, createGrayImage, cropImage, encodePng, pasteImage, preprocessImage, resizeImage, type GrayImage } from '../../src/imaging';
import { buildShallowSensorModel } from '../../src/models';
import {
  CPU_SENSOR_TRAINING,
  averagePatchProbabilities,
  foregroundBox,
  gridPatches,
  imagesToBatch,
  learningRateAt,
  patchPositionRange,
  stackedViewsToBatch,
  predictLabels,
  predictProbabilities,
  predictSensor,
  renderFeatureMaps,
  sampleRandomPatch,
  tileFeatureMap,
  trainingInput,
  type PatchRectangle,
  type SensorClassifier,
} from '../../src/sensors';
import { TrainingRandom } from '../../src/training';
import { sensorImage } from './support';

/** Draws a textured print of `printWidthPx` × `printHeightPx` centred on a white square canvas, as `fit: pad` prepares it. */
function paddedPrint(canvasSizePx: number, printWidthPx: number, printHeightPx: number, canvasGray: number = WHITE): GrayImage {
  const print = createGrayImage(printWidthPx, printHeightPx, 0);
  for (let y = 0; y < printHeightPx; y++) {
    for (let x = 0; x < printWidthPx; x++) print.pixels[y * printWidthPx + x] = 60 + ((x * 7 + y * 13) % 150);
  }
  const canvas = createGrayImage(canvasSizePx, canvasSizePx, canvasGray);
  pasteImage(canvas, print, Math.floor((canvasSizePx - printWidthPx) / 2), Math.floor((canvasSizePx - printHeightPx) / 2));
  return canvas;
}

function assertInside(rectangle: PatchRectangle, bounds: PatchRectangle): void {
  assert.ok(rectangle.left >= bounds.left, `left ${rectangle.left} < ${bounds.left}`);
  assert.ok(rectangle.top >= bounds.top, `top ${rectangle.top} < ${bounds.top}`);
  assert.ok(rectangle.left + rectangle.widthPx <= bounds.left + bounds.widthPx, `right edge ${rectangle.left + rectangle.widthPx} > ${bounds.left + bounds.widthPx}`);
  assert.ok(rectangle.top + rectangle.heightPx <= bounds.top + bounds.heightPx, `bottom edge ${rectangle.top + rectangle.heightPx} > ${bounds.top + bounds.heightPx}`);
}

describe('sensor patch positions', () => {
  it('foreground box skips white padding', () => {
    // A 60×100 print on a 120-pixel canvas starts at (30, 10).
    assert.deepEqual(foregroundBox(paddedPrint(120, 60, 100)), { left: 30, top: 10, widthPx: 60, heightPx: 100 });
  });

  it('foreground box skips a black canvas when told its gray level', () => {
    const image = paddedPrint(120, 60, 100, 0);
    assert.deepEqual(foregroundBox(image, 0), { left: 30, top: 10, widthPx: 60, heightPx: 100 });
    // Against the default white canvas, every black canvas pixel counts as print.
    assert.deepEqual(foregroundBox(image), { left: 0, top: 0, widthPx: 120, heightPx: 120 });
  });

  it('foreground box ignores scattered noise', () => {
    const image = paddedPrint(120, 60, 100);
    image.pixels[2 * 120 + 3] = 17;
    image.pixels[115 * 120 + 118] = 200;
    assert.deepEqual(foregroundBox(image), { left: 30, top: 10, widthPx: 60, heightPx: 100 });
  });

  it('all-white image is all foreground', () => {
    assert.deepEqual(foregroundBox(createGrayImage(50, 40, WHITE)), { left: 0, top: 0, widthPx: 50, heightPx: 40 });
  });

  it('random crops stay inside foreground', () => {
    const image = paddedPrint(120, 60, 100);
    const random = new TrainingRandom(5);
    const lefts = new Set<number>();
    for (let draw = 0; draw < 200; draw++) {
      const rectangle = sampleRandomPatch(image, 32, random);
      assert.equal(rectangle.widthPx, 32);
      assert.equal(rectangle.heightPx, 32);
      assertInside(rectangle, { left: 30, top: 10, widthPx: 60, heightPx: 100 });
      lefts.add(rectangle.left);
    }
    // 29 possible left edges (30 to 58); 200 draws should reach most of them.
    assert.ok(lefts.size > 20, `only ${lefts.size} distinct left edges`);
  });

  it('random crops repeat for same seed', () => {
    const image = paddedPrint(120, 60, 100);
    const draw = (seed: number): PatchRectangle[] => {
      const random = new TrainingRandom(seed);
      return Array.from({ length: 10 }, () => sampleRandomPatch(image, 32, random));
    };
    assert.deepEqual(draw(3), draw(3));
    assert.notDeepEqual(draw(3), draw(4));
  });

  it('narrow foreground centres crop in image', () => {
    // A 20-pixel-wide print is narrower than the 32-pixel crop, so the crop is centred on it.
    const range = patchPositionRange(paddedPrint(100, 20, 80), 32);
    assert.equal(range.minLeft, 34);
    assert.equal(range.maxLeft, 34);
    assert.equal(range.minTop, 10);
    assert.equal(range.maxTop, 58);
  });

  it('crop near edge is clamped inside image', () => {
    const image = createGrayImage(64, 64, WHITE);
    for (let y = 0; y < 64; y++) image.pixels[y * 64] = 0;
    const range = patchPositionRange(image, 32);
    assert.equal(range.minLeft, 0);
    assert.equal(range.maxLeft, 0);
  });

  it('rejects image smaller than patch', () => {
    assert.throws(
      () => patchPositionRange(createGrayImage(40, 80, 100), 64),
      (error: Error) => error instanceof UserInputError && /40×80 pixels, smaller than the 64-pixel patch/.test(error.message),
    );
  });

  for (const gridSide of [1, 2, 3, 5]) {
    it(`grid of side ${gridSide} spans crop range`, () => {
      const image = paddedPrint(120, 60, 100);
      const rectangles = gridPatches(image, 32, gridSide);
      assert.equal(rectangles.length, gridSide * gridSide);
      for (const rectangle of rectangles) assertInside(rectangle, { left: 30, top: 10, widthPx: 60, heightPx: 100 });
      assert.deepEqual(gridPatches(image, 32, gridSide), rectangles);

      const lefts = rectangles.map((rectangle) => rectangle.left);
      const tops = rectangles.map((rectangle) => rectangle.top);
      if (gridSide === 1) {
        assert.deepEqual(rectangles[0], { left: 44, top: 44, widthPx: 32, heightPx: 32 });
      } else {
        assert.equal(Math.min(...lefts), 30);
        assert.equal(Math.max(...lefts), 58);
        assert.equal(Math.min(...tops), 10);
        assert.equal(Math.max(...tops), 78);
      }
    });
  }

  it('rejects grid side of zero', () => {
    assert.throws(() => gridPatches(paddedPrint(120, 60, 100), 32, 0), /invalid test patch grid side 0/);
  });
});

describe('sensor patch training input', () => {
  it('cuts crop of model input size', () => {
    const image = paddedPrint(120, 60, 100);
    const settings = { input: 'patches' as const, inputSizePx: 32, augmentation: { maxRotationDegrees: 0, maxShiftPx: 0 } };
    const view = trainingInput(image, settings, new TrainingRandom(9));
    const expected = sampleRandomPatch(image, 32, new TrainingRandom(9));
    assert.deepEqual(view.image, cropImage(image, expected));
    assert.equal(view.stacked, undefined);
  });

  it('patches-and-whole adds resized image', () => {
    const image = paddedPrint(120, 60, 100);
    const settings = { input: 'patches-and-whole' as const, inputSizePx: 32, augmentation: { maxRotationDegrees: 0, maxShiftPx: 0 } };
    const view = trainingInput(image, settings, new TrainingRandom(9));
    assert.deepEqual(view.image, cropImage(image, sampleRandomPatch(image, 32, new TrainingRandom(9))));
    assert.deepEqual(view.stacked, resizeImage(image, { widthPx: 32, heightPx: 32 }));
  });

  it('rotation fill matches canvas gray', () => {
    const image = paddedPrint(120, 60, 100, 0);
    const settings = { input: 'patches' as const, inputSizePx: 32, augmentation: { maxRotationDegrees: 10, maxShiftPx: 0 } };
    const random = new TrainingRandom(4);
    for (let draw = 0; draw < 20; draw++) {
      const crop = trainingInput(image, settings, random, 0).image;
      // The print's gray levels are 60–209, so a crop inside the print has no canvas pixel; a white fill would show as 255.
      assert.ok(crop.pixels.every((value) => value !== 255), `draw ${draw} has white fill`);
    }
  });

  it('frame rotation alone augments', () => {
    const image = paddedPrint(120, 60, 100, 0);
    const settings = { input: 'whole' as const, inputSizePx: 120, augmentation: { maxRotationDegrees: 0, maxShiftPx: 0, keepFrame: true, maxFrameRotationDegrees: 10 } };
    const view = trainingInput(image, settings, new TrainingRandom(9), 0);
    assert.notDeepEqual(view.image.pixels, image.pixels);
  });

  it('whole mode keeps image', () => {
    const image = paddedPrint(120, 60, 100);
    const settings = { input: 'whole' as const, inputSizePx: 32, augmentation: { maxRotationDegrees: 0, maxShiftPx: 0 } };
    assert.equal(trainingInput(image, settings, new TrainingRandom(9)).image, image);
  });

  it('CPU preset sets patch counts', () => {
    assert.ok(CPU_SENSOR_TRAINING.trainPatchesPerImage >= 1);
    assert.ok(CPU_SENSOR_TRAINING.testPatchGrid >= 1);
  });
});

describe('sensor patch voting', function () {
  this.timeout(60_000);
  const sensors = ['sensor-a', 'sensor-b', 'sensor-c'];
  let classifier: SensorClassifier;

  before(async () => {
    await tf.setBackend('cpu');
    const model = buildShallowSensorModel({ inputSizePx: 16, channels: 1, widthMultiplier: 0.0625, numSensors: sensors.length, seed: 4, dropoutRate: 0 });
    classifier = {
      model,
      metadata: {
        kind: 'whorl.sensor-classifier',
        variant: 'shallow',
        sensors,
        inputSizePx: 16,
        channels: 1,
        input: 'patches',
        testPatchGrid: 3,
        widthMultiplier: 0.0625,
        parameterCount: model.countParams(),
        preprocess: { imageSizePx: 40, fit: 'pad', variant: 'full', normalization: 'none' },
        datasetHash: 'test',
        seed: 4,
      },
    };
  });

  after(() => {
    classifier.model.dispose();
  });

  /** Softmax outputs of the model for each crop, computed one crop at a time. */
  function cropProbabilities(image: GrayImage): number[][] {
    return gridPatches(image, 16, 3).map((rectangle) =>
      tf.tidy(() => Array.from((classifier.model.predict(imagesToBatch([cropImage(image, rectangle)], classifier.metadata)) as tf.Tensor).dataSync())),
    );
  }

  it('averages probabilities of arrays', () => {
    const averages = averagePatchProbabilities([0.2, 0.8, 0.6, 0.4, 1, 0, 0, 1], { cropsPerImage: 2, classCount: 2 });
    assert.equal(averages.length, 2);
    assert.ok(Math.abs(averages[0][0] - 0.4) < 1e-6);
    assert.ok(Math.abs(averages[0][1] - 0.6) < 1e-6);
    assert.ok(Math.abs(averages[1][0] - 0.5) < 1e-6);
    assert.ok(Math.abs(averages[1][1] - 0.5) < 1e-6);
  });

  it('rejects ragged probability arrays', () => {
    assert.throws(() => averagePatchProbabilities([0.5, 0.5, 1], { cropsPerImage: 1, classCount: 2 }), /not a multiple of 1 crops × 2 classes/);
  });

  it('image score is mean of crops', () => {
    const images = [sensorImage(0, 40, 'vote-0'), sensorImage(1, 40, 'vote-1'), sensorImage(2, 40, 'vote-2')];
    const rows = predictProbabilities(classifier, images);
    assert.equal(rows.length, images.length);
    images.forEach((image, index) => {
      const crops = cropProbabilities(image);
      assert.equal(crops.length, 9);
      for (let label = 0; label < sensors.length; label++) {
        const mean = crops.reduce((sum, row) => sum + row[label], 0) / crops.length;
        assert.ok(Math.abs(rows[index][label] - mean) < 1e-5, `image ${index}, sensor ${label}: ${rows[index][label]} against ${mean}`);
      }
    });

    const labels = predictLabels(classifier, images);
    labels.forEach((label, index) => assert.equal(label, rows[index].indexOf(Math.max(...rows[index]))));
  });

  it('predictSensor votes like evaluation', () => {
    const query = sensorImage(1, 57, 'query');
    const prepared = preprocessImage(query, classifier.metadata.preprocess);
    const [expected] = predictProbabilities(classifier, [prepared]);
    const prediction = predictSensor(classifier, query);
    sensors.forEach((sensor, label) => assert.ok(Math.abs(prediction.probabilities[sensor] - expected[label]) < 1e-5, `${sensor}: ${prediction.probabilities[sensor]} against ${expected[label]}`));
    assert.equal(prediction.confidence, Math.max(...Object.values(prediction.probabilities)));
  });

  it('prepared tensor query votes over crops', () => {
    const image = sensorImage(2, 40, 'tensor');
    const tensor = tf.tensor3d(Float32Array.from(image.pixels, (value) => value / 255), [40, 40, 1]);
    const [expected] = predictProbabilities(classifier, [image]);
    const prediction = predictSensor(classifier, tensor);
    tensor.dispose();
    sensors.forEach((sensor, label) => assert.ok(Math.abs(prediction.probabilities[sensor] - expected[label]) < 1e-5));
  });

  it('patches-and-whole stacks whole image', () => {
    const model = buildShallowSensorModel({ inputSizePx: 16, channels: 2, widthMultiplier: 0.0625, numSensors: sensors.length, seed: 6, dropoutRate: 0 });
    const stacked: SensorClassifier = { model, metadata: { ...classifier.metadata, input: 'patches-and-whole', testPatchGrid: 2 } };
    const image = sensorImage(0, 40, 'stacked');
    const whole = resizeImage(image, { widthPx: 16, heightPx: 16 });
    const crops = gridPatches(image, 16, 2).map((rectangle) =>
      tf.tidy(() => Array.from((model.predict(stackedViewsToBatch([cropImage(image, rectangle)], [whole], stacked.metadata)) as tf.Tensor).dataSync())),
    );
    const [row] = predictProbabilities(stacked, [image]);
    for (let label = 0; label < sensors.length; label++) {
      const mean = crops.reduce((sum, probabilities) => sum + probabilities[label], 0) / crops.length;
      assert.ok(Math.abs(row[label] - mean) < 1e-5, `sensor ${label}: ${row[label]} against ${mean}`);
    }
    model.dispose();
  });

  it('feature maps use central crop', () => {
    const image = sensorImage(1, 40, 'maps');
    const [centre] = gridPatches(image, 16, 1);
    const probe = tf.model({ inputs: classifier.model.inputs, outputs: classifier.model.getLayer('block1_conv1').output as tf.SymbolicTensor });
    const expected = tf.tidy(() => encodePng(tileFeatureMap((probe.predict(imagesToBatch([cropImage(image, centre)], classifier.metadata)) as tf.Tensor).squeeze([0]) as tf.Tensor3D)));
    assert.deepEqual(renderFeatureMaps(classifier, image, ['block1_conv1']).block1_conv1, expected);
  });

  it('rejects query smaller than patch after preparation', () => {
    const small: SensorClassifier = { ...classifier, metadata: { ...classifier.metadata, preprocess: { ...classifier.metadata.preprocess, imageSizePx: 12 } } };
    assert.throws(() => predictSensor(small, sensorImage(0, 40, 'small')), /smaller than the 16-pixel patch/);
  });
});

describe('sensor learning rate schedule', () => {
  it('constant schedule keeps rate', () => {
    for (const step of [0, 50, 99]) assert.equal(learningRateAt({ learningRate: 0.001, learningRateSchedule: 'constant' }, step, 100), 0.001);
  });

  it('cosine schedule decays to zero', () => {
    const settings = { learningRate: 0.001, learningRateSchedule: 'cosine' as const };
    assert.equal(learningRateAt(settings, 0, 100), 0.001);
    assert.ok(Math.abs(learningRateAt(settings, 50, 100) - 0.0005) < 1e-12);
    assert.ok(learningRateAt(settings, 99, 100) < 1e-6);
    assert.ok(learningRateAt(settings, 30, 100) > learningRateAt(settings, 31, 100));
  });
});
