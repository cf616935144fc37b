import type { Random } from '../imaging/random';

/**
 * A 2-D affine transform as the six numbers [a, b, tx, c, d, ty] of the
 * 2×3 matrix that maps a point (x, y) of the target image to the point
 *   (a·x + b·y + tx, c·x + d·y + ty)
 * of the source image. Both are in normalized coordinates, where x runs from
 * -1 at the centre of the left column to +1 at the centre of the right
 * column, and y from -1 at the top row to +1 at the bottom row. Warping the source
 * with this transform samples it at the mapped points, so it produces an
 * image in the target's frame (the convention of CNNGeometric and of
 * PyTorch's affine_grid with align_corners=True).
 */
export type AffineParameters = [number, number, number, number, number, number];

export const IDENTITY_AFFINE: Readonly<AffineParameters> = [1, 0, 0, 0, 1, 0];

/** Ranges of the random transforms that make synthetic training pairs. */
export interface AffineSamplingRanges {
  /** Rotation is uniform in ±maxRotationDegrees. */
  maxRotationDegrees: number;
  /** Shear factor (x += shear·y) is uniform in ±maxShear. */
  maxShear: number;
  /** Scale of each axis is uniform in [minScale, maxScale], independently. */
  minScale: number;
  maxScale: number;
  /** Translation of each axis is uniform in ±maxTranslation, in normalized units (0.25 is 12.5% of the width). */
  maxTranslation: number;
}

/**
 * Rotation ±15°, anisotropic scale 0.75–1.25 and translation ±0.25, as
 * used to train CNNGeometric's affine stage (Rocco et al., CVPR 2017).
 * The shear range of ±0.15 is this project's choice.
 */
export const DEFAULT_SAMPLING_RANGES: Readonly<AffineSamplingRanges> = {
  maxRotationDegrees: 15,
  maxShear: 0.15,
  minScale: 0.75,
  maxScale: 1.25,
  maxTranslation: 0.25,
};

/** The parts a sampled transform was built from, kept for evaluation by rotation range. */
export interface AffineComponents {
  rotationDegrees: number;
  shear: number;
  scaleX: number;
  scaleY: number;
  translationX: number;
  translationY: number;
}

/** Builds the transform rotation · shear · scale, then translation. */
export function composeAffine(components: AffineComponents): AffineParameters {
  const radians = (components.rotationDegrees * Math.PI) / 180;
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);

  // Linear part R · H · S with H = [[1, shear], [0, 1]] and S = diag(scaleX, scaleY).
  const h00 = components.scaleX;
  const h01 = components.shear * components.scaleY;
  const h10 = 0;
  const h11 = components.scaleY;
  const a = cos * h00 - sin * h10;
  const b = cos * h01 - sin * h11;
  const c = sin * h00 + cos * h10;
  const d = sin * h01 + cos * h11;
  return [a, b, components.translationX, c, d, components.translationY];
}

/** Draws one random transform within the given ranges. */
export function sampleAffine(random: Random, ranges: AffineSamplingRanges = DEFAULT_SAMPLING_RANGES): { parameters: AffineParameters; components: AffineComponents } {
  const components: AffineComponents = {
    rotationDegrees: random.uniform(-ranges.maxRotationDegrees, ranges.maxRotationDegrees),
    shear: random.uniform(-ranges.maxShear, ranges.maxShear),
    scaleX: random.uniform(ranges.minScale, ranges.maxScale),
    scaleY: random.uniform(ranges.minScale, ranges.maxScale),
    translationX: random.uniform(-ranges.maxTranslation, ranges.maxTranslation),
    translationY: random.uniform(-ranges.maxTranslation, ranges.maxTranslation),
  };
  return { parameters: composeAffine(components), components };
}

/** Maps one normalized point with the transform. */
export function applyAffine(parameters: Readonly<AffineParameters>, x: number, y: number): [number, number] {
  const [a, b, tx, c, d, ty] = parameters;
  return [a * x + b * y + tx, c * x + d * y + ty];
}

/** Returns the transform that applies `second` after `first`: p ↦ second(first(p)). */
export function chainAffine(first: Readonly<AffineParameters>, second: Readonly<AffineParameters>): AffineParameters {
  const [a1, b1, tx1, c1, d1, ty1] = first;
  const [a2, b2, tx2, c2, d2, ty2] = second;
  return [
    a2 * a1 + b2 * c1,
    a2 * b1 + b2 * d1,
    a2 * tx1 + b2 * ty1 + tx2,
    c2 * a1 + d2 * c1,
    c2 * b1 + d2 * d1,
    c2 * tx1 + d2 * ty1 + ty2,
  ];
}

/** Inverts the transform; throws when the linear part is singular. */
export function invertAffine(parameters: Readonly<AffineParameters>): AffineParameters {
  const [a, b, tx, c, d, ty] = parameters;
  const determinant = a * d - b * c;
  if (!Number.isFinite(determinant) || determinant === 0) {
    throw new RangeError(`cannot invert affine transform [${parameters.join(', ')}]: its determinant is ${determinant}`);
  }
  const ia = d / determinant;
  const ib = -b / determinant;
  const ic = -c / determinant;
  const id = a / determinant;
  return [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)];
}

/** Singular values of the linear part [[a, b], [c, d]], largest first. */
export function singularValues(parameters: Readonly<AffineParameters>): [number, number] {
  const [a, b, , c, d] = parameters;
  const sumOfSquares = a * a + b * b + c * c + d * d;
  const determinant = a * d - b * c;
  const discriminant = Math.sqrt(Math.max(0, sumOfSquares * sumOfSquares - 4 * determinant * determinant));
  const largest = Math.sqrt((sumOfSquares + discriminant) / 2);
  const smallest = Math.sqrt(Math.max(0, (sumOfSquares - discriminant) / 2));
  return [largest, smallest];
}

/** Points of a regular n×n grid spanning [-1, 1]² row by row, as [x0, y0, x1, y1, …]. */
export function regularGridPoints(pointsPerSide: number): Float32Array {
  if (!Number.isInteger(pointsPerSide) || pointsPerSide < 2) {
    throw new RangeError(`expected pointsPerSide to be an integer of at least 2, but got ${pointsPerSide}`);
  }
  const points = new Float32Array(pointsPerSide * pointsPerSide * 2);
  for (let row = 0; row < pointsPerSide; row++) {
    for (let column = 0; column < pointsPerSide; column++) {
      const index = (row * pointsPerSide + column) * 2;
      points[index] = -1 + (2 * column) / (pointsPerSide - 1);
      points[index + 1] = -1 + (2 * row) / (pointsPerSide - 1);
    }
  }
  return points;
}

/**
 * Mean Euclidean distance, in normalized units, between the points of a
 * pointsPerSide² grid moved by the two transforms. Multiply by
 * (sizePx - 1) / 2 for pixels of a sizePx-wide image.
 */
export function meanGridPointDistance(predicted: Readonly<AffineParameters>, expected: Readonly<AffineParameters>, pointsPerSide = 20): number {
  const points = regularGridPoints(pointsPerSide);
  let total = 0;
  for (let i = 0; i < points.length; i += 2) {
    const [px, py] = applyAffine(predicted, points[i], points[i + 1]);
    const [ex, ey] = applyAffine(expected, points[i], points[i + 1]);
    total += Math.hypot(px - ex, py - ey);
  }
  return total / (points.length / 2);
}
