import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UserInputError } from '../../src/config/errors';
import { createFeatureMatrix, type FeatureMatrix } from '../../src/hashing/feature-matrix';

/** IDX magic numbers: unsigned bytes, 3 dimensions (images) or 1 dimension (labels). */
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

export interface MnistSet {
  /** Pixels scaled to [0, 1], one 784-value row per image. */
  images: FeatureMatrix;
  labels: Int32Array;
}

/**
 * Reads a gzipped IDX image file and its label file. The decompressed sizes
 * are checked against the headers, so a truncated download fails here and not
 * in a benchmark number.
 */
export function loadMnist(imagesPath: string, labelsPath: string): MnistSet {
  const images = gunzipSync(readFileSync(imagesPath));
  const labels = gunzipSync(readFileSync(labelsPath));

  const imageMagic = images.readUInt32BE(0);
  const labelMagic = labels.readUInt32BE(0);
  if (imageMagic !== IMAGES_MAGIC || labelMagic !== LABELS_MAGIC) {
    throw new UserInputError(
      `unexpected IDX magic numbers 0x${imageMagic.toString(16)} in ${imagesPath} and 0x${labelMagic.toString(16)} in ${labelsPath}: ` +
        'expected 0x803 (images) and 0x801 (labels). Check that the files are the MNIST IDX files',
    );
  }

  const count = images.readUInt32BE(4);
  const rows = images.readUInt32BE(8);
  const columns = images.readUInt32BE(12);
  const labelCount = labels.readUInt32BE(4);
  const expectedImageBytes = 16 + count * rows * columns;
  if (images.length !== expectedImageBytes || labels.length !== 8 + labelCount || labelCount !== count) {
    throw new UserInputError(
      `MNIST files are truncated or mismatched: ${images.length} image bytes (header implies ${expectedImageBytes}), ` +
        `${labels.length} label bytes for ${labelCount} labels and ${count} images. Fetch the files again`,
    );
  }

  const pixelCount = rows * columns;
  const pixels = new Float32Array(count * pixelCount);
  for (let i = 0; i < pixels.length; i++) {
    pixels[i] = images[16 + i] / 255;
  }
  const labelValues = Int32Array.from(labels.subarray(8));
  return { images: createFeatureMatrix(pixels, count, pixelCount), labels: labelValues };
}
