import * as tf from '@tensorflow/tfjs';
import { UserInputError } from '../config/errors';
import { readPreparedImages, readPreparedManifest, type PreparationSettings, type PreparedImage } from '../datasets';
import { resizeImage, type GrayImage } from '../imaging';
import type { ObjectStore } from '../storage';

/** One labelled image of the sensor-classification protocol. */
export interface SensorSample {
  id: string;
  dataset: string;
  database: string;
  sensor: string;
  /** Index of `sensor` in the data set's sorted sensor list. */
  label: number;
  image: GrayImage;
}

/** The train and test splits of a prepared data set, with the sensor labels both share. */
export interface SensorSplits {
  manifestKey: string;
  /** Content hash of the prepared data set. */
  datasetHash: string;
  /** Sensor labels in sorted order; a sample's label indexes this list. */
  sensors: string[];
  train: SensorSample[];
  test: SensorSample[];
  /** Preprocessing of the prepared images, so inference can prepare a query the same way. */
  preprocess: Pick<PreparationSettings, 'imageSizePx' | 'fit' | 'fixedScaleReferenceSidePx' | 'canvasGray' | 'variant' | 'normalization'>;
}

/**
 * Checks that a sample set can train a classifier: at least two sensors,
 * each with at least one training image. Raises UserInputError naming the
 * sensors and their counts otherwise.
 */
export function validateSensorCounts(train: Array<{ sensor: string }>, test: Array<{ sensor: string }>): string[] {
  const sensors = [...new Set([...train, ...test].map((sample) => sample.sensor))].sort();
  if (sensors.length < 2) {
    throw new UserInputError(
      `sensor classification needs images from at least 2 sensors, but the data set has ${sensors.length === 0 ? 'no images' : `only sensor "${sensors[0]}"`}; add a source from another sensor to the data config`,
    );
  }
  const trainSensors = new Set(train.map((sample) => sample.sensor));
  const missing = sensors.filter((sensor) => !trainSensors.has(sensor));
  if (missing.length > 0) {
    throw new UserInputError(
      `sensor(s) ${missing.join(', ')} have no image in the train split, so the classifier cannot learn them; add images (a sensor needs at least 2 for a train/test split) or raise splits.sensorTrainFraction`,
    );
  }
  return sensors;
}

function toSample(image: PreparedImage, sensors: string[]): SensorSample {
  return {
    id: image.id,
    dataset: image.dataset,
    database: image.database,
    sensor: image.sensor,
    label: sensors.indexOf(image.sensor),
    image: { widthPx: image.width, heightPx: image.height, pixels: image.pixels },
  };
}

/** Reads a prepared data set and returns its sensor-classification splits. */
export async function loadSensorSplits(store: ObjectStore, manifestKey: string): Promise<SensorSplits> {
  const manifest = await readPreparedManifest(store, manifestKey);
  const images = await readPreparedImages(store, manifestKey);
  const train = images.filter((image) => image.split === 'train');
  const test = images.filter((image) => image.split === 'test');
  const sensors = validateSensorCounts(train, test);
  const { imageSizePx, fit, fixedScaleReferenceSidePx, canvasGray, variant, normalization } = manifest.settings;
  return {
    manifestKey,
    datasetHash: manifest.hash,
    sensors,
    train: train.map((image) => toSample(image, sensors)),
    test: test.map((image) => toSample(image, sensors)),
    preprocess: { imageSizePx, fit, fixedScaleReferenceSidePx, ...(canvasGray !== undefined ? { canvasGray } : {}), variant, normalization },
  };
}

/**
 * Converts gray images to a float batch [n, size, size, channels] in
 * [-1, 1], black at -1, because zero-centred inputs train faster in a
 * network without batch normalization. Images of another size are resized
 * (all prepared images are square), and the gray value is repeated over the
 * channels.
 */
export function imagesToBatch(images: GrayImage[], options: { inputSizePx: number; channels: number }): tf.Tensor4D {
  const { inputSizePx, channels } = options;
  const pixelsPerImage = inputSizePx * inputSizePx;
  const values = new Float32Array(images.length * pixelsPerImage * channels);
  images.forEach((original, index) => {
    const image =
      original.widthPx === inputSizePx && original.heightPx === inputSizePx ? original : resizeImage(original, { widthPx: inputSizePx, heightPx: inputSizePx });
    const offset = index * pixelsPerImage * channels;
    for (let pixel = 0; pixel < pixelsPerImage; pixel++) {
      const value = image.pixels[pixel] / 127.5 - 1;
      for (let channel = 0; channel < channels; channel++) values[offset + pixel * channels + channel] = value;
    }
  });
  return tf.tensor4d(values, [images.length, inputSizePx, inputSizePx, channels]);
}

/**
 * Converts views to a float batch like `imagesToBatch`. With `stacked`, the
 * batch has twice the channels: each view's channels first, then those of
 * its stacked view (the whole image of a crop, or the frame of a whole
 * image), resized to the input size.
 */
export function stackedViewsToBatch(views: GrayImage[], stacked: GrayImage[] | undefined, options: { inputSizePx: number; channels: number }): tf.Tensor4D {
  if (stacked === undefined) return imagesToBatch(views, options);
  if (stacked.length !== views.length) {
    throw new Error(`got ${stacked.length} stacked views for ${views.length} views; expected one each`);
  }
  return tf.tidy(() => tf.concat([imagesToBatch(views, options), imagesToBatch(stacked, options)], 3));
}

/** One-hot labels [n, numSensors]. */
export function labelsToOneHot(labels: number[], numSensors: number): tf.Tensor2D {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), numSensors).toFloat() as tf.Tensor2D);
}
