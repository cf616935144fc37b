import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createAlignmentActivities, type TrainAlignmentInput } from '../../activities/alignment';
import type { ActivityDependencies } from '../../activities/dependencies';
import { loadAlignmentModel } from '../../src/alignment';
import { loadEnvironment } from '../../src/config/environment';
import { encodeShard, PREPARED_MANIFEST_KIND, PREPARED_SCHEMA_VERSION, type PreparedImage } from '../../src/datasets';
import { createGrayImage, createRandom } from '../../src/imaging';
import { silentLogger } from '../../src/logging';
import { FilesystemStore } from '../../src/storage';
import type { MlflowClient, Run } from '../../src/tracking';
import type { TrainingProgress } from '../../src/training';
import { useFastestBackend } from './backend';

function runActivity<A extends unknown[], R>(environment: MockActivityEnvironment, activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return environment.run(activity, ...args) as Promise<R>;
}

/** Records what the stage sends to MLflow, with one experiment and the runs it creates. */
function recordingTracking() {
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

/** Twelve fingers of three impressions each: blobs that move a little between impressions. */
function preparedImages(): PreparedImage[] {
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

describe('trainAlignmentNetwork activity', function () {
  this.timeout(120_000);
  let folder: string;
  let store: FilesystemStore;
  let tracking: ReturnType<typeof recordingTracking>;
  let deps: ActivityDependencies;

  before(async function () {
    await useFastestBackend();
  });

  beforeEach(async function () {
    folder = mkdtempSync(join(tmpdir(), 'whorl-alignment-activity-'));
    store = new FilesystemStore(join(folder, 'store'));
    tracking = recordingTracking();
    deps = { environment: { ...loadEnvironment({}), cacheDir: join(folder, 'cache') }, store, tracking: tracking.client, logger: silentLogger, taskQueue: 'test-gpu' };

    const shard = encodeShard(preparedImages());
    await store.put('prepared/test/shard-00000.parquet', shard);
    const manifest = { kind: PREPARED_MANIFEST_KIND, schemaVersion: PREPARED_SCHEMA_VERSION, shards: [{ key: 'prepared/test/shard-00000.parquet', rows: 36, sha256: '', sizeBytes: shard.byteLength }] };
    await store.put('prepared/test/manifest.json', JSON.stringify(manifest));
  });

  afterEach(function () {
    rmSync(folder, { recursive: true, force: true });
  });

  function input(overrides: Partial<TrainAlignmentInput> = {}): TrainAlignmentInput {
    return {
      runKey: 'test-run',
      preparedManifestKey: 'prepared/test/manifest.json',
      preset: 'cpu',
      modelOverrides: { inputSizePx: 16, featureBlocks: [[4], [4]], regression: [{ kernelSizePx: 3, filters: 4 }] },
      epochs: 2,
      batchesPerEpoch: 2,
      batchSize: 4,
      seed: 3,
      evaluationPairCount: 8,
      referenceMode: 'per-sensor',
      modelPrefix: 'models/alignment/test/',
      experiment: 'whorl-alignment-test',
      ...overrides,
    };
  }

  it('trains, heartbeats and saves the model', async function () {
    const environment = new MockActivityEnvironment();
    const heartbeats: TrainingProgress[] = [];
    environment.on('heartbeat', (details: TrainingProgress) => heartbeats.push(details));
    const result = await runActivity(environment, createAlignmentActivities(deps).trainAlignmentNetwork, input());

    assert.equal(result.epochsTrained, 2);
    assert.equal(result.taskQueue, 'test-gpu');
    assert.equal(result.trainImages, 24);
    assert.equal(result.evaluationImages, 12);
    assert.equal(result.realPairs.pairs, 8);
    assert.equal(heartbeats.length, 4);
    assert.deepEqual(heartbeats.map((beat) => `${beat.epoch}/${beat.batch}`), ['0/0', '0/1', '1/0', '1/1']);
    assert.ok(tracking.metrics.some((metric) => metric.key === 'validation_grid_error'));
    assert.ok(tracking.metrics.some((metric) => metric.key === 'synthetic_aligned_grid_error'));

    const saved = await loadAlignmentModel(store, result.modelPrefix);
    assert.deepEqual(Object.keys(saved.references.bySensor).sort(), ['capacitive', 'optical']);
    saved.model.dispose();
  });

  it('resumes after the last checkpoint', async function () {
    const activities = createAlignmentActivities(deps);
    await runActivity(new MockActivityEnvironment(), activities.trainAlignmentNetwork, input({ epochs: 1 }));
    const resumed = await runActivity(new MockActivityEnvironment(), activities.trainAlignmentNetwork, input({ epochs: 2 }));

    assert.equal(resumed.resumedFromEpoch, 0);
    assert.equal(resumed.epochsTrained, 1);
    assert.equal(tracking.runs.length, 1, 'the retry reuses the MLflow run');
  });

  it('rejects invalid input without retries', async function () {
    const failure = await runActivity(new MockActivityEnvironment(), createAlignmentActivities(deps).trainAlignmentNetwork, input({ epochs: 0 })).then(
      () => undefined,
      (error: unknown) => error,
    );

    assert.ok(failure instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(failure)}`);
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.type, 'UserInputError');
    assert.match(failure.message, /invalid epochs 0: expected a positive integer/);
  });

  it('rejects a run key unsafe for paths', async function () {
    const failure = await runActivity(new MockActivityEnvironment(), createAlignmentActivities(deps).trainAlignmentNetwork, input({ runKey: "x' or 1=1" })).then(
      () => undefined,
      (error: unknown) => error,
    );

    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /invalid runKey/);
  });
});
