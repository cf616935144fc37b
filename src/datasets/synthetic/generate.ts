import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePng } from '../../imaging/encode';
import { createRandom } from '../../imaging/random';
import { SENSOR_TABLE_FILE, type SensorTableFile } from '../adapters/fvc';
import { generateMasterFingerprint, renderImpression, sampleImpressionPose } from './render';
import { SENSOR_PROFILES } from './sensor-profiles';

export interface SyntheticDatasetRequest {
  outputDir: string;
  fingerCount: number;
  sensorCount: number;
  impressionsPerFinger: number;
  seed: number;
  /** Called after each finger is written on a sensor; a returned promise is awaited. */
  onProgress?: (progress: { fingersDone: number; fingersTotal: number }) => void | Promise<void>;
}

export interface SyntheticDatasetResult {
  outputDir: string;
  imageCount: number;
  /** False when a complete data set with the same parameters was already there. */
  generated: boolean;
}

/** Hidden marker written last; its presence with equal parameters means the folder is complete. */
const COMPLETION_MARKER = '.whorl-synthetic.json';

/**
 * Writes a synthetic multi-sensor data set in the FVC layout:
 * `DB<k>_A/<finger>_<impression>.png` for sensor k, plus `sensors.json`
 * naming each database's simulated sensor, so the FVC adapter reads it.
 * Each sensor captures its own fingers, as in FVC, and the output depends only
 * on the parameters and the seed.
 */
export async function generateSyntheticDataset(request: SyntheticDatasetRequest): Promise<SyntheticDatasetResult> {
  const { outputDir, fingerCount, impressionsPerFinger, seed } = request;
  if (!(request.sensorCount >= 1 && request.sensorCount <= SENSOR_PROFILES.length)) {
    throw new RangeError(`expected sensorCount between 1 and ${SENSOR_PROFILES.length}, but got ${request.sensorCount}`);
  }
  const parameters = { fingerCount, sensorCount: request.sensorCount, impressionsPerFinger, seed };
  const markerPath = join(outputDir, COMPLETION_MARKER);
  const existing = await readFile(markerPath, 'utf8').catch(() => undefined);
  if (existing !== undefined && existing === JSON.stringify(parameters)) {
    return { outputDir, imageCount: fingerCount * request.sensorCount * impressionsPerFinger, generated: false };
  }

  const profiles = SENSOR_PROFILES.slice(0, request.sensorCount);
  const table: SensorTableFile = {
    dataset: 'synthetic',
    description: 'whorl synthetic fingerprints: zero-pole orientation fields, ridges grown by Gabor filtering of noise, rendered through simulated sensor profiles',
    databases: Object.fromEntries(profiles.map((profile, index) => [`DB${index + 1}`, { sensor: profile.sensor, technology: 'synthetic', model: profile.description, widthPx: profile.widthPx, heightPx: profile.heightPx }])),
  };
  await mkdir(outputDir, { recursive: true });
  await writeFile(join(outputDir, SENSOR_TABLE_FILE), JSON.stringify(table, null, 2));

  let fingersDone = 0;
  for (const [sensorIndex, profile] of profiles.entries()) {
    const folder = join(outputDir, `DB${sensorIndex + 1}_A`);
    await mkdir(folder, { recursive: true });
    for (let finger = 1; finger <= fingerCount; finger++) {
      const fingerSeed = `${seed}/DB${sensorIndex + 1}/finger-${finger}`;
      const master = generateMasterFingerprint(fingerSeed);
      for (let impression = 1; impression <= impressionsPerFinger; impression++) {
        const random = createRandom(`${fingerSeed}/impression-${impression}`);
        const image = renderImpression(master, profile, sampleImpressionPose(random), random);
        await writeFile(join(folder, `${finger}_${impression}.png`), encodePng(image));
      }
      fingersDone++;
      await request.onProgress?.({ fingersDone, fingersTotal: fingerCount * profiles.length });
    }
  }
  await writeFile(markerPath, JSON.stringify(parameters));
  return { outputDir, imageCount: fingerCount * profiles.length * impressionsPerFinger, generated: true };
}
