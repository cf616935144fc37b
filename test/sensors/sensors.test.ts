import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { UserInputError } from '../../src/config/errors';
import { addRandomNoise, createRandom, encodePng, occludePixels, rotateImage, type GrayImage } from '../../src/imaging';
import {
  CPU_SENSOR_TRAINING,
  applyContrast,
  applyGamma,
  augmentImage,
  borderMedian,
  epochSampleIndices,
  evaluateSensorRun,
  loadSensorClassifier,
  loadSensorSplits,
  perturbImage,
  predictSensor,
  renderFeatureMaps,
  tileFeatureMap,
  misclassifiedMarkdown,
  summarizePredictions,
  trainSensorClassifier,
  validateSensorCounts,
  type SensorTrainingSettings,
} from '../../src/sensors';
import { TrainingRandom, listCheckpointEpochs } from '../../src/training';
import { sensorImage, tempStore, writePreparedDataset } from './support';

const SIZE_PX = 32;
const SENSORS = ['sensor-a', 'sensor-b', 'sensor-c'];

function tinySettings(overrides: Partial<SensorTrainingSettings> = {}): SensorTrainingSettings {
  return {
    ...CPU_SENSOR_TRAINING,
    variant: 'shallow',
    seed: 11,
    input: 'whole',
    inputSizePx: SIZE_PX,
    trainPatchesPerImage: 1,
    testPatchGrid: 1,
    widthMultiplier: 0.0625,
    epochs: 2,
    batchSize: 4,
    learningRate: 0.003,
    augmentation: { maxRotationDegrees: 3, maxShiftPx: 1 },
    ...overrides,
  };
}

/** Mean absolute difference over the pixels within `radiusPx` of the centre. */
function centralDifference(a: GrayImage, b: GrayImage, radiusPx: number): number {
  let sum = 0;
  let count = 0;
  const center = (a.widthPx - 1) / 2;
  for (let y = 0; y < a.heightPx; y++) {
    for (let x = 0; x < a.widthPx; x++) {
      if ((x - center) ** 2 + (y - center) ** 2 > radiusPx ** 2) continue;
      sum += Math.abs(a.pixels[y * a.widthPx + x] - b.pixels[y * a.widthPx + x]);
      count++;
    }
  }
  return sum / count;
}

/** Draws a smooth test pattern, so bilinear interpolation error stays small. */
function smoothImage(sizePx: number): GrayImage {
  const pixels = new Uint8Array(sizePx * sizePx);
  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) pixels[y * sizePx + x] = Math.round(128 + 100 * Math.sin(x / 6) * Math.cos(y / 9));
  }
  return { widthPx: sizePx, heightPx: sizePx, pixels };
}

describe('sensor robustness transforms', () => {
  for (const angleDegrees of [2, 4, 6, 8, 15]) {
    it(`rotation by ${angleDegrees}° then back recovers image`, () => {
      const image = smoothImage(96);
      const restored = rotateImage(rotateImage(image, { angleDegrees }), { angleDegrees: -angleDegrees });
      // Inside the disc that never leaves the frame, only interpolation error remains.
      assert.ok(centralDifference(image, restored, 40) < 2, `mean error ${centralDifference(image, restored, 40)}`);
      assert.ok(centralDifference(image, rotateImage(image, { angleDegrees }), 40) > 5, 'rotation changed nothing');
    });
  }

  for (const percent of [1, 5, 10, 15]) {
    it(`occlusion of ${percent}% touches exact share`, () => {
      const image: GrayImage = { widthPx: 200, heightPx: 150, pixels: new Uint8Array(200 * 150).fill(180) };
      const occluded = occludePixels(image, { percent, random: createRandom(percent), patchSizePx: 90 });
      const changed: number[] = [];
      occluded.pixels.forEach((value, index) => {
        if (value !== 180) changed.push(index);
      });
      assert.equal(changed.length, Math.round((percent / 100) * 90 * 90));
      const xs = changed.map((index) => index % 200);
      const ys = changed.map((index) => Math.floor(index / 200));
      assert.ok(Math.max(...xs) - Math.min(...xs) < 90, 'changed pixels span more than the patch width');
      assert.ok(Math.max(...ys) - Math.min(...ys) < 90, 'changed pixels span more than the patch height');
    });
  }

  for (const percent of [0.01, 0.05, 0.1]) {
    it(`noise on ${percent}% replaces that many pixels`, () => {
      const image: GrayImage = { widthPx: 300, heightPx: 300, pixels: new Uint8Array(300 * 300).fill(7) };
      const noisy = addRandomNoise(image, { percent, random: createRandom(3) });
      const changed = noisy.pixels.reduce((count, value) => count + (value !== 7 ? 1 : 0), 0);
      // A replaced pixel may draw its old value 7 by chance, so allow one or two fewer.
      assert.ok(changed <= Math.round((percent / 100) * 300 * 300));
      assert.ok(changed >= Math.round((percent / 100) * 300 * 300) - 2);
    });
  }

  it('occlusion patch scales with input', () => {
    const image: GrayImage = { widthPx: 96, heightPx: 96, pixels: new Uint8Array(96 * 96).fill(180) };
    const occluded = perturbImage(image, { kind: 'occlusion', percent: 10 }, createRandom(1));
    const changed = occluded.pixels.reduce((count, value) => count + (value !== 180 ? 1 : 0), 0);
    // 90 pixels of 224 scaled to 96 is a 39-pixel patch.
    assert.equal(changed, Math.round(0.1 * 39 * 39));
  });
});

describe('sensor training frame', () => {
  /** Draws a 20×30 print of gray levels 100–199 centred on a black 64-pixel canvas. */
  function framedPrint(): GrayImage {
    const image = { widthPx: 64, heightPx: 64, pixels: new Uint8Array(64 * 64) };
    for (let y = 17; y < 47; y++) for (let x = 22; x < 42; x++) image.pixels[y * 64 + x] = 100 + ((x * 7 + y * 3) % 100);
    return image;
  }

  it('keepFrame moves content inside its frame', () => {
    const image = framedPrint();
    const random = new TrainingRandom(8);
    for (let draw = 0; draw < 10; draw++) {
      const moved = augmentImage(image, { maxRotationDegrees: 10, maxShiftPx: 3, keepFrame: true }, random, 0);
      const outsideChanged = moved.pixels.some((value, index) => image.pixels[index] === 0 && value !== 0);
      const insideBlack = moved.pixels.some((value, index) => image.pixels[index] !== 0 && value === 0);
      assert.equal(outsideChanged, false, `draw ${draw} changed the canvas`);
      assert.equal(insideBlack, false, `draw ${draw} left canvas gray inside the frame`);
    }
    assert.notDeepEqual(augmentImage(image, { maxRotationDegrees: 10, maxShiftPx: 3, keepFrame: true }, random, 0).pixels, image.pixels);
  });

  it('without keepFrame the frame turns', () => {
    const image = framedPrint();
    const moved = augmentImage(image, { maxRotationDegrees: 10, maxShiftPx: 0 }, new TrainingRandom(8), 0);
    // A turned frame covers canvas pixels next to its corners.
    assert.ok(moved.pixels.some((value, index) => image.pixels[index] === 0 && value !== 0));
  });

  it('maxFrameRotationDegrees turns kept frame', () => {
    const image = framedPrint();
    const moved = augmentImage(image, { maxRotationDegrees: 0, maxShiftPx: 0, keepFrame: true, maxFrameRotationDegrees: 10 }, new TrainingRandom(8), 0);
    assert.ok(moved.pixels.some((value, index) => image.pixels[index] === 0 && value !== 0));
  });

  it('contrast changes only content', () => {
    const image = framedPrint();
    const random = new TrainingRandom(5);
    const factors = new Set<number>();
    for (let draw = 0; draw < 20; draw++) {
      const changed = augmentImage(image, { maxRotationDegrees: 0, maxShiftPx: 0, keepFrame: true, maxContrast: 2 }, random, 0);
      assert.ok(
        changed.pixels.every((value, index) => image.pixels[index] !== 0 || value === 0),
        `draw ${draw} changed the canvas`,
      );
      // Level 155 is 100 below white, so a factor in [1/2, 2] puts it between 55 and 205.
      const index = image.pixels.indexOf(155);
      assert.ok(changed.pixels[index] >= 55, `level 155 became ${changed.pixels[index]}`);
      assert.ok(changed.pixels[index] <= 205, `level 155 became ${changed.pixels[index]}`);
      factors.add(changed.pixels[index]);
    }
    assert.ok(factors.size > 5, `only ${factors.size} distinct levels in 20 draws`);
  });

  it('applyContrast scales darkness against white', () => {
    const levels: GrayImage = { widthPx: 3, heightPx: 1, pixels: Uint8Array.from([0, 155, 255]) };
    assert.deepEqual([...applyContrast(levels, 0.5).pixels], [128, 205, 255]);
    assert.deepEqual([...applyContrast(levels, 2).pixels], [0, 55, 255]);
    assert.throws(() => applyContrast(levels, Number.NaN), /expected contrast factor to be a positive finite number, but got NaN/);
  });

  it('borderMedian reads only the outermost pixels', () => {
    const image = { widthPx: 4, heightPx: 4, pixels: Uint8Array.from([9, 9, 9, 9, 9, 0, 0, 9, 9, 0, 0, 9, 9, 9, 9, 200]) };
    assert.equal(borderMedian(image), 9);
  });
});

describe('sensor training gamma', () => {
  const levels: GrayImage = { widthPx: 3, heightPx: 1, pixels: Uint8Array.from([0, 64, 255]) };

  it('applyGamma keeps black and white', () => {
    assert.deepEqual([...applyGamma(levels, 2).pixels], [0, Math.round(255 * (64 / 255) ** 2), 255]);
    assert.deepEqual([...applyGamma(levels, 0.5).pixels], [0, Math.round(255 * Math.sqrt(64 / 255)), 255]);
    assert.throws(() => applyGamma(levels, 0), /expected gamma to be a positive finite number, but got 0/);
  });

  it('augmentImage draws gamma within limits', () => {
    const random = new TrainingRandom(3);
    const seen = new Set<number>();
    for (let draw = 0; draw < 50; draw++) {
      const [black, middle, white] = augmentImage(levels, { maxRotationDegrees: 0, maxShiftPx: 0, maxGamma: 2 }, random).pixels;
      assert.equal(black, 0);
      assert.equal(white, 255);
      // γ in [1/2, 2] puts 64 between 255 × (64/255)^2 = 16 and 255 × (64/255)^0.5 = 128.
      assert.ok(middle >= 16, `level 64 became ${middle}`);
      assert.ok(middle <= 128, `level 64 became ${middle}`);
      seen.add(middle);
    }
    assert.ok(seen.size > 10, `only ${seen.size} distinct levels in 50 draws`);
  });
});

describe('sensor evaluation summary', () => {
  it('computes CCR and confusion matrix', () => {
    const summary = summarizePredictions(['a', 'b'], [0, 0, 0, 1, 1], [0, 0, 1, 1, 1]);
    assert.deepEqual(summary.confusion, [
      [2, 1],
      [0, 2],
    ]);
    assert.equal(summary.ccrBySensor.a, 2 / 3);
    assert.equal(summary.ccrBySensor.b, 1);
    assert.equal(summary.aggregateCcr, 4 / 5);
  });

  it('lists misclassified images', () => {
    const summary = summarizePredictions(['a', 'b'], [0, 0, 1, 1], [0, 1, 0, 1], ['x1', 'x2', 'y1', 'y2']);
    assert.deepEqual(summary.misclassified, [
      { id: 'x2', actual: 'a', predicted: 'b' },
      { id: 'y1', actual: 'b', predicted: 'a' },
    ]);
    assert.equal(misclassifiedMarkdown(summary), 'Misclassified images:\n\n- `x2`: a → b\n- `y1`: b → a');
    assert.equal(misclassifiedMarkdown(summarizePredictions(['a', 'b'], [0, 1], [0, 1], ['x1', 'y1'])), 'Misclassified images: none.');
    assert.throws(() => summarizePredictions(['a', 'b'], [0, 1], [0, 1], ['x1']), /got 1 image ids for 2 test images/);
  });

  it('balancing repeats smaller sensors', () => {
    const indices = epochSampleIndices([0, 0, 0, 1], true);
    assert.deepEqual(indices, [0, 1, 2, 3, 3, 3]);
    assert.deepEqual(epochSampleIndices([0, 0, 0, 1], false), [0, 1, 2, 3]);
  });
});

describe('sensor data checks', () => {
  it('rejects data set with one sensor', () => {
    assert.throws(
      () => validateSensorCounts([{ sensor: 'only' }], [{ sensor: 'only' }]),
      (error: Error) => error instanceof UserInputError && /at least 2 sensors, but the data set has only sensor "only"/.test(error.message),
    );
  });

  it('rejects sensor without train images', () => {
    assert.throws(() => validateSensorCounts([{ sensor: 'a' }], [{ sensor: 'a' }, { sensor: 'b' }]), /sensor\(s\) b have no image in the train split/);
  });

  it('loading one-sensor data set fails clearly', async () => {
    const store = tempStore();
    const manifestKey = await writePreparedDataset(store, { sensors: ['lonely'], imagesPerSensor: 4, trainPerSensor: 2, sizePx: SIZE_PX });
    await assert.rejects(loadSensorSplits(store, manifestKey), /needs images from at least 2 sensors/);
  });
});

describe('sensor classifier training', function () {
  this.timeout(120_000);

  before(async () => {
    await tf.setBackend('cpu');
  });

  it('resumed training matches uninterrupted run', async () => {
    const settings = tinySettings();

    const referenceStore = tempStore();
    const referenceKey = await writePreparedDataset(referenceStore, { sensors: SENSORS, imagesPerSensor: 6, trainPerSensor: 3, sizePx: SIZE_PX });
    const reference = await trainSensorClassifier({ store: referenceStore, manifestKey: referenceKey, settings, runKey: 'run' });

    const store = tempStore();
    const manifestKey = await writePreparedDataset(store, { sensors: SENSORS, imagesPerSensor: 6, trainPerSensor: 3, sizePx: SIZE_PX });
    const controller = new AbortController();
    await assert.rejects(
      trainSensorClassifier({
        store,
        manifestKey,
        settings,
        runKey: 'run',
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.epoch === 1 && progress.batch === 0) controller.abort(new Error('simulated worker crash'));
        },
      }),
      /simulated worker crash/,
    );
    assert.deepEqual(await listCheckpointEpochs(store, 'run', 'sensor-shallow'), [0]);

    const resumed = await trainSensorClassifier({ store, manifestKey, settings, runKey: 'run' });
    assert.equal(resumed.resumedFromEpoch, 0);
    assert.equal(resumed.modelPrefix, reference.modelPrefix);
    assert.deepEqual(
      resumed.history.map((record) => record.loss),
      reference.history.map((record) => record.loss),
    );
    assert.deepEqual(await store.get(`${resumed.modelPrefix}weights.bin`), await referenceStore.get(`${reference.modelPrefix}weights.bin`));

    const again = await trainSensorClassifier({ store, manifestKey, settings, runKey: 'run' });
    assert.equal(again.reused, true);
  });

  for (const variant of ['shallow', 'deep'] as const) {
    it(`${variant} classifier trains, predicts, reports`, async () => {
      const store = tempStore();
      const manifestKey = await writePreparedDataset(store, { sensors: SENSORS, imagesPerSensor: 8, trainPerSensor: 4, sizePx: SIZE_PX });
      const trained = await trainSensorClassifier({ store, manifestKey, settings: tinySettings({ variant, epochs: 4, augmentation: { maxRotationDegrees: 0, maxShiftPx: 0 } }) });
      const losses = trained.history.map((record) => record.loss);
      assert.ok(losses[losses.length - 1] < losses[0], `losses ${losses.join(', ')}`);

      const result = await evaluateSensorRun({ store, modelPrefix: trained.modelPrefix, manifestKey, reportPrefix: 'reports/test/', seed: 1, skipRobustness: variant === 'deep' });
      assert.equal(result.evaluation.testImages, 12);
      assert.equal(result.evaluation.confusion.flat().reduce((sum, count) => sum + count, 0), 12);
      assert.equal(result.robustness.length, variant === 'deep' ? 0 : 13);
      assert.ok(result.reportKeys.includes('reports/test/evaluation.json'));
      assert.ok(result.reportKeys.some((key) => key.endsWith('.png')));

      const classifier = await loadSensorClassifier(store, trained.modelPrefix);
      const prediction = predictSensor(classifier, sensorImage(1, SIZE_PX, 'query'));
      assert.ok(SENSORS.includes(prediction.sensor));
      assert.ok(prediction.confidence > 0);
      assert.ok(prediction.confidence <= 1);
      const total = Object.values(prediction.probabilities).reduce((sum, value) => sum + value, 0);
      assert.ok(Math.abs(total - 1) < 1e-4);
    });
  }
});

describe('sensor patch classifier', function () {
  this.timeout(120_000);

  before(async () => {
    await tf.setBackend('cpu');
  });

  it('trains on crops and votes', async () => {
    const store = tempStore();
    const manifestKey = await writePreparedDataset(store, { sensors: SENSORS, imagesPerSensor: 6, trainPerSensor: 3, sizePx: SIZE_PX });
    const settings = tinySettings({ input: 'patches', inputSizePx: 16, trainPatchesPerImage: 2, testPatchGrid: 2, epochs: 2, augmentation: { maxRotationDegrees: 0, maxShiftPx: 0 } });
    const trained = await trainSensorClassifier({ store, manifestKey, settings });
    assert.equal(trained.metadata.input, 'patches');
    assert.equal(trained.metadata.testPatchGrid, 2);
    assert.equal(trained.history.length, 2);

    const result = await evaluateSensorRun({ store, modelPrefix: trained.modelPrefix, manifestKey, reportPrefix: 'reports/patches/', seed: 1, skipRobustness: true });
    assert.equal(result.evaluation.testImages, 9);

    const classifier = await loadSensorClassifier(store, trained.modelPrefix);
    const prediction = predictSensor(classifier, sensorImage(2, SIZE_PX, 'patch-query'));
    assert.ok(SENSORS.includes(prediction.sensor));
    const total = Object.values(prediction.probabilities).reduce((sum, value) => sum + value, 0);
    assert.ok(Math.abs(total - 1) < 1e-4);
  });

  it('rejects frame options without keepFrame', async () => {
    const store = tempStore();
    const manifestKey = await writePreparedDataset(store, { sensors: SENSORS, imagesPerSensor: 2, trainPerSensor: 1, sizePx: SIZE_PX });
    for (const [name, augmentation] of [
      ['maxContrast', { maxRotationDegrees: 0, maxShiftPx: 0, maxContrast: 2 }],
      ['maxFrameRotationDegrees', { maxRotationDegrees: 0, maxShiftPx: 0, maxFrameRotationDegrees: 3 }],
    ] as const) {
      await assert.rejects(
        trainSensorClassifier({ store, manifestKey, settings: tinySettings({ augmentation }) }),
        (error: Error) => error instanceof UserInputError && error.message.includes(`invalid sensor augmentation ${name}: it applies only with keepFrame: true`),
      );
    }
  });

  it('rejects images smaller than patch', async () => {
    const store = tempStore();
    const manifestKey = await writePreparedDataset(store, { sensors: SENSORS, imagesPerSensor: 4, trainPerSensor: 2, sizePx: SIZE_PX });
    await assert.rejects(
      trainSensorClassifier({ store, manifestKey, settings: tinySettings({ input: 'patches', inputSizePx: 48 }) }),
      (error: Error) => error instanceof UserInputError && /32×32 pixels, smaller than the 48-pixel patch/.test(error.message),
    );
  });
});

/** Trains a one-epoch classifier on 4 prepared images per sensor, 2 of them for training, with the given preparation. */
async function trainOneEpochClassifier(preparation: Pick<Parameters<typeof writePreparedDataset>[1], 'fit' | 'fixedScaleReferenceSidePx'>): Promise<Awaited<ReturnType<typeof loadSensorClassifier>>> {
  await tf.setBackend('cpu');
  const store = tempStore();
  const manifestKey = await writePreparedDataset(store, { sensors: SENSORS, imagesPerSensor: 4, trainPerSensor: 2, sizePx: SIZE_PX, ...preparation });
  const trained = await trainSensorClassifier({ store, manifestKey, settings: tinySettings({ epochs: 1 }) });
  return loadSensorClassifier(store, trained.modelPrefix);
}

describe('fixed-scale sensor classifier', function () {
  this.timeout(60_000);
  let classifier: Awaited<ReturnType<typeof loadSensorClassifier>>;

  before(async () => {
    classifier = await trainOneEpochClassifier({ fit: 'fixed-scale', fixedScaleReferenceSidePx: 64 });
  });

  it('stores fit and reference side', () => {
    assert.equal(classifier.metadata.preprocess.fit, 'fixed-scale');
    assert.equal(classifier.metadata.preprocess.fixedScaleReferenceSidePx, 64);
  });

  it('predicts image within reference side', () => {
    const prediction = predictSensor(classifier, { widthPx: 48, heightPx: 40, pixels: new Uint8Array(48 * 40).fill(90) });
    assert.ok(SENSORS.includes(prediction.sensor));
  });

  it('rejects image over reference side', () => {
    const wide = { widthPx: 100, heightPx: 50, pixels: new Uint8Array(100 * 50) };
    assert.throws(() => predictSensor(classifier, wide), UserInputError);
    assert.throws(() => predictSensor(classifier, wide), /image 100×50 is larger than the fixed-scale reference side of 64 px/);
  });
});

describe('sensor prediction input', function () {
  this.timeout(60_000);
  let classifier: Awaited<ReturnType<typeof loadSensorClassifier>>;

  before(async () => {
    classifier = await trainOneEpochClassifier({});
  });

  it('accepts gray image of another size', () => {
    const prediction = predictSensor(classifier, sensorImage(0, 77, 'large'));
    assert.ok(SENSORS.includes(prediction.sensor));
  });

  it('accepts encoded PNG bytes', () => {
    const prediction = predictSensor(classifier, encodePng(sensorImage(2, 40, 'png')));
    assert.ok(SENSORS.includes(prediction.sensor));
  });

  it('resizes tensor of another size', () => {
    const prediction = predictSensor(classifier, tf.fill([50, 50, 1], 0.5) as tf.Tensor3D);
    assert.ok(SENSORS.includes(prediction.sensor));
  });

  it('rejects tensor with wrong channels', () => {
    assert.throws(() => predictSensor(classifier, tf.zeros([32, 32, 3]) as tf.Tensor3D), /3 channels: the sensor classifier expects 1 channel/);
  });

  it('rejects tensor of wrong rank', () => {
    assert.throws(() => predictSensor(classifier, tf.zeros([32, 32]) as unknown as tf.Tensor3D), /expected \[height, width, channels\]/);
  });

  it('rejects truncated gray image', () => {
    assert.throws(() => predictSensor(classifier, { widthPx: 10, heightPx: 10, pixels: new Uint8Array(50) }), /50 pixels for 10×10/);
  });

  it('enlarges small feature-map tiles', () => {
    const tiles = tileFeatureMap(tf.randomUniform([4, 4, 2], 0, 1, 'float32', 1) as tf.Tensor3D, 16, 64);
    assert.equal(tiles.widthPx, 2 * 65 - 1);
    assert.equal(tiles.heightPx, 64);
  });

  it('draws feature maps of named layers', () => {
    const pngs = renderFeatureMaps(classifier, sensorImage(0, SIZE_PX, 'maps'), ['block1_conv1', 'block2_conv2']);
    assert.deepEqual(Object.keys(pngs), ['block1_conv1', 'block2_conv2']);
    assert.deepEqual(Array.from(pngs.block1_conv1.subarray(1, 4)), [0x50, 0x4e, 0x47]);
    assert.throws(() => renderFeatureMaps(classifier, sensorImage(0, SIZE_PX, 'maps'), ['no_such_layer']), /unknown layer\(s\) no_such_layer/);
  });
});
