import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityDependencies } from '../../activities/dependencies';
import { createRetrievalActivities } from '../../activities/retrieval';
import { loadEnvironment } from '../../src/config/environment';
import { createPackedCodes, putCodeShard } from '../../src/hashing';
import { requireCurrent } from '../../src/index/index-store';
import { silentLogger } from '../../src/logging';
import { FilesystemStore } from '../../src/storage';
import type { MlflowClient } from '../../src/tracking';

/** Writes a code shard of `count` 32-bit codes, each byte set to `fill`, and returns its key. */
async function writeShard(store: FilesystemStore, key: string, fill: number, count: number): Promise<string> {
  const ids = Array.from({ length: count }, (_, row) => `print-${row}`);
  await putCodeShard(store, key, {
    ids,
    identities: ids,
    sensors: ids.map(() => 'sensor'),
    datasets: ids.map(() => 'dataset'),
    codes: createPackedCodes(new Uint8Array(count * 4).fill(fill), count, 32),
    modelVersion: `model-${fill}`,
  });
  return key;
}

describe('gallery index stage', () => {
  let folder: string;
  let store: FilesystemStore;
  let deps: ActivityDependencies;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'whorl-index-stage-'));
    store = new FilesystemStore(join(folder, 'store'));
    // The index stage records nothing in MLflow.
    deps = { environment: { ...loadEnvironment({}), cacheDir: join(folder, 'cache') }, store, tracking: {} as MlflowClient, logger: silentLogger, taskQueue: 'test-cpu' };
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('cached rerun makes index current', async () => {
    const buildGalleryIndex = createRetrievalActivities(deps).buildGalleryIndex;
    const run = (codeShardKeys: string[], modelVersion: string) =>
      new MockActivityEnvironment().run(buildGalleryIndex, { codeShardKeys, index: { name: 'shared-name', shardCount: 1 }, codeLengthBits: 32, modelVersion }) as ReturnType<typeof buildGalleryIndex>;
    const first = await writeShard(store, 'codes/first.parquet', 0x0f, 3);
    const second = await writeShard(store, 'codes/second.parquet', 0xf0, 5);

    const firstRun = await run([first], 'model-15');
    const secondRun = await run([second], 'model-240');
    assert.deepEqual([firstRun.cached, firstRun.output.version, secondRun.cached, secondRun.output.version], [false, 1, false, 2]);
    assert.equal((await requireCurrent(store, 'shared-name')).manifest.modelVersion, 'model-240');

    const rerun = await run([first], 'model-15');
    assert.equal(rerun.cached, true);
    assert.equal(rerun.output.version, 1);
    assert.match(rerun.detail ?? '', /made current again/);
    const current = await requireCurrent(store, 'shared-name');
    assert.deepEqual([current.version, current.manifest.modelVersion, current.manifest.codeCount], [1, 'model-15', 3]);

    const again = await run([first], 'model-15');
    assert.doesNotMatch(again.detail ?? '', /made current again/, 'nothing to do when the cached version is current');
  });
});
