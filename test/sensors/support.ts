import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MANIFEST_FILE_NAME,
  PREPARED_MANIFEST_KIND,
  PREPARED_SCHEMA_VERSION,
  PREPARED_SHARD_COLUMNS,
  countImages,
  encodeShard,
  type PreparedImage,
  type PreparedManifest,
} from '../../src/datasets';
import { createRandom, type GrayImage } from '../../src/imaging';
import { FilesystemStore, sha256Hex, type ObjectStore } from '../../src/storage';

export function tempStore(): ObjectStore {
  return new FilesystemStore(mkdtempSync(join(tmpdir(), 'whorl-sensors-')));
}

/** Draws a noisy gray image with a dark block whose corner depends on the sensor index, so sensors are learnable. */
export function sensorImage(sensorIndex: number, sizePx: number, seed: string): GrayImage {
  const random = createRandom(seed);
  const pixels = new Uint8Array(sizePx * sizePx);
  const half = sizePx / 2;
  const left = (sensorIndex % 2) * half;
  const top = Math.floor(sensorIndex / 2) * half;
  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) {
      const inBlock = x >= left && x < left + half && y >= top && y < top + half;
      pixels[y * sizePx + x] = (inBlock ? 40 : 220) + random.integer(30);
    }
  }
  return { widthPx: sizePx, heightPx: sizePx, pixels };
}

/**
 * Writes a prepared data set with `imagesPerSensor` images per sensor, the
 * first `trainPerSensor` of each in the train split, and returns its manifest key.
 * `fit` (default pad) and `fixedScaleReferenceSidePx` are only recorded in
 * the manifest settings, because the images are drawn at their prepared size.
 */
export async function writePreparedDataset(
  store: ObjectStore,
  options: { sensors: string[]; imagesPerSensor: number; trainPerSensor: number; sizePx: number; fit?: PreparedManifest['settings']['fit']; fixedScaleReferenceSidePx?: number },
): Promise<string> {
  const images: PreparedImage[] = [];
  options.sensors.forEach((sensor, sensorIndex) => {
    for (let k = 0; k < options.imagesPerSensor; k++) {
      const image = sensorImage(sensorIndex, options.sizePx, `${sensor}/${k}`);
      images.push({
        id: `test/${sensor}/${k}.png`,
        dataset: 'test-set',
        database: `DB${sensorIndex + 1}`,
        sensor,
        identity: `test/${sensor}/${k}`,
        impression: 1,
        split: k < options.trainPerSensor ? 'train' : 'test',
        retrievalRole: 'gallery',
        hashingSplit: 'train',
        width: image.widthPx,
        height: image.heightPx,
        sourceWidth: image.widthPx,
        sourceHeight: image.heightPx,
        sourceFormat: 'png',
        pixels: image.pixels,
        sourceKey: `memory/${sensor}/${k}.png`,
        sourceSha256: sha256Hex(image.pixels),
      });
    }
  });

  const hash = sha256Hex(JSON.stringify(options)).slice(0, 32);
  const shard = encodeShard(images);
  const shardKey = `prepared/${hash}/shard-00000.parquet`;
  await store.put(shardKey, shard);
  const manifest: PreparedManifest = {
    kind: PREPARED_MANIFEST_KIND,
    schemaVersion: PREPARED_SCHEMA_VERSION,
    hash,
    createdAt: new Date(0).toISOString(),
    seed: 1,
    settings: {
      imageSizePx: options.sizePx,
      fit: options.fit ?? 'pad',
      fixedScaleReferenceSidePx: options.fixedScaleReferenceSidePx,
      variant: 'full',
      normalization: 'none',
      splits: { sensorTrainFraction: 0.5, galleryImpressionsPerFinger: 1, hashingEvalFraction: 0.2 },
      rowsPerShard: 1024,
      maxImagePixels: 1_000_000,
      maxFileBytes: 1_000_000,
      outputPrefix: 'prepared/',
    },
    sources: [{ name: 'test', layout: 'manifest', location: 'memory', hash }],
    columns: PREPARED_SHARD_COLUMNS,
    shards: [{ key: shardKey, rows: images.length, sha256: sha256Hex(shard), sizeBytes: shard.byteLength }],
    counts: countImages(images),
    quarantine: [],
  };
  const manifestKey = `prepared/${hash}/${MANIFEST_FILE_NAME}`;
  await store.put(manifestKey, JSON.stringify(manifest));
  return manifestKey;
}
