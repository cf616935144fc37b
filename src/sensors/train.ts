import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { UserInputError } from '../config/errors';
import { DEFAULT_FIXED_SCALE_REFERENCE_SIDE_PX, WHITE, preparedCanvasGray, createGrayImage, cropImage, mapGrayLevels, pasteImage, resizeImage, rotateImage, type GrayImage } from '../imaging';
import type { Logger } from '../logging';
import { buildDeepSensorModel, buildShallowSensorModel, setDropoutStep, type ConvolutionInitializer } from '../models';
import type { ObjectStore } from '../storage';
import type { MlflowClient, RunInfo } from '../tracking';
import {
  epochShuffle,
  findLatestCheckpoint,
  modelFromFiles,
  modelToFiles,
  optimizerFromFiles,
  optimizerToFiles,
  runTrainingLoop,
  type EpochRecord,
  type TrainingProgress,
  type TrainingRandom,
} from '../training';
import {
  CLASSIFIER_METADATA_FILE,
  readSensorClassifierMetadata,
  saveSensorClassifier,
  type SensorClassifier,
  type SensorClassifierMetadata,
  type SensorModelVariant,
} from './classifier';
import { labelsToOneHot, loadSensorSplits, stackedViewsToBatch, type SensorSample, type SensorSplits } from './dataset';
import { activeFrameOnlyOptions } from './frame-options';
import { SENSOR_INPUT_MODES, foregroundBox, frameView, modelInputChannels, sampleRandomPatch, usesPatches, type SensorInputMode } from './patches';

/** Bumped when a change to training alters its output, so finished models are not reused across the change. */
export const SENSOR_TRAINING_CODE_VERSION = 2;

export interface SensorTrainingSettings {
  variant: SensorModelVariant;
  /**
   * `whole` resizes each prepared image to the model input, and
   * `whole-and-frame` stacks on it the image's frame stretched to the model
   * input (see `frameView`). `patches` trains on random crops of the model
   * input size cut from the prepared image without resizing, and
   * classifies an image by averaging the softmax outputs of a grid of
   * crops. `patches-and-whole` also stacks the resized whole image on every
   * crop as extra channels.
   */
  input: SensorInputMode;
  /** Model input side. The whole modes resize prepared images of another size to it, and the patch modes cut crops of this side. */
  inputSizePx: number;
  /** Patch modes: random crops taken from every training image in each epoch. */
  trainPatchesPerImage: number;
  /** Patch modes: an image is classified from a grid of testPatchGrid × testPatchGrid crops. */
  testPatchGrid: number;
  /** Channels of each view, the gray value repeated. `whole-and-frame` and `patches-and-whole` models take twice as many. */
  channels: number;
  widthMultiplier: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** `constant` keeps learningRate; `cosine` decays it from learningRate to 0 over all training steps. */
  learningRateSchedule: 'constant' | 'cosine';
  /** Dropout before the classifier of the shallow network. */
  dropoutRate: number;
  /** Kernel initializer of the shallow network's convolutions; the deep network always uses Glorot uniform. */
  convolutionInitializer: ConvolutionInitializer;
  /** Momentum of the deep network's batch-normalization statistics (Keras uses 0.99). */
  batchNormMomentum: number;
  /**
   * Random rotation and shift of every training image, zero for none, and
   * an optional random gamma of its gray levels (see `applyGamma`), absent
   * or 1 for none. `keepFrame` moves only the content inside the image's
   * frame (see `augmentImage`), and `maxFrameRotationDegrees` then turns
   * the whole image, frame included, by up to that angle. `maxContrast`
   * (keep-frame only) scales the content's contrast against white by a
   * random factor (see `applyContrast`).
   */
  augmentation: { maxRotationDegrees: number; maxShiftPx: number; maxGamma?: number; keepFrame?: boolean; maxFrameRotationDegrees?: number; maxContrast?: number };
  /**
   * Repeats the training images of smaller sensors in each epoch until every
   * sensor has as many as the largest, so a sensor with one training image
   * is not outvoted.
   */
  balanceSensors: boolean;
  seed: number;
}

/**
 * Training settings of the reference study: Adam with learning rate 0.001,
 * mini-batches of 64, 15 epochs, 224-pixel RGB input, published widths.
 */
export const PAPER_SENSOR_TRAINING: Omit<SensorTrainingSettings, 'variant' | 'seed'> = {
  input: 'whole',
  inputSizePx: 224,
  trainPatchesPerImage: 1,
  testPatchGrid: 1,
  channels: 3,
  widthMultiplier: 1,
  epochs: 15,
  batchSize: 64,
  learningRate: 0.001,
  learningRateSchedule: 'constant',
  dropoutRate: 0.5,
  convolutionInitializer: 'glorot-uniform',
  batchNormMomentum: 0.99,
  augmentation: { maxRotationDegrees: 0, maxShiftPx: 0 },
  balanceSensors: false,
};

/**
 * A CPU-sized configuration: 64-pixel gray input resized from the whole
 * prepared image, a quarter of the published widths, and Adam at 0.001
 * decayed to 0 on a cosine over 40 epochs. Training balances sensors,
 * because 10% of a small data set leaves a few training images per sensor,
 * and rotates every image randomly by up to ±4°. No shifts, because the
 * white padding around a print is a sensor cue, and a random shift of up
 * to ±4 pixels lowered the mean CCR of both networks on fixed-scale
 * 96-pixel input. The shallow network starts
 * from He-normal weights, because with Glorot-uniform weights it can stay
 * at a uniform softmax. Patch input (`input: 'patches'`) takes 8 random
 * crops per image and epoch and a 3 × 3 test grid with this preset.
 */
export const CPU_SENSOR_TRAINING: Omit<SensorTrainingSettings, 'variant' | 'seed'> = {
  input: 'whole',
  inputSizePx: 64,
  trainPatchesPerImage: 8,
  testPatchGrid: 3,
  channels: 1,
  widthMultiplier: 0.25,
  epochs: 40,
  batchSize: 16,
  learningRate: 0.001,
  learningRateSchedule: 'cosine',
  dropoutRate: 0.5,
  convolutionInitializer: 'he-normal',
  batchNormMomentum: 0.9,
  augmentation: { maxRotationDegrees: 4, maxShiftPx: 0 },
  balanceSensors: true,
};

export interface TrainSensorClassifierRequest {
  store: ObjectStore;
  /** Key of the prepared data set's manifest. */
  manifestKey: string;
  settings: SensorTrainingSettings;
  /** Checkpoint key that stays the same across retries; defaults to one derived from the model hash. */
  runKey?: string;
  /** Prefix under which `sensor-<variant>/<hash>/` is written; default `models/`. */
  modelsPrefix?: string;
  /** MLflow run that receives params, per-epoch metrics and the final model. */
  tracking?: { client: MlflowClient; run: RunInfo };
  onProgress?(progress: TrainingProgress): void;
  signal?: AbortSignal;
  logger?: Logger;
  /** Tensor backend name, recorded in MLflow. */
  backend?: string;
}

export interface TrainSensorClassifierResult {
  /** Prefix of the classifier's files: `models/sensor-<variant>/<hash>/`. */
  modelPrefix: string;
  metadata: SensorClassifierMetadata;
  history: EpochRecord[];
  /** Sum of the epoch durations, including epochs of an interrupted earlier attempt or of a reused classifier. */
  trainingTimeMs: number;
  /** True when a finished classifier with the same hash existed, so nothing was trained. */
  reused: boolean;
  resumedFromEpoch?: number;
}

function validateSettings(settings: SensorTrainingSettings): void {
  for (const name of ['inputSizePx', 'channels', 'epochs', 'batchSize', 'trainPatchesPerImage', 'testPatchGrid'] as const) {
    if (!Number.isInteger(settings[name]) || settings[name] < 1) {
      throw new UserInputError(`invalid sensor training setting ${name}: expected a positive integer, but got ${settings[name]}`);
    }
  }
  if (!(settings.learningRate > 0)) {
    throw new UserInputError(`invalid sensor training setting learningRate: expected a positive number, but got ${settings.learningRate}`);
  }
  if (settings.learningRateSchedule !== 'constant' && settings.learningRateSchedule !== 'cosine') {
    throw new UserInputError(`invalid sensor training setting learningRateSchedule "${String(settings.learningRateSchedule)}": expected constant or cosine`);
  }
  if (!SENSOR_INPUT_MODES.includes(settings.input)) {
    throw new UserInputError(`invalid sensor training setting input "${String(settings.input)}": expected ${SENSOR_INPUT_MODES.join(', ')}`);
  }
  const [ignored] = settings.augmentation.keepFrame === true ? [] : activeFrameOnlyOptions(settings.augmentation);
  if (ignored !== undefined) {
    throw new UserInputError(`invalid sensor augmentation ${ignored}: it applies only with keepFrame: true, and would otherwise be ignored; set keepFrame: true or remove ${ignored}`);
  }
  if (settings.variant !== 'shallow' && settings.variant !== 'deep') {
    throw new UserInputError(`invalid sensor model variant "${String(settings.variant)}": expected shallow or deep`);
  }
}

/**
 * Returns the learning rate of one training step (zero-based, out of
 * `totalSteps`): the constant rate, or with the cosine schedule
 * learningRate × (1 + cos(π × step / totalSteps)) / 2.
 */
export function learningRateAt(settings: Pick<SensorTrainingSettings, 'learningRate' | 'learningRateSchedule'>, step: number, totalSteps: number): number {
  if (settings.learningRateSchedule === 'constant') return settings.learningRate;
  return (settings.learningRate * (1 + Math.cos((Math.PI * step) / totalSteps))) / 2;
}

/** Returns the content hash of a classifier: training code version, settings and the prepared data set's hash. */
export function sensorModelHash(settings: SensorTrainingSettings, datasetHash: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ code: SENSOR_TRAINING_CODE_VERSION, settings, datasetHash }))
    .digest('hex')
    .slice(0, 32);
}

/** Builds the untrained network of a variant from the settings. */
export function buildSensorModel(settings: SensorTrainingSettings, numSensors: number): tf.LayersModel {
  const options = {
    inputSizePx: settings.inputSizePx,
    channels: modelInputChannels(settings.input, settings.channels),
    widthMultiplier: settings.widthMultiplier,
    numSensors,
    seed: settings.seed,
  };
  return settings.variant === 'shallow'
    ? buildShallowSensorModel({ ...options, dropoutRate: settings.dropoutRate, convolutionInitializer: settings.convolutionInitializer })
    : buildDeepSensorModel({ ...options, batchNormMomentum: settings.batchNormMomentum });
}

/**
 * Returns the training sample indices of one epoch before shuffling: every
 * sample once, or with balancing, each sensor's samples repeated in turn up
 * to the count of the largest sensor.
 */
export function epochSampleIndices(labels: number[], balanceSensors: boolean): number[] {
  const all = labels.map((_, index) => index);
  if (!balanceSensors) return all;

  const bySensor = new Map<number, number[]>();
  for (const index of all) {
    const group = bySensor.get(labels[index]);
    if (group === undefined) bySensor.set(labels[index], [index]);
    else group.push(index);
  }
  const largest = Math.max(...[...bySensor.values()].map((group) => group.length));
  const indices: number[] = [];
  for (const label of [...bySensor.keys()].sort((a, b) => a - b)) {
    const group = bySensor.get(label) as number[];
    for (let k = 0; k < largest; k++) indices.push(group[k % group.length]);
  }
  return indices;
}

/**
 * Rotates and shifts one image by random amounts within the limits, filling
 * uncovered pixels with `fillValue` (white by default, else the canvas gray
 * of the prepared data), then applies a random gamma when `maxGamma` is
 * above 1. With `keepFrame`, only the content inside the image's frame (its
 * foreground box against `fillValue`) moves, so the frame keeps its size and
 * position, and the content's uncovered pixels get the median of its border.
 * `maxContrast` then scales the content's contrast against white by a
 * factor c with ln c uniform in [−ln maxContrast, ln maxContrast], and
 * `maxFrameRotationDegrees` turns the whole image by a small angle.
 */
export function augmentImage(image: GrayImage, limits: SensorTrainingSettings['augmentation'], random: TrainingRandom, fillValue: number = WHITE): GrayImage {
  const angleDegrees = (random.nextUniform() * 2 - 1) * limits.maxRotationDegrees;
  const shiftX = Math.round((random.nextUniform() * 2 - 1) * limits.maxShiftPx);
  const shiftY = Math.round((random.nextUniform() * 2 - 1) * limits.maxShiftPx);
  let result: GrayImage;
  if (limits.keepFrame === true) {
    const frame = foregroundBox(image, fillValue);
    const content = cropImage(image, frame);
    result = { widthPx: image.widthPx, heightPx: image.heightPx, pixels: image.pixels.slice() };
    let moved = rotateAndShift(content, angleDegrees, shiftX, shiftY, borderMedian(content));
    const maxContrast = limits.maxContrast ?? 1;
    // Drawn only when set, so settings without it keep their random sequence.
    if (maxContrast > 1) moved = applyContrast(moved, Math.exp((random.nextUniform() * 2 - 1) * Math.log(maxContrast)));
    pasteImage(result, moved, frame.left, frame.top);
    const maxFrameRotationDegrees = limits.maxFrameRotationDegrees ?? 0;
    if (maxFrameRotationDegrees > 0) {
      result = rotateImage(result, { angleDegrees: (random.nextUniform() * 2 - 1) * maxFrameRotationDegrees, fillValue });
    }
  } else {
    result = rotateAndShift(image, angleDegrees, shiftX, shiftY, fillValue);
  }

  const maxGamma = limits.maxGamma ?? 1;
  if (maxGamma > 1) {
    // A log-uniform draw makes γ and 1/γ equally likely.
    const gamma = Math.exp((random.nextUniform() * 2 - 1) * Math.log(maxGamma));
    result = applyGamma(result, gamma);
  }
  return result;
}

function rotateAndShift(image: GrayImage, angleDegrees: number, shiftX: number, shiftY: number, fillValue: number): GrayImage {
  const rotated = angleDegrees !== 0 ? rotateImage(image, { angleDegrees, fillValue }) : image;
  if (shiftX === 0 && shiftY === 0) return rotated;

  const shifted = createGrayImage(image.widthPx, image.heightPx, fillValue);
  pasteImage(shifted, rotated, shiftX, shiftY);
  return shifted;
}

/** Returns the median gray level of the outermost rows and columns of an image. */
export function borderMedian(image: GrayImage): number {
  const { widthPx, heightPx, pixels } = image;
  const counts = new Uint32Array(256);
  let total = 0;
  for (let y = 0; y < heightPx; y++) {
    for (let x = 0; x < widthPx; x++) {
      if (y === 0 || y === heightPx - 1 || x === 0 || x === widthPx - 1) {
        counts[pixels[y * widthPx + x]]++;
        total++;
      }
    }
  }
  let seen = 0;
  for (let level = 0; level < 256; level++) {
    seen += counts[level];
    if (2 * seen >= total) return level;
  }
  return WHITE;
}

/**
 * Maps every gray level v to 255 × (v / 255)^gamma. Black and white stay
 * fixed, so a black or white canvas keeps its level, while a gamma above 1
 * darkens the mid-tones and one below 1 lightens them, as a firmer or
 * lighter finger press does.
 */
export function applyGamma(image: GrayImage, gamma: number): GrayImage {
  if (!(gamma > 0 && Number.isFinite(gamma))) throw new RangeError(`expected gamma to be a positive finite number, but got ${gamma}`);
  return mapGrayLevels(image, (level) => WHITE * Math.pow(level / WHITE, gamma));
}

/**
 * Scales every pixel's darkness by `factor`: v → 255 − factor × (255 − v),
 * clipped to 0–255. White stays white. A factor below 1 fades the ridges
 * as a light touch does, and one above 1 darkens them as a firm press does.
 */
export function applyContrast(image: GrayImage, factor: number): GrayImage {
  if (!(factor > 0 && Number.isFinite(factor))) throw new RangeError(`expected contrast factor to be a positive finite number, but got ${factor}`);
  return mapGrayLevels(image, (level) => WHITE - factor * (WHITE - level));
}

/** Returns whether the augmentation limits change a training image at all. */
function augments(limits: SensorTrainingSettings['augmentation']): boolean {
  const insideFrame = limits.keepFrame === true && activeFrameOnlyOptions(limits).length > 0;
  return limits.maxRotationDegrees > 0 || limits.maxShiftPx > 0 || (limits.maxGamma ?? 1) > 1 || insideFrame;
}

/**
 * One training input before batching: the image or crop, and the view
 * stacked on it as extra channels, which is the frame view in
 * `whole-and-frame` and the resized whole image in `patches-and-whole`.
 */
export interface TrainingView {
  image: GrayImage;
  stacked?: GrayImage;
}

/**
 * Returns one training input: the image after random augmentation with its
 * frame view in `whole-and-frame`, and in the patch modes a random crop of
 * the model input size from it, placed by `sampleRandomPatch`.
 */
export function trainingInput(image: GrayImage, settings: Pick<SensorTrainingSettings, 'input' | 'inputSizePx' | 'augmentation'>, random: TrainingRandom, fillValue: number = WHITE): TrainingView {
  const augmented = augments(settings.augmentation) ? augmentImage(image, settings.augmentation, random, fillValue) : image;
  if (!usesPatches(settings.input)) return wholeView(augmented, settings, fillValue);

  const crop = cropImage(augmented, sampleRandomPatch(augmented, settings.inputSizePx, random, fillValue));
  if (settings.input === 'patches') return { image: crop };
  return { image: crop, stacked: resizeImage(augmented, { widthPx: settings.inputSizePx, heightPx: settings.inputSizePx }) };
}

/** Returns the view of an image in the whole modes: the image, with its frame view in `whole-and-frame`. */
function wholeView(image: GrayImage, settings: Pick<SensorTrainingSettings, 'input' | 'inputSizePx'>, fillValue: number): TrainingView {
  return settings.input === 'whole-and-frame' ? { image, stacked: frameView(image, settings.inputSizePx, fillValue) } : { image };
}

/** Converts training views to one batch, with the stacked views as extra channels when the views have them. */
function viewsToBatch(views: TrainingView[], settings: SensorTrainingSettings): tf.Tensor4D {
  const stacked = views.map((view) => view.stacked);
  const complete = stacked.every((view) => view !== undefined);
  return stackedViewsToBatch(
    views.map((view) => view.image),
    complete ? (stacked as GrayImage[]) : undefined,
    settings,
  );
}

/** Checks that every training image can hold a patch, naming the first one that cannot. */
function validatePatchSizes(samples: SensorSample[], patchSizePx: number): void {
  const small = samples.find((sample) => sample.image.widthPx < patchSizePx || sample.image.heightPx < patchSizePx);
  if (small !== undefined) {
    throw new UserInputError(
      `invalid sensor training data for patch input: image ${small.id} is ${small.image.widthPx}×${small.image.heightPx} pixels, smaller than the ${patchSizePx}-pixel patch; prepare the data at a larger imageSizePx or lower inputSizePx`,
    );
  }
}

/**
 * Logs the training params into the request's MLflow run. The run may be
 * one that an interrupted attempt started, possibly on a worker with
 * another backend, so params already logged keep their first value (see
 * `logParamsOnce`).
 */
async function logTrackingParams(request: TrainSensorClassifierRequest, params: Record<string, string | number>): Promise<void> {
  if (request.tracking === undefined) return;
  const changed = await request.tracking.client.logParamsOnce(request.tracking.run.runId, params);
  if (changed.length > 0) request.logger?.warn({ runId: request.tracking.run.runId, changed }, 'resumed run logged with other param values; the first values stay, the new ones are tags');
}

function trackingParams(settings: SensorTrainingSettings, splits: SensorSplits, parameterCount: number, backend: string | undefined): Record<string, string | number> {
  return {
    variant: settings.variant,
    input_mode: settings.input,
    input_size_px: settings.inputSizePx,
    train_patches_per_image: settings.trainPatchesPerImage,
    test_patch_grid: settings.testPatchGrid,
    channels: settings.channels,
    width_multiplier: settings.widthMultiplier,
    epochs: settings.epochs,
    batch_size: settings.batchSize,
    learning_rate: settings.learningRate,
    learning_rate_schedule: settings.learningRateSchedule,
    dropout_rate: settings.dropoutRate,
    convolution_initializer: settings.convolutionInitializer,
    batch_norm_momentum: settings.batchNormMomentum,
    augment_max_rotation_degrees: settings.augmentation.maxRotationDegrees,
    augment_max_shift_px: settings.augmentation.maxShiftPx,
    ...(settings.augmentation.maxGamma !== undefined ? { augment_max_gamma: settings.augmentation.maxGamma } : {}),
    ...(settings.augmentation.keepFrame !== undefined ? { augment_keep_frame: String(settings.augmentation.keepFrame) } : {}),
    ...(settings.augmentation.maxFrameRotationDegrees !== undefined ? { augment_max_frame_rotation_degrees: settings.augmentation.maxFrameRotationDegrees } : {}),
    ...(settings.augmentation.maxContrast !== undefined ? { augment_max_contrast: settings.augmentation.maxContrast } : {}),
    balance_sensors: String(settings.balanceSensors),
    seed: settings.seed,
    optimizer: 'adam',
    parameter_count: parameterCount,
    num_sensors: splits.sensors.length,
    sensors: splits.sensors.join(',').slice(0, 500),
    train_images: splits.train.length,
    test_images: splits.test.length,
    dataset_hash: splits.datasetHash,
    manifest_key: splits.manifestKey,
    preprocess_variant: splits.preprocess.variant,
    preprocess_fit: splits.preprocess.fit,
    preprocess_image_size_px: splits.preprocess.imageSizePx,
    ...(splits.preprocess.fit === 'fixed-scale' ? { preprocess_fixed_scale_reference_side_px: splits.preprocess.fixedScaleReferenceSidePx ?? DEFAULT_FIXED_SCALE_REFERENCE_SIDE_PX } : {}),
    ...(splits.preprocess.canvasGray !== undefined ? { preprocess_canvas_gray: splits.preprocess.canvasGray } : {}),
    ...(backend !== undefined ? { tensor_backend: backend } : {}),
  };
}

/** Sums the epoch durations of a training history: the training time across attempts, without checkpoint writes. */
function totalDurationMs(history: EpochRecord[]): number {
  return history.reduce((sum, record) => sum + record.durationMs, 0);
}

/** Logs the given epochs, the total training time and the model files to the request's MLflow run. */
async function logFinishedTraining(request: TrainSensorClassifierRequest, modelPrefix: string, epochs: EpochRecord[], trainingTimeMs: number): Promise<void> {
  if (request.tracking === undefined) return;
  const { client, run } = request.tracking;
  const metrics = epochs.flatMap((record) => [
    { key: 'loss', value: record.loss, step: record.epoch },
    ...Object.entries(record.metrics).map(([key, value]) => ({ key, value, step: record.epoch })),
  ]);
  await client.logBatch(run.runId, { metrics: [...metrics, { key: 'training_time_ms', value: trainingTimeMs }] });
  for (const name of ['model.json', 'weights.bin', CLASSIFIER_METADATA_FILE]) {
    await client.logArtifact(run, `model/${name}`, await request.store.get(modelPrefix + name));
  }
}

/**
 * Trains a sensor classifier on the train split of a prepared data set and
 * writes it to `models/sensor-<variant>/<hash>/`. Training runs in the
 * shared loop, so it checkpoints every epoch and resumes after a crash. A
 * finished classifier with the same hash is reused without training.
 */
export async function trainSensorClassifier(request: TrainSensorClassifierRequest, loadedSplits?: SensorSplits): Promise<TrainSensorClassifierResult> {
  const { settings, store } = request;
  validateSettings(settings);
  const splits = loadedSplits ?? (await loadSensorSplits(store, request.manifestKey));
  const hash = sensorModelHash(settings, splits.datasetHash);
  const modelPrefix = `${request.modelsPrefix ?? 'models/'}sensor-${settings.variant}/${hash}/`;
  const runKey = request.runKey ?? `sensor-${hash.slice(0, 16)}`;
  const stage = `sensor-${settings.variant}`;

  const existing = await readSensorClassifierMetadata(store, modelPrefix);
  if (existing !== undefined) {
    const history = (await findLatestCheckpoint(store, runKey, stage))?.manifest.history ?? [];
    const trainingTimeMs = totalDurationMs(history);
    if (request.tracking !== undefined) {
      await logTrackingParams(request, trackingParams(settings, splits, existing.parameterCount, request.backend));
      await logFinishedTraining(request, modelPrefix, history, trainingTimeMs);
    }
    request.logger?.info({ modelPrefix }, 'reused finished sensor classifier');
    return { modelPrefix, metadata: existing, history, trainingTimeMs, reused: true };
  }

  const model = buildSensorModel(settings, splits.sensors.length);
  const optimizer = tf.train.adam(settings.learningRate);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const parameterCount = model.countParams();
  await logTrackingParams(request, trackingParams(settings, splits, parameterCount, request.backend));

  const patches = usesPatches(settings.input);
  if (patches) validatePatchSizes(splits.train, settings.inputSizePx);
  const canvasGray = preparedCanvasGray(splits.preprocess);
  // The patch modes cut new crops every step, so only the whole modes keep their training inputs as one tensor.
  const inputs = patches
    ? tf.zeros([0, settings.inputSizePx, settings.inputSizePx, modelInputChannels(settings.input, settings.channels)])
    : viewsToBatch(
        splits.train.map((sample) => wholeView(sample.image, settings, canvasGray)),
        settings,
      );
  const targets = labelsToOneHot(
    splits.train.map((sample) => sample.label),
    splits.sensors.length,
  );
  const imageIndices = epochSampleIndices(
    splits.train.map((sample) => sample.label),
    settings.balanceSensors,
  );
  const epochIndices = patches ? Array.from({ length: settings.trainPatchesPerImage }, () => imageIndices).flat() : imageIndices;
  const augment = augments(settings.augmentation);
  const sampleCount = epochIndices.length;
  const batchSize = Math.min(settings.batchSize, sampleCount);
  const batchesPerEpoch = Math.ceil(sampleCount / batchSize);
  let order: number[] = [];

  try {
    const result = await runTrainingLoop({
      stage,
      runKey,
      epochs: settings.epochs,
      batchesPerEpoch,
      seed: settings.seed,
      store,
      tracking: request.tracking === undefined ? undefined : { client: request.tracking.client, runId: request.tracking.run.runId },
      onProgress: request.onProgress,
      signal: request.signal,
      logger: request.logger,
      keepCheckpoints: 2,
      async trainStep(epoch, batch, context) {
        if (batch === 0) order = epochShuffle({ seed: settings.seed, epoch, sampleCount }).map((position) => epochIndices[position]);
        setDropoutStep(model, context.globalStep);
        // NOTE: tfjs keeps Adam's rate in a protected field that applyGradients reads on every step (tfjs-core 4.22), so assigning it changes the rate.
        (optimizer as unknown as { learningRate: number }).learningRate = learningRateAt(settings, context.globalStep, settings.epochs * batchesPerEpoch);
        const batchIndices = order.slice(batch * batchSize, (batch + 1) * batchSize);
        const indices = tf.tensor1d(batchIndices, 'int32');
        const x =
          augment || patches
            ? viewsToBatch(
                batchIndices.map((index) => trainingInput(splits.train[index].image, settings, context.random, canvasGray)),
                settings,
              )
            : tf.gather(inputs, indices);
        const y = tf.gather(targets, indices);
        try {
          const [loss, accuracy] = (await model.trainOnBatch(x, y)) as number[];
          return { loss, metrics: { accuracy } };
        } finally {
          tf.dispose([indices, x, y]);
        }
      },
      async saveState() {
        return { ...(await modelToFiles(model)), ...(await optimizerToFiles(optimizer)) };
      },
      async loadState(files) {
        const restored = await modelFromFiles(files);
        model.setWeights(restored.getWeights());
        restored.dispose();
        await optimizerFromFiles(optimizer, files);
      },
    });

    const metadata: SensorClassifierMetadata = {
      kind: 'whorl.sensor-classifier',
      variant: settings.variant,
      sensors: splits.sensors,
      inputSizePx: settings.inputSizePx,
      channels: settings.channels,
      input: settings.input,
      testPatchGrid: settings.testPatchGrid,
      widthMultiplier: settings.widthMultiplier,
      parameterCount,
      preprocess: splits.preprocess,
      datasetHash: splits.datasetHash,
      seed: settings.seed,
    };
    const classifier: SensorClassifier = { model, metadata };
    await saveSensorClassifier(classifier, store, modelPrefix);
    const trainingTimeMs = totalDurationMs(result.history);

    if (request.tracking !== undefined) {
      // Epochs of an earlier attempt were logged to whichever run that attempt had, so they are logged here again.
      const earlier = result.history.filter((record) => result.resumedFromEpoch !== undefined && record.epoch <= result.resumedFromEpoch);
      await logFinishedTraining(request, modelPrefix, earlier, trainingTimeMs);
    }
    return { modelPrefix, metadata, history: result.history, trainingTimeMs, reused: false, resumedFromEpoch: result.resumedFromEpoch };
  } finally {
    tf.dispose([inputs, targets]);
    model.dispose();
  }
}
