import * as tf from '@tensorflow/tfjs';
import { UserInputError } from '../config/errors';
import { decodeImage, preprocessImage, type GrayImage, type PreprocessOptions } from '../imaging';
import { ObjectNotFoundError, type ObjectStore } from '../storage';
import { loadModelFromStore, saveModelToStore } from '../training';
import { imagesToBatch } from './dataset';

export type SensorModelVariant = 'shallow' | 'deep';

/** Object written last beside a sensor classifier's model files; readers trust only classifiers that have it. */
export const CLASSIFIER_METADATA_FILE = 'sensor-classifier.json';

/** Inference settings stored beside the weights: labels, input shape and the preprocessing of the training data. */
export interface SensorClassifierMetadata {
  kind: 'whorl.sensor-classifier';
  variant: SensorModelVariant;
  /** Sensor labels in output order: output k is the probability of `sensors[k]`. */
  sensors: string[];
  inputSizePx: number;
  channels: number;
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

/**
 * Converts one query to a model input [1, size, size, channels].
 * - encoded bytes (TIFF, PNG, JPEG, BMP) are decoded, then prepared like the training data;
 * - a GrayImage of any size is prepared like the training data;
 * - a tensor [height, width, channels] is taken as already prepared, with values in [0, 1]
 *   (0 black): another size is resized bilinearly, one channel is repeated to the model's
 *   channels, and any other channel count is rejected.
 */
export function queryToBatch(classifier: SensorClassifier, image: GrayImage | Uint8Array | tf.Tensor3D): tf.Tensor4D {
  const { inputSizePx, channels, preprocess } = classifier.metadata;
  if (image instanceof tf.Tensor) {
    if (image.rank !== 3) {
      throw new UserInputError(`invalid image tensor of shape [${image.shape.join(', ')}]: expected [height, width, channels]`);
    }
    const imageChannels = image.shape[2];
    if (imageChannels !== channels && imageChannels !== 1) {
      throw new UserInputError(`invalid image tensor with ${imageChannels} channels: the sensor classifier expects ${channels} channel(s), or 1 to repeat; convert the image to gray first`);
    }
    return tf.tidy(() => {
      let batch = image.toFloat().mul(2).sub(1).expandDims(0) as tf.Tensor4D;
      if (image.shape[0] !== inputSizePx || image.shape[1] !== inputSizePx) {
        batch = tf.image.resizeBilinear(batch, [inputSizePx, inputSizePx]);
      }
      return imageChannels === channels ? batch : (tf.tile(batch, [1, 1, 1, channels]) as tf.Tensor4D);
    });
  }

  const decoded = image instanceof Uint8Array ? decodeImage(image) : image;
  if (decoded.pixels.length !== decoded.widthPx * decoded.heightPx) {
    throw new UserInputError(`invalid gray image: ${decoded.pixels.length} pixels for ${decoded.widthPx}×${decoded.heightPx}; expected one byte per pixel`);
  }
  const prepared = preprocessImage(decoded, preprocess);
  return imagesToBatch([prepared], { inputSizePx, channels });
}

/** Predicts the sensor that captured one image, with its softmax confidence. */
export function predictSensor(classifier: SensorClassifier, image: GrayImage | Uint8Array | tf.Tensor3D): SensorPrediction {
  const probabilities = tf.tidy(() => {
    const batch = queryToBatch(classifier, image);
    return (classifier.model.predict(batch) as tf.Tensor).dataSync();
  });
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
