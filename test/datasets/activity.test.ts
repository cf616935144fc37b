import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDatasetActivities, type PrepareDatasetInput } from '../../activities/datasets';
import type { ActivityDependencies } from '../../activities/dependencies';
import { loadEnvironment } from '../../src/config/environment';
import { dataConfigSchema, preparationSettings, type PrepareProgress } from '../../src/datasets';
import { silentLogger } from '../../src/logging';
import { FilesystemStore } from '../../src/storage';
import type { MlflowClient } from '../../src/tracking';
import { createTemporaryFolder, samplePng, writeFiles } from './helpers';

/** Runs an activity in the mock environment, keeping its result type (MockActivityEnvironment.run returns unknown). */
function runActivity<A extends unknown[], R>(environment: MockActivityEnvironment, activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return environment.run(activity, ...args) as Promise<R>;
}

describe('prepareDataset activity', () => {
  let folder: ReturnType<typeof createTemporaryFolder>;
  let store: FilesystemStore;
  let deps: ActivityDependencies;

  beforeEach(() => {
    folder = createTemporaryFolder('activity');
    store = new FilesystemStore(join(folder.path, 'store'));
    deps = {
      environment: { ...loadEnvironment({}), cacheDir: join(folder.path, 'cache') },
      store,
      // The dataset activities record nothing in MLflow.
      tracking: {} as MlflowClient,
      logger: silentLogger,
      taskQueue: 'test-cpu',
    };
    const files: Record<string, Uint8Array> = {};
    for (let finger = 1; finger <= 5; finger++) for (let impression = 1; impression <= 2; impression++) files[`fvc2004/DB2_A/${finger}_${impression}.png`] = samplePng(finger + impression * 7);
    writeFiles(join(folder.path, 'data'), files);
  });
  afterEach(() => folder.remove());

  function input(root: string): PrepareDatasetInput {
    const config = dataConfigSchema.parse({ sources: [{ name: 'fvc', root }], imageSizePx: 24, rowsPerShard: 3 });
    return { source: config.sources[0], settings: preparationSettings(config), seed: 4, baseDir: folder.path };
  }

  it('heartbeats progress and returns counts', async () => {
    const environment = new MockActivityEnvironment();
    const heartbeats: PrepareProgress[] = [];
    environment.on('heartbeat', (details: PrepareProgress) => heartbeats.push(details));
    const result = await runActivity(environment, createDatasetActivities(deps).prepareDataset, input('data'));
    assert.equal(result.images, 10);
    assert.equal(result.quarantined, 0);
    assert.equal(result.taskQueue, 'test-cpu');
    assert.ok(heartbeats.some((beat) => beat.phase === 'scan'));
    assert.ok(heartbeats.some((beat) => beat.phase === 'write' && beat.shardsTotal === 4));
    assert.equal(heartbeats[heartbeats.length - 1].phase, 'done');
  });

  it('resumes from shards written before a worker restart', async () => {
    const activities = createDatasetActivities(deps);
    const first = await runActivity(new MockActivityEnvironment(), activities.prepareDataset, input('data'));
    const prefix = first.manifestKey.replace(/manifest\.json$/, '');
    await store.delete(first.manifestKey);
    await store.delete(`${prefix}shard-00003.json`);

    const lastHeartbeat: PrepareProgress = { source: 'fvc', phase: 'write', filesDone: 9, filesTotal: 10, shardsDone: 3, shardsTotal: 4, prefix };
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: lastHeartbeat });
    const resumed = await runActivity(retry, activities.prepareDataset, input('data'));
    assert.equal(resumed.resumedShards, 3);
    assert.equal(resumed.manifestKey, first.manifestKey);
    assert.equal(resumed.images, 10);
  });

  it('fails without retry on a missing root', async () => {
    await assert.rejects(
      runActivity(new MockActivityEnvironment(), createDatasetActivities(deps).prepareDataset, input('no-such-folder')),
      (error: unknown) => error instanceof ApplicationFailure && error.nonRetryable === true && error.type === 'UserInputError' && /not found/.test(error.message),
    );
  });

  it('heartbeats while generating synthetic data', async () => {
    const config = dataConfigSchema.parse({ sources: [{ name: 'demo', layout: 'synthetic', synthetic: { fingers: 2, sensors: 1, impressionsPerFinger: 2 } }], imageSizePx: 24 });
    const environment = new MockActivityEnvironment();
    const heartbeats: PrepareProgress[] = [];
    environment.on('heartbeat', (details: PrepareProgress) => heartbeats.push(details));
    const result = await runActivity(environment, createDatasetActivities(deps).prepareDataset, { source: config.sources[0], settings: preparationSettings(config), seed: 4, baseDir: folder.path });
    assert.equal(result.images, 4);
    assert.deepEqual(heartbeats.filter((beat) => beat.phase === 'generate').map((beat) => beat.filesDone), [1, 2]);
  });

  it('combines per-source manifests into one', async () => {
    writeFiles(join(folder.path, 'more'), { fut1: samplePng(1), sec1: samplePng(2) });
    const activities = createDatasetActivities(deps);
    const environment = new MockActivityEnvironment();
    const fvc = await runActivity(environment, activities.prepareDataset, input('data'));
    const iitkInput = input('more');
    const iitk = await runActivity(environment, activities.prepareDataset, { ...iitkInput, source: { ...iitkInput.source, name: 'iitk' } });
    const combined = await runActivity(environment, activities.combinePreparedDatasets, { manifestKeys: [fvc.manifestKey, iitk.manifestKey], outputPrefix: 'prepared/' });
    assert.equal(combined.images, 12);
    assert.notEqual(combined.manifestKey, fvc.manifestKey);
  });
});
