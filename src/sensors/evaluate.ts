import { WHITE, addRandomNoise, createRandom, occludePixels, preparedCanvasGray, rotateImage, type GrayImage } from '../imaging';
import { predictProbabilities, type SensorClassifier } from './classifier';
import type { SensorSample } from './dataset';

/** Correct classification rates and the confusion matrix of one test set. */
export interface SensorEvaluation {
  /** Sensor labels; rows and columns of the confusion matrix follow this order. */
  sensors: string[];
  /** confusion[actual][predicted] counts test images. */
  confusion: number[][];
  /** Correct classification rate per sensor, as a fraction in [0, 1]; NaN for a sensor with no test image. */
  ccrBySensor: Record<string, number>;
  /** Correct classifications over all test images, as a fraction in [0, 1]. */
  aggregateCcr: number;
  testImages: number;
  /** Test images whose predicted sensor is wrong, in test order; present when the images' ids were given. */
  misclassified?: MisclassifiedImage[];
}

/** One wrongly classified test image. */
export interface MisclassifiedImage {
  id: string;
  actual: string;
  predicted: string;
}

/** A perturbation of the robustness tables. */
export type Perturbation = { kind: 'none' } | { kind: 'rotation'; angleDegrees: number } | { kind: 'occlusion'; percent: number } | { kind: 'noise'; percent: number };

/**
 * Perturbation levels of the reference study: rotations of 2, 4, 6, 8 and
 * 15 degrees, occlusion of 1, 5, 10 and 15% of the pixels of a 90×90 patch,
 * and random values on 0.01, 0.05 and 0.1% of the pixels.
 */
export const ROBUSTNESS_PERTURBATIONS: readonly Perturbation[] = [
  ...[2, 4, 6, 8, 15].map((angleDegrees) => ({ kind: 'rotation' as const, angleDegrees })),
  ...[1, 5, 10, 15].map((percent) => ({ kind: 'occlusion' as const, percent })),
  ...[0.01, 0.05, 0.1].map((percent) => ({ kind: 'noise' as const, percent })),
];

/** Side of the occluded patch in the reference study, on its 224-pixel input. */
export const REFERENCE_PATCH_SIZE_PX = 90;
const REFERENCE_INPUT_SIZE_PX = 224;

/** Returns a label such as `rotation 15°`, `occlusion 5%` or `noise 0.01%`. */
export function describePerturbation(perturbation: Perturbation): string {
  switch (perturbation.kind) {
    case 'none':
      return 'none';
    case 'rotation':
      return `rotation ${perturbation.angleDegrees}°`;
    case 'occlusion':
      return `occlusion ${perturbation.percent}%`;
    case 'noise':
      return `noise ${perturbation.percent}%`;
  }
}

/**
 * Applies one perturbation to a prepared image. The occlusion patch keeps
 * the reference study's share of the image: 90 pixels of a 224-pixel input,
 * scaled to the prepared size (35 pixels at 96). `random` draws the patch
 * position, the occluded pixels and the noise. Rotation fills the uncovered
 * corners with `canvasGray`, white by default.
 */
export function perturbImage(image: GrayImage, perturbation: Perturbation, random: ReturnType<typeof createRandom>, canvasGray: number = WHITE): GrayImage {
  switch (perturbation.kind) {
    case 'none':
      return image;
    case 'rotation':
      return rotateImage(image, { angleDegrees: perturbation.angleDegrees, fillValue: canvasGray });
    case 'occlusion': {
      const patchSizePx = Math.max(1, Math.round((REFERENCE_PATCH_SIZE_PX * Math.min(image.widthPx, image.heightPx)) / REFERENCE_INPUT_SIZE_PX));
      return occludePixels(image, { percent: perturbation.percent, random, patchSizePx });
    }
    case 'noise':
      return addRandomNoise(image, { percent: perturbation.percent, random });
  }
}

/** Returns the predicted label of every prepared image: the argmax of `predictProbabilities`, so patch input votes over its crop grid. */
export function predictLabels(classifier: SensorClassifier, images: GrayImage[], batchSize = 64): number[] {
  return predictProbabilities(classifier, images, batchSize).map((row) => {
    let best = 0;
    for (let label = 1; label < row.length; label++) {
      if (row[label] > row[best]) best = label;
    }
    return best;
  });
}

/**
 * Computes CCR per sensor, aggregate CCR and the confusion matrix from true
 * and predicted labels, and with the images' `ids` the list of misclassified images.
 */
export function summarizePredictions(sensors: string[], actual: number[], predicted: number[], ids?: string[]): SensorEvaluation {
  if (actual.length !== predicted.length) {
    throw new Error(`got ${predicted.length} predictions for ${actual.length} test images`);
  }
  if (ids !== undefined && ids.length !== actual.length) {
    throw new Error(`got ${ids.length} image ids for ${actual.length} test images`);
  }
  const confusion = sensors.map(() => sensors.map(() => 0));
  actual.forEach((label, index) => confusion[label][predicted[index]]++);

  const ccrBySensor: Record<string, number> = {};
  let correct = 0;
  sensors.forEach((sensor, row) => {
    const total = confusion[row].reduce((sum, count) => sum + count, 0);
    ccrBySensor[sensor] = total === 0 ? Number.NaN : confusion[row][row] / total;
    correct += confusion[row][row];
  });
  const evaluation: SensorEvaluation = { sensors, confusion, ccrBySensor, aggregateCcr: actual.length === 0 ? Number.NaN : correct / actual.length, testImages: actual.length };
  if (ids !== undefined) {
    evaluation.misclassified = ids.flatMap((id, index) => (actual[index] === predicted[index] ? [] : [{ id, actual: sensors[actual[index]], predicted: sensors[predicted[index]] }]));
  }
  return evaluation;
}

/** Evaluates a classifier on test samples, optionally perturbed with a seeded generator per image. */
export function evaluateSensorClassifier(
  classifier: SensorClassifier,
  samples: SensorSample[],
  options: { perturbation?: Perturbation; seed?: number } = {},
): SensorEvaluation {
  const perturbation = options.perturbation ?? { kind: 'none' };
  const canvasGray = preparedCanvasGray(classifier.metadata.preprocess);
  const images = samples.map((sample) => perturbImage(sample.image, perturbation, createRandom(`${options.seed ?? 0}/${describePerturbation(perturbation)}/${sample.id}`), canvasGray));
  const predicted = predictLabels(classifier, images);
  return summarizePredictions(
    classifier.metadata.sensors,
    samples.map((sample) => sample.label),
    predicted,
    samples.map((sample) => sample.id),
  );
}

export interface RobustnessRow {
  perturbation: Perturbation;
  label: string;
  aggregateCcr: number;
  ccrBySensor: Record<string, number>;
}

/** Evaluates every perturbation of the robustness tables, plus the unperturbed baseline first. */
export function evaluateRobustness(
  classifier: SensorClassifier,
  samples: SensorSample[],
  options: { seed?: number; perturbations?: readonly Perturbation[]; onRow?(row: RobustnessRow): void } = {},
): RobustnessRow[] {
  const rows: RobustnessRow[] = [];
  for (const perturbation of [{ kind: 'none' } as Perturbation, ...(options.perturbations ?? ROBUSTNESS_PERTURBATIONS)]) {
    const evaluation = evaluateSensorClassifier(classifier, samples, { perturbation, seed: options.seed });
    const row = { perturbation, label: describePerturbation(perturbation), aggregateCcr: evaluation.aggregateCcr, ccrBySensor: evaluation.ccrBySensor };
    rows.push(row);
    options.onRow?.(row);
  }
  return rows;
}
