import { UserInputError } from '../config/errors';
import { ObjectNotFoundError, type ObjectStore } from '../storage';
import type { PreparationSettings } from './config';
import type { QuarantineEntry } from './records';
import { decodeShard, PREPARED_SHARD_COLUMNS, type PreparedImage } from './shards';

/** Version of the shard schema and manifest format; readers reject other versions. */
export const PREPARED_SCHEMA_VERSION = 1;
export const PREPARED_MANIFEST_KIND = 'whorl.prepared-dataset';
export const MANIFEST_FILE_NAME = 'manifest.json';

export interface PreparedShardInfo {
  /** Full object key of the shard. */
  key: string;
  rows: number;
  sha256: string;
  sizeBytes: number;
}

/** Image counts, overall and broken down by label and split. */
export interface PreparedCounts {
  images: number;
  byDataset: Record<string, number>;
  /** Per sensor, the count in each sensor-classification split plus the total. */
  bySensor: Record<string, { train: number; test: number; total: number }>;
  bySplit: Record<string, number>;
  byRetrievalRole: Record<string, number>;
  byHashingSplit: Record<string, number>;
  identities: number;
}

export interface PreparedSourceInfo {
  name: string;
  layout: string;
  location: string;
  /** Content hash of this source's prepared data. */
  hash: string;
}

/**
 * The manifest of a prepared data set, written last under
 * `<outputPrefix><hash>/manifest.json`; readers trust only the shards it lists.
 */
export interface PreparedManifest {
  kind: typeof PREPARED_MANIFEST_KIND;
  schemaVersion: number;
  hash: string;
  createdAt: string;
  seed: number;
  settings: PreparationSettings;
  sources: PreparedSourceInfo[];
  columns: typeof PREPARED_SHARD_COLUMNS;
  shards: PreparedShardInfo[];
  counts: PreparedCounts;
  quarantine: QuarantineEntry[];
}

export function emptyCounts(): PreparedCounts {
  return { images: 0, byDataset: {}, bySensor: {}, bySplit: {}, byRetrievalRole: {}, byHashingSplit: {}, identities: 0 };
}

function increment(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** Counts images by label and split; `identities` counts distinct identities. */
export function countImages(images: Iterable<Pick<PreparedImage, 'dataset' | 'sensor' | 'identity' | 'split' | 'retrievalRole' | 'hashingSplit'>>): PreparedCounts {
  const counts = emptyCounts();
  const identities = new Set<string>();
  for (const image of images) {
    counts.images++;
    increment(counts.byDataset, image.dataset);
    const sensor = (counts.bySensor[image.sensor] ??= { train: 0, test: 0, total: 0 });
    sensor[image.split]++;
    sensor.total++;
    increment(counts.bySplit, image.split);
    increment(counts.byRetrievalRole, image.retrievalRole);
    increment(counts.byHashingSplit, image.hashingSplit);
    identities.add(image.identity);
  }
  counts.identities = identities.size;
  return counts;
}

/** Adds counts of disjoint image sets; identities add up because sources never share one. */
export function addCounts(total: PreparedCounts, part: PreparedCounts): PreparedCounts {
  total.images += part.images;
  total.identities += part.identities;
  for (const [key, value] of Object.entries(part.byDataset)) increment(total.byDataset, key, value);
  for (const [key, value] of Object.entries(part.bySplit)) increment(total.bySplit, key, value);
  for (const [key, value] of Object.entries(part.byRetrievalRole)) increment(total.byRetrievalRole, key, value);
  for (const [key, value] of Object.entries(part.byHashingSplit)) increment(total.byHashingSplit, key, value);
  for (const [sensor, value] of Object.entries(part.bySensor)) {
    const target = (total.bySensor[sensor] ??= { train: 0, test: 0, total: 0 });
    target.train += value.train;
    target.test += value.test;
    target.total += value.total;
  }
  return total;
}

/** Reads and checks a prepared manifest from the store. */
export async function readPreparedManifest(store: ObjectStore, manifestKey: string): Promise<PreparedManifest> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(manifestKey);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) {
      throw new UserInputError(`prepared manifest ${manifestKey} not found in ${store.location}; run "whorl data prepare" first or check the key`);
    }
    throw error;
  }
  let manifest: PreparedManifest;
  try {
    manifest = JSON.parse(Buffer.from(bytes).toString('utf8')) as PreparedManifest;
  } catch (error) {
    throw new UserInputError(`prepared manifest ${manifestKey} is not valid JSON: ${(error as Error).message}`);
  }
  if (manifest.kind !== PREPARED_MANIFEST_KIND || manifest.schemaVersion !== PREPARED_SCHEMA_VERSION) {
    throw new UserInputError(
      `${manifestKey} is not a prepared-data manifest of schema version ${PREPARED_SCHEMA_VERSION} (kind ${String(manifest.kind)}, version ${String(manifest.schemaVersion)}); prepare the data again`,
    );
  }
  return manifest;
}

/** Reads one shard listed in a manifest. */
export async function readPreparedShard(store: ObjectStore, shard: PreparedShardInfo): Promise<PreparedImage[]> {
  return decodeShard(await store.get(shard.key));
}

export interface PreparedImageFilter {
  split?: PreparedImage['split'];
  retrievalRole?: PreparedImage['retrievalRole'];
  hashingSplit?: PreparedImage['hashingSplit'];
  sensors?: string[];
}

/**
 * Reads every image of a prepared data set, optionally filtered, shard by
 * shard in manifest order.
 */
export async function* iteratePreparedImages(store: ObjectStore, manifestKey: string, filter: PreparedImageFilter = {}): AsyncGenerator<PreparedImage> {
  const manifest = await readPreparedManifest(store, manifestKey);
  const sensors = filter.sensors === undefined ? undefined : new Set(filter.sensors);
  for (const shard of manifest.shards) {
    for (const image of await readPreparedShard(store, shard)) {
      if (filter.split !== undefined && image.split !== filter.split) continue;
      if (filter.retrievalRole !== undefined && image.retrievalRole !== filter.retrievalRole) continue;
      if (filter.hashingSplit !== undefined && image.hashingSplit !== filter.hashingSplit) continue;
      if (sensors !== undefined && !sensors.has(image.sensor)) continue;
      yield image;
    }
  }
}

/** Reads every matching image into memory; see iteratePreparedImages for large sets. */
export async function readPreparedImages(store: ObjectStore, manifestKey: string, filter: PreparedImageFilter = {}): Promise<PreparedImage[]> {
  const images: PreparedImage[] = [];
  for await (const image of iteratePreparedImages(store, manifestKey, filter)) images.push(image);
  return images;
}
