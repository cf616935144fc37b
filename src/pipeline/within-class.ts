import { createFeatureMatrix, type FeatureMatrix } from '../hashing/feature-matrix';
import { fitWithinClassNormalization, type WithinClassNormalization, type WithinClassNormalizationOptions } from '../hashing/within-class-normalization';
import type { GrayImage } from '../imaging';
import type { WITHIN_CLASS_CLASSES } from './config';
import { augmentImage } from '../sensors/train';
import { TrainingRandom } from '../training/random';

export type WithinClassClasses = (typeof WITHIN_CLASS_CLASSES)[number];

/** Largest random rotation of an augmented copy, in degrees either way. */
export const COPY_MAX_ROTATION_DEGREES = 10;

/** Largest random shift of an augmented copy, as a share of the image side (12 px on a 192-px canvas). */
export const COPY_MAX_SHIFT_SHARE = 1 / 16;

export interface WithinClassFitInput {
  classes: WithinClassClasses;
  /** The training images, already aligned when the encoder aligns, in the row order of `features`. */
  images: GrayImage[];
  features: FeatureMatrix;
  /** Identity of each training row, read by the identity modes only. */
  identities: ArrayLike<number>;
  /** Augmented copies per training image, read by the augmented modes only. */
  copiesPerImage: number;
  /** Seeds the random shifts and rotations of the copies. */
  seed: number;
  options: WithinClassNormalizationOptions;
  /** The encoder's feature extractor, applied to the augmented copies. */
  extract: (images: GrayImage[]) => FeatureMatrix;
}

/**
 * Fits the within-class normalization of a hashing model on its training
 * rows. In the augmented modes every image gets `copiesPerImage` copies,
 * rotated by up to ±COPY_MAX_ROTATION_DEGREES and shifted by up to
 * COPY_MAX_SHIFT_SHARE of its side, with white filling the uncovered pixels.
 */
export function fitTrainingNormalization(input: WithinClassFitInput): WithinClassNormalization {
  const { classes, images, features, identities } = input;
  if (classes === 'identity') return fitWithinClassNormalization(features, identities, input.options);

  const random = new TrainingRandom(input.seed);
  const copies: GrayImage[] = [];
  const copyOwners: number[] = [];
  images.forEach((image, row) => {
    const limits = { maxRotationDegrees: COPY_MAX_ROTATION_DEGREES, maxShiftPx: Math.round(image.widthPx * COPY_MAX_SHIFT_SHARE) };
    for (let copy = 0; copy < input.copiesPerImage; copy++) {
      copies.push(augmentImage(image, limits, random));
      copyOwners.push(row);
    }
  });
  const copyFeatures = input.extract(copies);
  const rows = new Float32Array((features.rowCount + copyFeatures.rowCount) * features.columnCount);
  rows.set(features.data);
  rows.set(copyFeatures.data, features.data.length);
  const owners = [...Array.from({ length: features.rowCount }, (_, row) => row), ...copyOwners];
  const classLabels = classes === 'augmented' ? owners : owners.map((row) => identities[row]);
  return fitWithinClassNormalization(createFeatureMatrix(rows, owners.length, features.columnCount), classLabels, input.options);
}
