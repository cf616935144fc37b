import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityDependencies } from '../../activities/dependencies';
import { createPipelineStageActivities } from '../../activities/pipeline-stages';
import { loadEnvironment } from '../../src/config/environment';
import { encodeShard, PREPARED_MANIFEST_KIND, PREPARED_SCHEMA_VERSION, type PreparedImage } from '../../src/datasets';
import { createGrayImage, createRandom } from '../../src/imaging';
import { silentLogger } from '../../src/logging';
import { alignmentStageConfigSchema } from '../../src/pipeline/config';
import { FilesystemStore } from '../../src/storage';
import type { MlflowClient, Run } from '../../src/tracking';
import type { TrainingProgress } from '../../src/training';
import { useFastestBackend } from '../alignment/backend';

function runActivity<A extends unknown[], R>(environment: MockActivityEnvironment, activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return environment.run(activity, ...args) as Promise<R>;
}

/** Creates an MLflow stand-in with one experiment that keeps the runs it creates. */
function memoryTracking(): { client: MlflowClient; runs: Run[] } {
  const runs: Run[] = [];
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
    logBatch: async () => undefined,
    endRun: async () => undefined,
  };
  return { client: client as unknown as MlflowClient, runs };
}

/** Twelve fingers of three 40×40 impressions: dark blobs that shift a little between impressions. */
function preparedImages(): PreparedImage[] {
  const images: PreparedImage[] = [];
  for (let finger = 0; finger < 12; finger++) {
    for (let impression = 1; impression <= 3; impression++) {
      const random = createRandom(`finger-${finger}`);
      const image = createGrayImage(40, 40, 255);
      for (let blob = 0; blob < 3; blob++) {
        const x = random.integer(24) + 8 + impression - 2;
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

describe('trainAlignmentStage activity', function () {
  this.timeout(120_000);
  let folder: string;
  let store: FilesystemStore;
  let tracking: ReturnType<typeof memoryTracking>;
  let deps: ActivityDependencies;
  const alignment = alignmentStageConfigSchema.parse({ epochs: 2, batchesPerEpoch: 2, batchSize: 4, evaluationPairCount: 8, maxImpressionPairs: 4, overlays: 1 });
  const input = { preparedManifestKey: 'prepared/test/manifest.json', alignment, seed: 5, experiment: 'whorl-alignment-stage-test' };

  before(async function () {
    await useFastestBackend();
  });

  beforeEach(async function () {
    folder = mkdtempSync(join(tmpdir(), 'whorl-alignment-stage-'));
    store = new FilesystemStore(join(folder, 'store'));
    tracking = memoryTracking();
    deps = { environment: { ...loadEnvironment({}), cacheDir: join(folder, 'cache') }, store, tracking: tracking.client, logger: silentLogger, taskQueue: 'test-gpu' };
    const shard = encodeShard(preparedImages());
    await store.put('prepared/test/shard-00000.parquet', shard);
    const manifest = { kind: PREPARED_MANIFEST_KIND, schemaVersion: PREPARED_SCHEMA_VERSION, shards: [{ key: 'prepared/test/shard-00000.parquet', rows: 36, sha256: '', sizeBytes: shard.byteLength }] };
    await store.put('prepared/test/manifest.json', JSON.stringify(manifest));
  });

  afterEach(function () {
    rmSync(folder, { recursive: true, force: true });
  });

  it('resumes an interrupted attempt, then caches', async function () {
    const activities = createPipelineStageActivities(deps);

    // The first attempt is cancelled in its second epoch, after the first epoch's checkpoint.
    const interrupted = new MockActivityEnvironment();
    interrupted.on('heartbeat', (details: TrainingProgress) => {
      if (details.epoch === 1) interrupted.cancel();
    });
    const failure = await runActivity(interrupted, activities.trainAlignmentStage, input).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(failure !== undefined, 'the interrupted attempt fails');

    const retried = await runActivity(new MockActivityEnvironment(), activities.trainAlignmentStage, input);
    assert.equal(retried.cached, false);
    assert.equal(retried.output.epochsTrained, 1, 'the retry trains only the epoch after the checkpoint');
    assert.deepEqual(
      retried.output.history.map((epoch) => epoch.epoch),
      [1, 2],
    );
    assert.equal(tracking.runs.length, 1, 'the retry logs to the same MLflow run');
    assert.equal(retried.output.gridErrorBeforePx.length, 8);
    assert.equal(retried.output.gridErrorAfterPx.length, 8);
    assert.equal(retried.output.overlays.length, 1);
    assert.ok(await store.head(retried.output.overlays[0].key), 'the overlay PNG is stored');

    const again = await runActivity(new MockActivityEnvironment(), activities.trainAlignmentStage, input);
    assert.equal(again.cached, true);
    assert.equal(again.key, retried.key);
    assert.deepEqual(again.output, retried.output);
  });
});
