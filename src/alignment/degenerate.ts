import { singularValues, type AffineParameters } from './affine';

/**
 * Bounds outside which a predicted transform is treated as degenerate. The
 * defaults leave a wide margin around the training ranges (scale 0.75–1.25,
 * shear ±0.15, translation ±0.25, whose singular values stay within
 * about 0.6–1.5), so only a transform the network cannot have meant is flagged.
 */
export interface DegeneracyLimits {
  /** Smallest allowed singular value of the linear part; below it the transform collapses the image towards a line. */
  minSingularValue: number;
  /** Largest allowed singular value; above it the transform samples a small patch blown up. */
  maxSingularValue: number;
  /** Largest allowed ratio of the two singular values. */
  maxConditionNumber: number;
  /** Largest allowed translation per axis, in normalized units (2 is the image width). */
  maxTranslation: number;
}

export const DEFAULT_DEGENERACY_LIMITS: Readonly<DegeneracyLimits> = {
  minSingularValue: 0.25,
  maxSingularValue: 4,
  maxConditionNumber: 6,
  maxTranslation: 1.5,
};

/** Result of checking one transform against DegeneracyLimits. */
export interface TransformCheck {
  degenerate: boolean;
  /** One sentence per violated limit; empty when the transform is usable. */
  reasons: string[];
  determinant: number;
  singularValues: [number, number];
  conditionNumber: number;
}

/**
 * Checks whether a transform is near-singular, mirrored, extreme or not
 * finite. A mirrored transform (negative determinant) is degenerate because
 * no two impressions of a finger are mirror images of each other.
 */
export function checkAffineTransform(parameters: Readonly<AffineParameters>, limits: Readonly<DegeneracyLimits> = DEFAULT_DEGENERACY_LIMITS): TransformCheck {
  const reasons: string[] = [];
  if (parameters.length !== 6 || !parameters.every(Number.isFinite)) {
    reasons.push(`parameters [${parameters.join(', ')}] are not six finite numbers`);
    return { degenerate: true, reasons, determinant: Number.NaN, singularValues: [Number.NaN, Number.NaN], conditionNumber: Number.NaN };
  }

  const [a, b, tx, c, d, ty] = parameters;
  const determinant = a * d - b * c;
  const [largest, smallest] = singularValues(parameters);
  const conditionNumber = smallest > 0 ? largest / smallest : Number.POSITIVE_INFINITY;
  if (determinant <= 0) reasons.push(`determinant ${determinant.toFixed(4)} is not positive, so the transform mirrors or collapses the image`);
  if (smallest < limits.minSingularValue) reasons.push(`smallest singular value ${smallest.toFixed(4)} is below ${limits.minSingularValue}`);
  if (largest > limits.maxSingularValue) reasons.push(`largest singular value ${largest.toFixed(4)} is above ${limits.maxSingularValue}`);
  if (conditionNumber > limits.maxConditionNumber) reasons.push(`condition number ${conditionNumber.toFixed(3)} is above ${limits.maxConditionNumber}`);
  if (Math.abs(tx) > limits.maxTranslation || Math.abs(ty) > limits.maxTranslation) {
    reasons.push(`translation (${tx.toFixed(4)}, ${ty.toFixed(4)}) exceeds ±${limits.maxTranslation}`);
  }
  return { degenerate: reasons.length > 0, reasons, determinant, singularValues: [largest, smallest], conditionNumber };
}

/** Raised where a caller asked for a usable transform and the network predicted a degenerate one. */
export class DegenerateTransformError extends Error {
  override readonly name = 'DegenerateTransformError';
  constructor(readonly parameters: Readonly<AffineParameters>, readonly check: TransformCheck) {
    super(`predicted affine transform [${parameters.map((value) => value.toFixed(4)).join(', ')}] is degenerate: ${check.reasons.join('; ')}`);
  }
}
