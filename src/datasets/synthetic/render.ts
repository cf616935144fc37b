import type { GrayImage } from '../../imaging/gray-image';
import { createRandom, type Random } from '../../imaging/random';
import { computeOrientationField, sampleOrientationModel, type FingerprintClass } from './orientation-field';
import { growRidgePattern } from './ridge-pattern';
import type { SensorProfile } from './sensor-profiles';

/** Master size in pixels at 500 dpi: about 13 × 16 mm of finger pad. */
export const MASTER_WIDTH_PX = 256;
export const MASTER_HEIGHT_PX = 320;

/** A finger's ridge pattern before any sensor captures it: ridge values in [−1, 1] and its class. */
export interface MasterFingerprint {
  fingerprintClass: FingerprintClass;
  ridges: Float32Array;
  widthPx: number;
  heightPx: number;
}

/** Generates the master pattern of one finger from its seed. */
export function generateMasterFingerprint(seed: string): MasterFingerprint {
  const random = createRandom(`${seed}/master`);
  const model = sampleOrientationModel(MASTER_WIDTH_PX, MASTER_HEIGHT_PX, random);
  const orientation = computeOrientationField(model, MASTER_WIDTH_PX, MASTER_HEIGHT_PX);
  const ridges = growRidgePattern({ orientation, widthPx: MASTER_WIDTH_PX, heightPx: MASTER_HEIGHT_PX, periodPx: random.uniform(8.5, 10.5), iterations: 4, random });
  return { fingerprintClass: model.fingerprintClass, ridges, widthPx: MASTER_WIDTH_PX, heightPx: MASTER_HEIGHT_PX };
}

/** Smooth random field in [−1, 1]: random values on a coarse grid, bilinearly interpolated. */
function valueNoise(widthPx: number, heightPx: number, cellPx: number, random: Random): Float32Array {
  const gridWidth = Math.ceil(widthPx / cellPx) + 2;
  const gridHeight = Math.ceil(heightPx / cellPx) + 2;
  const grid = new Float32Array(gridWidth * gridHeight);
  for (let i = 0; i < grid.length; i++) grid[i] = random.uniform(-1, 1);
  const field = new Float32Array(widthPx * heightPx);
  for (let y = 0; y < heightPx; y++) {
    const gy = y / cellPx;
    const y0 = Math.floor(gy);
    const fy = gy - y0;
    for (let x = 0; x < widthPx; x++) {
      const gx = x / cellPx;
      const x0 = Math.floor(gx);
      const fx = gx - x0;
      const top = grid[y0 * gridWidth + x0] * (1 - fx) + grid[y0 * gridWidth + x0 + 1] * fx;
      const bottom = grid[(y0 + 1) * gridWidth + x0] * (1 - fx) + grid[(y0 + 1) * gridWidth + x0 + 1] * fx;
      field[y * widthPx + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return field;
}

function boxBlur(values: Float32Array, widthPx: number, heightPx: number, radiusPx: number): Float32Array {
  if (radiusPx <= 0) return values;
  const horizontal = new Float32Array(values.length);
  for (let y = 0; y < heightPx; y++) {
    for (let x = 0; x < widthPx; x++) {
      let sum = 0;
      let count = 0;
      for (let k = Math.max(0, x - radiusPx); k <= Math.min(widthPx - 1, x + radiusPx); k++, count++) sum += values[y * widthPx + k];
      horizontal[y * widthPx + x] = sum / count;
    }
  }
  const result = new Float32Array(values.length);
  for (let y = 0; y < heightPx; y++) {
    for (let x = 0; x < widthPx; x++) {
      let sum = 0;
      let count = 0;
      for (let k = Math.max(0, y - radiusPx); k <= Math.min(heightPx - 1, y + radiusPx); k++, count++) sum += horizontal[k * widthPx + x];
      result[y * widthPx + x] = sum / count;
    }
  }
  return result;
}

/** Pose, skin distortion and contact of one impression relative to the master. */
export interface ImpressionPose {
  rotationRadians: number;
  translationXPx: number;
  translationYPx: number;
  /** Elastic distortion amplitude in master pixels. */
  distortionPx: number;
  /** Contact ellipse centre offset and size factor: partial contact when the finger is off-centre or pressed lightly. */
  contactOffsetXPx: number;
  contactOffsetYPx: number;
  contactScale: number;
}

export function sampleImpressionPose(random: Random): ImpressionPose {
  return {
    rotationRadians: (random.uniform(-15, 15) * Math.PI) / 180,
    translationXPx: random.uniform(-22, 22),
    translationYPx: random.uniform(-22, 22),
    distortionPx: random.uniform(1.5, 5),
    contactOffsetXPx: random.uniform(-25, 25),
    contactOffsetYPx: random.uniform(-30, 30),
    contactScale: random.uniform(0.8, 1.05),
  };
}

/**
 * Renders one impression of a master through a sensor profile. Every output
 * pixel is mapped back into master coordinates (scale, rotation,
 * translation, then a smooth elastic displacement) and sampled there.
 */
export function renderImpression(master: MasterFingerprint, profile: SensorProfile, pose: ImpressionPose, random: Random): GrayImage {
  const { widthPx, heightPx } = profile;
  const cos = Math.cos(pose.rotationRadians);
  const sin = Math.sin(pose.rotationRadians);
  const masterCenterX = master.widthPx / 2;
  const masterCenterY = master.heightPx / 2;

  const waves = Array.from({ length: 3 }, () => ({
    frequencyX: random.uniform(-1, 1) / 90,
    frequencyY: random.uniform(-1, 1) / 90,
    phaseX: random.uniform(0, 2 * Math.PI),
    phaseY: random.uniform(0, 2 * Math.PI),
  }));
  const contactCenterX = masterCenterX + pose.contactOffsetXPx;
  const contactCenterY = masterCenterY + pose.contactOffsetYPx;
  const contactRadiusX = master.widthPx * 0.5 * pose.contactScale;
  const contactRadiusY = master.heightPx * 0.55 * pose.contactScale;

  // Bilinear read of the ridge values; outside the master counts as valley (1).
  const ridgeValue = (x: number, y: number): number => {
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    const at = (px: number, py: number): number => (px < 0 || py < 0 || px >= master.widthPx || py >= master.heightPx ? 1 : master.ridges[py * master.widthPx + px]);
    return (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
  };

  const dryness = valueNoise(widthPx, heightPx, 7, random);
  const texture = valueNoise(widthPx, heightPx, 24, random);
  const rowGain = Float32Array.from({ length: heightPx }, () => 1 + random.uniform(-1, 1) * profile.rowGainVariation);

  const values = new Float32Array(widthPx * heightPx);
  for (let y = 0; y < heightPx; y++) {
    for (let x = 0; x < widthPx; x++) {
      const offsetX = (x - widthPx / 2) / profile.scale - pose.translationXPx;
      const offsetY = (y - heightPx / 2) / profile.scale - pose.translationYPx;
      let masterX = cos * offsetX - sin * offsetY + masterCenterX;
      let masterY = sin * offsetX + cos * offsetY + masterCenterY;
      for (const wave of waves) {
        masterX += pose.distortionPx * Math.sin(2 * Math.PI * (wave.frequencyX * masterX + wave.frequencyY * masterY) + wave.phaseX) / waves.length;
        masterY += pose.distortionPx * Math.sin(2 * Math.PI * (wave.frequencyY * masterX - wave.frequencyX * masterY) + wave.phaseY) / waves.length;
      }

      const ellipse = ((masterX - contactCenterX) / contactRadiusX) ** 2 + ((masterY - contactCenterY) / contactRadiusY) ** 2;
      // Fade contact out at the master's border, so no pixel samples beyond the pattern.
      const border = Math.min(masterX, masterY, master.widthPx - 1 - masterX, master.heightPx - 1 - masterY);
      const contact = Math.min(1, Math.max(0, (1 - ellipse) * 6), Math.max(0, border / 6));
      const index = y * widthPx + x;
      const background = profile.backgroundLevel + profile.backgroundTexture * texture[index];
      let ridge = ridgeValue(masterX, masterY);
      if (dryness[index] > 1 - 2 * profile.dryness) ridge = Math.max(ridge, 0.6);
      const skin = (profile.valleyLevel * (1 + ridge)) / 2 + (profile.ridgeLevel * (1 - ridge)) / 2;
      values[index] = (background * (1 - contact) + skin * contact) * rowGain[y];
    }
  }

  const blurred = boxBlur(boxBlur(values, widthPx, heightPx, profile.blurRadiusPx), widthPx, heightPx, profile.blurRadiusPx);
  const pixels = new Uint8Array(widthPx * heightPx);
  for (let i = 0; i < pixels.length; i++) {
    pixels[i] = Math.min(255, Math.max(0, Math.round(blurred[i] + profile.noiseSigma * random.normal())));
  }
  return { widthPx, heightPx, pixels };
}
