import type { Random } from '../../imaging/random';

/** A singular point of the ridge flow: a core (loop centre) or a delta (triradius). */
export interface SingularPoint {
  x: number;
  y: number;
}

export type FingerprintClass = 'arch' | 'tented-arch' | 'left-loop' | 'right-loop' | 'whorl';
export const FINGERPRINT_CLASSES: readonly FingerprintClass[] = ['arch', 'tented-arch', 'left-loop', 'right-loop', 'whorl'];

export interface OrientationModel {
  fingerprintClass: FingerprintClass;
  cores: SingularPoint[];
  deltas: SingularPoint[];
  /** Ridge orientation far from the singular points, in radians (0 is horizontal). */
  baseAngle: number;
}

/**
 * Places cores and deltas for a class on a canvas of the given size, with
 * random jitter. Arches get a core–delta pair below the canvas, whose
 * distant influence bends the ridges into an arch.
 */
export function sampleOrientationModel(widthPx: number, heightPx: number, random: Random): OrientationModel {
  const fingerprintClass = FINGERPRINT_CLASSES[random.integer(FINGERPRINT_CLASSES.length)];
  const centerX = widthPx / 2 + random.uniform(-0.06, 0.06) * widthPx;
  const centerY = heightPx * random.uniform(0.4, 0.5);
  const jitter = (scale: number): number => random.uniform(-scale, scale);
  let cores: SingularPoint[] = [];
  let deltas: SingularPoint[] = [];
  switch (fingerprintClass) {
    case 'arch':
      cores = [{ x: centerX, y: heightPx * 1.05 }];
      deltas = [{ x: centerX, y: heightPx * 1.25 }];
      break;
    case 'tented-arch':
      cores = [{ x: centerX, y: centerY }];
      deltas = [{ x: centerX + jitter(8), y: centerY + heightPx * random.uniform(0.12, 0.18) }];
      break;
    case 'left-loop':
    case 'right-loop': {
      const side = fingerprintClass === 'left-loop' ? 1 : -1;
      cores = [{ x: centerX - side * widthPx * 0.05, y: centerY - heightPx * 0.05 }];
      deltas = [{ x: centerX + side * widthPx * random.uniform(0.22, 0.3), y: centerY + heightPx * random.uniform(0.2, 0.28) }];
      break;
    }
    case 'whorl': {
      const separation = heightPx * random.uniform(0.05, 0.09);
      cores = [
        { x: centerX + jitter(6), y: centerY - separation / 2 },
        { x: centerX + jitter(6), y: centerY + separation / 2 },
      ];
      deltas = [
        { x: centerX - widthPx * random.uniform(0.26, 0.32), y: centerY + heightPx * random.uniform(0.24, 0.3) },
        { x: centerX + widthPx * random.uniform(0.26, 0.32), y: centerY + heightPx * random.uniform(0.24, 0.3) },
      ];
      break;
    }
  }
  return { fingerprintClass, cores, deltas, baseAngle: jitter(0.12) };
}

/**
 * Computes the ridge orientation at every pixel with the zero-pole model of
 * Sherlock and Monro (1993): half the sum of the angles towards the deltas
 * minus half the sum towards the cores. Values are radians, defined modulo π.
 */
export function computeOrientationField(model: OrientationModel, widthPx: number, heightPx: number): Float32Array {
  const field = new Float32Array(widthPx * heightPx);
  for (let y = 0; y < heightPx; y++) {
    for (let x = 0; x < widthPx; x++) {
      let angle = model.baseAngle;
      // Image rows grow downwards, which mirrors the angles of the model's upward y axis.
      for (const delta of model.deltas) angle -= 0.5 * Math.atan2(y - delta.y, x - delta.x);
      for (const core of model.cores) angle += 0.5 * Math.atan2(y - core.y, x - core.x);
      field[y * widthPx + x] = angle;
    }
  }
  return field;
}
