/**
 * Rendering settings of a simulated sensor: image size, scale relative to
 * the 500 dpi master, gray levels and degradations.
 */
export interface SensorProfile {
  sensor: string;
  description: string;
  widthPx: number;
  heightPx: number;
  /** Output pixels per master pixel (1 is 500 dpi). */
  scale: number;
  backgroundLevel: number;
  /** Amplitude of low-frequency background texture, in gray levels. */
  backgroundTexture: number;
  ridgeLevel: number;
  valleyLevel: number;
  /** Standard deviation of per-pixel Gaussian noise, in gray levels. */
  noiseSigma: number;
  /** Radius of the box blur applied twice, in pixels; 0 for none. */
  blurRadiusPx: number;
  /** Fraction of the contact area where ridges break up, as on dry skin. */
  dryness: number;
  /** Gain variation between rows, as on swipe sensors (0 for none). */
  rowGainVariation: number;
}

/** The simulated sensors; a data set with K sensors uses the first K. */
export const SENSOR_PROFILES: readonly SensorProfile[] = [
  { sensor: 'synthetic-optical-large', description: 'large-area optical, clean white background', widthPx: 300, heightPx: 340, scale: 1.0, backgroundLevel: 245, backgroundTexture: 4, ridgeLevel: 35, valleyLevel: 215, noiseSigma: 5, blurRadiusPx: 1, dryness: 0.05, rowGainVariation: 0 },
  { sensor: 'synthetic-capacitive', description: 'small capacitive chip, gray textured background, dry ridges', widthPx: 224, heightPx: 288, scale: 0.9, backgroundLevel: 190, backgroundTexture: 18, ridgeLevel: 60, valleyLevel: 185, noiseSigma: 12, blurRadiusPx: 0, dryness: 0.3, rowGainVariation: 0 },
  { sensor: 'synthetic-thermal-sweep', description: 'narrow swipe sensor, row streaks, strong noise', widthPx: 192, heightPx: 384, scale: 0.8, backgroundLevel: 150, backgroundTexture: 10, ridgeLevel: 40, valleyLevel: 220, noiseSigma: 18, blurRadiusPx: 1, dryness: 0.1, rowGainVariation: 0.12 },
  { sensor: 'synthetic-optical-dark', description: 'optical with low contrast and heavy blur', widthPx: 320, heightPx: 320, scale: 1.1, backgroundLevel: 225, backgroundTexture: 12, ridgeLevel: 90, valleyLevel: 200, noiseSigma: 8, blurRadiusPx: 2, dryness: 0.0, rowGainVariation: 0 },
  { sensor: 'synthetic-small-area', description: 'small square sensor that sees the core region only', widthPx: 160, heightPx: 160, scale: 1.0, backgroundLevel: 240, backgroundTexture: 6, ridgeLevel: 30, valleyLevel: 230, noiseSigma: 6, blurRadiusPx: 0, dryness: 0.15, rowGainVariation: 0 },
  { sensor: 'synthetic-high-resolution', description: 'optical at about 640 dpi', widthPx: 400, heightPx: 420, scale: 1.28, backgroundLevel: 250, backgroundTexture: 3, ridgeLevel: 25, valleyLevel: 235, noiseSigma: 4, blurRadiusPx: 1, dryness: 0.05, rowGainVariation: 0 },
  { sensor: 'synthetic-low-resolution', description: 'electric-field sensor at about 250 dpi', widthPx: 128, heightPx: 128, scale: 0.5, backgroundLevel: 200, backgroundTexture: 15, ridgeLevel: 50, valleyLevel: 210, noiseSigma: 10, blurRadiusPx: 0, dryness: 0.1, rowGainVariation: 0 },
  { sensor: 'synthetic-wet-finger', description: 'optical with wet, smeared ridges', widthPx: 288, heightPx: 352, scale: 1.0, backgroundLevel: 235, backgroundTexture: 8, ridgeLevel: 20, valleyLevel: 150, noiseSigma: 7, blurRadiusPx: 3, dryness: 0.0, rowGainVariation: 0 },
];
