import * as tf from '@tensorflow/tfjs';
import { UserInputError } from '../config/errors';
import { DEFAULT_FIXED_SCALE_REFERENCE_SIDE_PX, decodeImage, preparedCanvasGray, preprocessImage, resizeImage, type GrayImage, type PreprocessOptions } from '../imaging';
import { ObjectNotFoundError, type ObjectStore } from '../storage';
import { loadModelFromStore, saveModelToStore } from '../training';
import { imagesToBatch, stackedViewsToBatch } from './dataset';
import { averagePatchProbabilities, cropGridPatches, frameView, usesPatches, type SensorInputMode } from './patches';

export type SensorModelVariant = 'shallow' | 'deep';

/** Object written last beside a sensor classifier's model files; readers trust only classifiers that have it. */
export const CLASSIFIER_METADATA_FILE = 'sensor-classifier.json';

/** Inference settings stored beside the weights: labels, input shape and the preprocessing of the training data. */
export interface SensorClassifierMetadata {
  kind: 'whorl.sensor-classifier';
  variant: SensorModelVariant;
  /** Sensor labels in output order: output k is the probability of `sensors[k]`. */
  sensors: string[];
  /** Model input side; in the patch modes also the side of each crop. */
  inputSizePx: number;
  /** Channels of each view. `whole-and-frame` and `patches-and-whole` models take twice as many. */
  channels: number;
  /** Input mode; classifiers written before patch input have none and read as `whole`. */
  input?: SensorInputMode;
  /** Patch modes: the test crops of an image form a grid of this side, whose softmax outputs are averaged. */
  testPatchGrid?: number;
  widthMultiplier: number;
  parameterCount: number;
  preprocess: PreprocessOptions;
  /** Prepared data set the classifier was trained on. */
  datasetHash: string;
  seed: number;
}

export interface SensorClassifier {
  model: tf.LayersModel;
  metadata: SensorClassifierMetadata;
}

export interface SensorPrediction {
  sensor: string;
  /** Softmax probability of the predicted sensor. */
  confidence: number;
  /** Probability of every sensor, in the order of `metadata.sensors`. */
  probabilities: Record<string, number>;
}

/** Writes a classifier under `prefix`: model files first, the metadata last. */
export async function saveSensorClassifier(classifier: SensorClassifier, store: ObjectStore, prefix: string): Promise<void> {
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  await saveModelToStore(classifier.model, store, base);
  await store.put(base + CLASSIFIER_METADATA_FILE, JSON.stringify(classifier.metadata, null, 2), { contentType: 'application/json' });
}

/** Reads the metadata of a classifier, or undefined when no complete classifier exists under `prefix`. */
export async function readSensorClassifierMetadata(store: ObjectStore, prefix: string): Promise<SensorClassifierMetadata | undefined> {
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  try {
    return JSON.parse(Buffer.from(await store.get(base + CLASSIFIER_METADATA_FILE)).toString('utf8')) as SensorClassifierMetadata;
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return undefined;
    throw error;
  }
}

/** Loads a classifier that `saveSensorClassifier` wrote. */
export async function loadSensorClassifier(store: ObjectStore, prefix: string): Promise<SensorClassifier> {
  const metadata = await readSensorClassifierMetadata(store, prefix);
  if (metadata === undefined) {
    throw new UserInputError(`no sensor classifier under ${prefix} in ${store.location}: ${CLASSIFIER_METADATA_FILE} not found; train one first or check the model prefix`);
  }
  return { model: await loadModelFromStore(store, prefix), metadata };
}

/** Returns the input mode of a classifier; classifiers without one were trained on whole images. */
export function classifierInputMode(metadata: SensorClassifierMetadata): SensorInputMode {
  return metadata.input ?? 'whole';
}

/** Images per model call in the patch modes, so one call takes at most about 256 crops. */
function imagesPerPatchBatch(cropsPerImage: number): number {
  return Math.max(1, Math.floor(256 / cropsPerImage));
}

/**
 * Returns the softmax probabilities of every prepared image, one row per
 * image in the order of `metadata.sensors`. The whole modes take one input
 * per image (`modelInputBatch`). In the patch modes each image contributes
 * the `testPatchGrid`² crops of `cropGridPatches`, and its row is the mean
 * of their softmax outputs.
 */
export function predictProbabilities(classifier: SensorClassifier, images: GrayImage[], batchSize = 64): Float32Array[] {
  const { metadata } = classifier;
  const classCount = metadata.sensors.length;
  const patches = usesPatches(classifierInputMode(metadata));
  const gridSide = patches ? (metadata.testPatchGrid ?? 1) : 1;
  const cropsPerImage = gridSide * gridSide;
  const imagesPerBatch = patches ? imagesPerPatchBatch(cropsPerImage) : batchSize;
  const rows: Float32Array[] = [];
  for (let start = 0; start < images.length; start += imagesPerBatch) {
    const chunk = images.slice(start, start + imagesPerBatch);
    const values = tf.tidy(() => (classifier.model.predict(modelInputBatch(chunk, metadata)) as tf.Tensor).dataSync());
    rows.push(...averagePatchProbabilities(values, { cropsPerImage, classCount }));
  }
  return rows;
}

/**
 * Builds the model input of prepared images in the classifier's input
 * mode: each image resized (`whole`), stacked with its frame view
 * (`whole-and-frame`), or cut into its test crop grid (the patch modes,
 * see `gridPatchBatch`).
 */
export function modelInputBatch(images: GrayImage[], metadata: SensorClassifierMetadata): tf.Tensor4D {
  const mode = classifierInputMode(metadata);
  if (usesPatches(mode)) return gridPatchBatch(images, metadata);
  if (mode === 'whole') return imagesToBatch(images, metadata);
  const canvasGray = preparedCanvasGray(metadata.preprocess);
  return stackedViewsToBatch(
    images,
    images.map((image) => frameView(image, metadata.inputSizePx, canvasGray)),
    metadata,
  );
}

/**
 * Builds the patch-mode model input of prepared images: the
 * `testPatchGrid`² grid crops of each image, placed against the canvas gray
 * of the training data. In `patches-and-whole` each crop is stacked with
 * the whole image resized to the crop size.
 */
export function gridPatchBatch(images: GrayImage[], metadata: SensorClassifierMetadata): tf.Tensor4D {
  const gridSide = metadata.testPatchGrid ?? 1;
  const canvasGray = preparedCanvasGray(metadata.preprocess);
  const crops = images.flatMap((image) => cropGridPatches(image, metadata.inputSizePx, gridSide, canvasGray));
  const wholeImages =
    metadata.input === 'patches-and-whole'
      ? images.flatMap((image) => Array<GrayImage>(gridSide * gridSide).fill(resizeImage(image, { widthPx: metadata.inputSizePx, heightPx: metadata.inputSizePx })))
      : undefined;
  return stackedViewsToBatch(crops, wholeImages, metadata);
}

/** Checks the shape of a query tensor [height, width, channels] against the classifier's channels. */
function validateQueryTensor(classifier: SensorClassifier, image: tf.Tensor): void {
  const { channels } = classifier.metadata;
  if (image.rank !== 3) {
    throw new UserInputError(`invalid image tensor of shape [${image.shape.join(', ')}]: expected [height, width, channels]`);
  }
  const imageChannels = image.shape[2] as number;
  if (imageChannels !== channels && imageChannels !== 1) {
    throw new UserInputError(`invalid image tensor with ${imageChannels} channels: the sensor classifier expects ${channels} channel(s), or 1 to repeat; convert the image to gray first`);
  }
}

/** Decodes encoded bytes or takes a gray image, checks its pixel count and prepares it like the training data. */
function prepareQueryImage(classifier: SensorClassifier, image: GrayImage | Uint8Array): GrayImage {
  const decoded = image instanceof Uint8Array ? decodeImage(image) : image;
  if (decoded.pixels.length !== decoded.widthPx * decoded.heightPx) {
    throw new UserInputError(`invalid gray image: ${decoded.pixels.length} pixels for ${decoded.widthPx}×${decoded.heightPx}; expected one byte per pixel`);
  }

  const { fit, fixedScaleReferenceSidePx = DEFAULT_FIXED_SCALE_REFERENCE_SIDE_PX } = classifier.metadata.preprocess;
  if (fit === 'fixed-scale' && (decoded.widthPx > fixedScaleReferenceSidePx || decoded.heightPx > fixedScaleReferenceSidePx)) {
    throw new UserInputError(
      `image ${decoded.widthPx}×${decoded.heightPx} is larger than the fixed-scale reference side of ${fixedScaleReferenceSidePx} px that the sensor classifier was trained with. ` +
        `Crop it to at most ${fixedScaleReferenceSidePx}×${fixedScaleReferenceSidePx}, or train on data prepared with a larger fixedScaleReferenceSidePx`,
    );
  }
  return preprocessImage(decoded, classifier.metadata.preprocess);
}

/**
 * Converts a prepared query tensor [height, width, channels] with values in
 * [0, 1] to a gray image of the prepared size, from which the input modes
 * other than `whole` build their views. The first channel is kept, scaled
 * to 0–255, and another size is resized bilinearly.
 */
function tensorToPreparedImage(classifier: SensorClassifier, image: tf.Tensor3D): GrayImage {
  const sizePx = classifier.metadata.preprocess.imageSizePx;
  const values = tf.tidy(() => {
    let gray = image.toFloat().slice([0, 0, 0], [-1, -1, 1]).mul(255) as tf.Tensor3D;
    if (image.shape[0] !== sizePx || image.shape[1] !== sizePx) gray = tf.image.resizeBilinear(gray, [sizePx, sizePx]);
    return gray.clipByValue(0, 255).round().dataSync();
  });
  return { widthPx: sizePx, heightPx: sizePx, pixels: Uint8Array.from(values) };
}

/**
 * Converts one query to a model input [1, size, size, channels] for whole
 * input mode.
 * - encoded bytes (TIFF, PNG, JPEG, BMP) are decoded, then prepared like the training data;
 * - a GrayImage of any size is prepared like the training data;
 * - a tensor [height, width, channels] is taken as already prepared, with values in [0, 1]
 *   (0 black): another size is resized bilinearly, one channel is repeated to the model's
 *   channels, and any other channel count is rejected.
 */
export function queryToBatch(classifier: SensorClassifier, image: GrayImage | Uint8Array | tf.Tensor3D): tf.Tensor4D {
  const { inputSizePx, channels } = classifier.metadata;
  if (!(image instanceof tf.Tensor)) return imagesToBatch([prepareQueryImage(classifier, image)], { inputSizePx, channels });

  validateQueryTensor(classifier, image);
  const imageChannels = image.shape[2];
  return tf.tidy(() => {
    let batch = image.toFloat().mul(2).sub(1).expandDims(0) as tf.Tensor4D;
    if (image.shape[0] !== inputSizePx || image.shape[1] !== inputSizePx) {
      batch = tf.image.resizeBilinear(batch, [inputSizePx, inputSizePx]);
    }
    return imageChannels === channels ? batch : (tf.tile(batch, [1, 1, 1, channels]) as tf.Tensor4D);
  });
}

/** Returns the softmax probabilities of one query, averaged over the test crop grid in the patch modes. */
function queryProbabilities(classifier: SensorClassifier, image: GrayImage | Uint8Array | tf.Tensor3D): Float32Array {
  if (classifierInputMode(classifier.metadata) === 'whole') {
    return tf.tidy(() => (classifier.model.predict(queryToBatch(classifier, image)) as tf.Tensor).dataSync() as Float32Array);
  }
  if (image instanceof tf.Tensor) {
    validateQueryTensor(classifier, image);
    return predictProbabilities(classifier, [tensorToPreparedImage(classifier, image)])[0];
  }
  return predictProbabilities(classifier, [prepareQueryImage(classifier, image)])[0];
}

/**
 * Predicts the sensor that captured one image, with its softmax confidence.
 * Queries are prepared as in `queryToBatch`, and the model input is built
 * as the evaluation builds it (`modelInputBatch`), so in the patch modes the
 * prediction averages the softmax outputs of the test crop grid.
 */
export function predictSensor(classifier: SensorClassifier, image: GrayImage | Uint8Array | tf.Tensor3D): SensorPrediction {
  const probabilities = queryProbabilities(classifier, image);
  const { sensors } = classifier.metadata;
  if (probabilities.length !== sensors.length) {
    throw new Error(`sensor classifier returned ${probabilities.length} probabilities for ${sensors.length} sensors; its metadata does not match its model`);
  }
  let best = 0;
  for (let index = 1; index < probabilities.length; index++) {
    if (probabilities[index] > probabilities[best]) best = index;
  }
  return {
    sensor: sensors[best],
    confidence: probabilities[best],
    probabilities: Object.fromEntries(sensors.map((sensor, index) => [sensor, probabilities[index]])),
  };
}
