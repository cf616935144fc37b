import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityDependencies } from '../../activities/dependencies';
import { loadEnvironment } from '../../src/config/environment';
import { encodeShard, PREPARED_MANIFEST_KIND, PREPARED_SCHEMA_VERSION, type PreparedImage } from '../../src/datasets';
import { createGrayImage, createRandom } from '../../src/imaging';
import { silentLogger } from '../../src/logging';
import { FilesystemStore, type ObjectStore } from '../../src/storage';
import type { MlflowClient, Run } from '../../src/tracking';

/** Manifest key of the prepared data set that writePreparedBlobFingers stores. */
export const BLOB_FINGERS_MANIFEST_KEY = 'prepared/test/manifest.json';

/** Runs an activity function in a mock activity environment, keeping its result type. */
export function runActivity<A extends unknown[], R>(environment: MockActivityEnvironment, activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return environment.run(activity, ...args) as Promise<R>;
}

/**
 * Creates an in-memory MLflow client with one experiment that records the
 * runs it creates and the metric keys logged to them, for activity tests that
 * check what training sends to tracking without a server.
 */
export function recordingTracking(): { client: MlflowClient; runs: Run[]; metrics: Array<{ runId: string; key: string }> } {
  const runs: Run[] = [];
  const metrics: Array<{ runId: string; key: string }> = [];
  const client = {
    trackingUri: 'memory://',
    getOrCreateExperiment: async () => '1',
    searchRuns: async () => runs,
    createRun: async (options: { runName?: string; tags?: Record<string, string> }) => {
      const info = { runId: `run-${runs.length + 1}`, experimentId: '1', runName: options.runName ?? '', status: 'RUNNING' as const, artifactUri: '', startTimeMs: 0 };
      runs.push({ info, params: {}, tags: options.tags ?? {}, metrics: {} });
      return info;
    },
    logParams: async () => undefined,
    logBatch: async (runId: string, batch: { metrics?: Array<{ key: string }> }) => {
      for (const metric of batch.metrics ?? []) metrics.push({ runId, key: metric.key });
    },
    endRun: async () => undefined,
  };
  return { client: client as unknown as MlflowClient, runs, metrics };
}

/** Returns twelve fingers of three 40×40 impressions each: dark blobs that shift a little between impressions. */
export function blobFingerImages(): PreparedImage[] {
  const images: PreparedImage[] = [];
  for (let finger = 0; finger < 12; finger++) {
    for (let impression = 1; impression <= 3; impression++) {
      const random = createRandom(`finger-${finger}`);
      const image = createGrayImage(40, 40, 255);
      const offset = impression - 2;
      for (let blob = 0; blob < 3; blob++) {
        const x = random.integer(24) + 8 + offset;
        const y = random.integer(24) + 8;
        for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) image.pixels[(y + dy) * 40 + x + dx] = 40 * blob;
      }
      images.push({
        id: `synthetic/${finger}_${impression}.png`,
        dataset: 'synthetic',
        database: 'DB1',
        sensor: finger % 2 === 0 ? 'optical' : 'capacitive',
        identity: `synthetic/DB1/${finger}`,
        impression,
        split: 'train',
        retrievalRole: impression === 1 ? 'gallery' : 'probe',
        hashingSplit: finger < 8 ? 'train' : 'eval',
        width: 40,
        height: 40,
        sourceWidth: 40,
        sourceHeight: 40,
        sourceFormat: 'png',
        pixels: image.pixels,
        sourceKey: `memory://synthetic/${finger}_${impression}.png`,
        sourceSha256: '',
      });
    }
  }
  return images;
}

/** Stores blobFingerImages as a one-shard prepared data set under BLOB_FINGERS_MANIFEST_KEY. */
export async function writePreparedBlobFingers(store: ObjectStore): Promise<void> {
  const shard = encodeShard(blobFingerImages());
  await store.put('prepared/test/shard-00000.parquet', shard);
  const manifest = { kind: PREPARED_MANIFEST_KIND, schemaVersion: PREPARED_SCHEMA_VERSION, shards: [{ key: 'prepared/test/shard-00000.parquet', rows: 36, sha256: '', sizeBytes: shard.byteLength }] };
  await store.put(BLOB_FINGERS_MANIFEST_KEY, JSON.stringify(manifest));
}

/** A scratch store with the blob-finger data set, recording tracking and the activity dependencies built on them. */
export interface BlobFingerActivityFixture {
  store: FilesystemStore;
  tracking: ReturnType<typeof recordingTracking>;
  deps: ActivityDependencies;
  /** Deletes the scratch folder. */
  remove(): void;
}

/** Creates a scratch folder named after `folderPrefix` with a filesystem store that holds the blob-finger data set. */
export async function createBlobFingerActivityFixture(folderPrefix: string): Promise<BlobFingerActivityFixture> {
  const folder = mkdtempSync(join(tmpdir(), folderPrefix));
  const store = new FilesystemStore(join(folder, 'store'));
  const tracking = recordingTracking();
  const deps: ActivityDependencies = {
    environment: { ...loadEnvironment({}), cacheDir: join(folder, 'cache') },
    store,
    tracking: tracking.client,
    logger: silentLogger,
    taskQueue: 'test-gpu',
  };
  await writePreparedBlobFingers(store);
  return { store, tracking, deps, remove: () => rmSync(folder, { recursive: true, force: true }) };
}
