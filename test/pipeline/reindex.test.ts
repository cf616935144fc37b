import { strict as assert } from 'node:assert';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { isAfterWatermark, selectNewImages } from '../../activities/reindex';
import { runPipeline } from '../../src/cli/pipeline-command';
import { runReindex, scheduleReindex, unscheduleReindex } from '../../src/cli/reindex-command';
import { loadEnvironment } from '../../src/config/environment';
import { generateSyntheticDataset } from '../../src/datasets/synthetic';
import { requireCurrent } from '../../src/index/index-store';
import { connectClient } from '../../src/orchestration/client';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../../src/orchestration/worker-processes';
import { encodeQueryImage, loadEncoderChain } from '../../src/pipeline/query-encoder';
import { ShardedSearcher } from '../../src/search/sharded-searcher';
import { createStore } from '../../src/storage';

describe('reindex image selection', () => {
  it('keeps images after the watermark only', () => {
    assert.equal(isAfterWatermark('gallery/DB2_A/1_1.png', 'gallery', 'gallery/DB1_A/9_2.png'), true);
    assert.equal(isAfterWatermark('gallery/DB1_A/1_1.png', 'gallery', 'gallery/DB1_A/9_2.png'), false);
    assert.equal(isAfterWatermark('gallery/DB1_A/9_2.png', 'gallery', 'gallery/DB1_A/9_2.png'), false);
  });

  it('ignores a missing or foreign watermark', () => {
    assert.equal(isAfterWatermark('gallery/DB1_A/1_1.png', 'gallery', null), true);
    assert.equal(isAfterWatermark('gallery/DB1_A/1_1.png', 'gallery', 'synthetic/DB4_A/9_9.png'), true);
  });

  it('skips ids already in the index', () => {
    const selection = selectNewImages(['DB1_A/2_1.png', 'DB1_A/1_1.png', 'DB1_A/3_1.png'], 'gallery', null, new Set(['gallery/DB1_A/2_1.png']));
    assert.deepEqual(selection.paths, ['DB1_A/1_1.png', 'DB1_A/3_1.png']);
    assert.equal(selection.alreadyIndexed, 1);
  });
});

/** Copies the images of one FVC database folder (such as DB2_A) of a generated data set into the gallery. */
async function addDatabase(generatedDir: string, galleryDir: string, database: string): Promise<string[]> {
  await cp(join(generatedDir, database), join(galleryDir, database), { recursive: true });
  await cp(join(generatedDir, 'sensors.json'), join(galleryDir, 'sensors.json'));
  return (await readdir(join(galleryDir, database))).map((name) => `${database}/${name}`);
}

describe('reindex workflow', function () {
  this.timeout(600_000);
  const environment = loadEnvironment();
  const store = createStore(environment);
  const indexName = `reindex-test-${Date.now()}`;
  let workDir: string;
  let configPath: string;
  let generatedDir: string;
  const workers: WorkerProcess[] = [];

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'whorl-reindex-'));
    generatedDir = join(workDir, 'generated');
    const galleryDir = join(workDir, 'gallery');
    await mkdir(galleryDir);
    await generateSyntheticDataset({ outputDir: generatedDir, fingerCount: 3, sensorCount: 3, impressionsPerFinger: 2, seed: 97 });

    // The tiny pipeline config on its own queues and a fresh index, plus a reindex section for that index.
    const config = parseYaml(await readFile('test/fixtures/pipeline-tiny.yaml', 'utf8')) as Record<string, unknown>;
    config.queues = { cpu: 'whorl-reindex-test-cpu', gpu: 'whorl-reindex-test-gpu' };
    config.index = { name: indexName, shardCount: 2 };
    config.reindex = { index: indexName, gallery: { name: 'gallery', root: 'gallery', layout: 'fvc' }, compactAfterDeltas: 1 };
    configPath = join(workDir, 'reindex.yaml');
    await writeFile(configPath, stringifyYaml(config));

    await runPipeline({ configPath, startStack: false, startWorkers: true, runKey: `reindex-${Date.now()}` });
    const logDir = join(environment.stateDir, 'logs');
    workers.push(startWorkerProcess({ queueClass: 'cpu', configPath, logDir }));
    workers.push(startWorkerProcess({ queueClass: 'gpu', configPath, logDir }));
    await Promise.all(workers.map((worker) => worker.ready));
  });

  after(async () => {
    await Promise.all(workers.map((worker) => stopWorkerProcess(worker)));
    for (const prefix of [`index/${indexName}/`, `reindex/${indexName}/`]) {
      for (const object of await store.list(prefix)) await store.delete(object.key);
    }
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('adds only new images, searchably and idempotently', async () => {
    const galleryDir = join(workDir, 'gallery');
    const built = await requireCurrent(store, indexName);
    assert.equal(built.manifest.galleryWatermark, null);

    const firstPaths = await addDatabase(generatedDir, galleryDir, 'DB1_A');
    const first = await runReindex({ configPath, startWorkers: false });
    assert.equal(first.summary.encoded, firstPaths.length);
    assert.equal(first.summary.appended, firstPaths.length);
    assert.equal(first.summary.compacted, false);
    const afterFirst = await requireCurrent(store, indexName);
    assert.equal(afterFirst.manifest.liveCount, built.manifest.liveCount + firstPaths.length);
    assert.equal(afterFirst.manifest.galleryWatermark, `gallery/${[...firstPaths].sort().at(-1)}`);
    assert.equal(afterFirst.manifest.shards.filter((shard) => shard.kind === 'delta').length, 1);

    let publishedVersion = afterFirst.version;
    const searcher = new ShardedSearcher({ store, indexName });
    try {
      await searcher.refresh();
      const servedVersion = searcher.published?.version;
      assert.equal(servedVersion, afterFirst.version);

      // A second batch sorts after the watermark, so only it is encoded; two delta segments pass compactAfterDeltas 1.
      const secondPaths = await addDatabase(generatedDir, galleryDir, 'DB2_A');
      const second = await runReindex({ configPath, startWorkers: false });
      assert.equal(second.summary.encoded, secondPaths.length);
      assert.equal(second.summary.appended, secondPaths.length);
      assert.equal(second.summary.compacted, true);
      const afterSecond = await requireCurrent(store, indexName);
      assert.equal(afterSecond.manifest.liveCount, afterFirst.manifest.liveCount + secondPaths.length);
      assert.equal(afterSecond.manifest.shards.filter((shard) => shard.kind === 'delta').length, 0);
      publishedVersion = afterSecond.version;

      // The running searcher picks up the new version on refresh and finds a new image at distance 0.
      assert.equal(await searcher.refresh(), afterSecond.version);
      const chain = await loadEncoderChain(store, afterSecond.manifest.modelVersion ?? '', afterSecond.manifest.codeLengthBits);
      const probePath = secondPaths[0];
      const encoded = await encodeQueryImage(chain, await readFile(join(galleryDir, probePath)));
      const result = await searcher.search(encoded.code, 5);
      const exact = result.labels[0].filter((_, rank) => result.distances[0][rank] === 0).map((label) => JSON.parse(label ?? '{}').id as string);
      assert.ok(exact.includes(`gallery/${probePath}`), `gallery/${probePath} is not among the distance-0 matches ${JSON.stringify(exact)}`);
    } finally {
      await searcher.close();
    }

    // A rerun finds nothing after the watermark and publishes nothing.
    const rerun = await runReindex({ configPath, startWorkers: false });
    assert.equal(rerun.summary.encoded, 0);
    assert.equal(rerun.summary.appended, 0);
    assert.equal((await requireCurrent(store, indexName)).version, publishedVersion);
    assert.equal(rerun.summary.version, rerun.summary.previousVersion);
  });

  it('reads a gallery under a store prefix', async () => {
    // A second gallery on an object-store prefix: its name differs, so the first gallery's watermark does not apply to it.
    const prefix = `test-galleries/${indexName}/`;
    const keys: string[] = [];
    for (const name of await readdir(join(generatedDir, 'DB1_A'))) keys.push(`DB1_A/${name}`);
    for (const path of [...keys, 'sensors.json']) await store.put(prefix + path, await readFile(join(generatedDir, path)));
    const config = parseYaml(await readFile(configPath, 'utf8')) as { reindex: Record<string, unknown> };
    config.reindex.gallery = { name: 'store-gallery', storePrefix: prefix, layout: 'fvc' };
    const storeConfigPath = join(workDir, 'reindex-store.yaml');
    await writeFile(storeConfigPath, stringifyYaml(config));

    try {
      const before = await requireCurrent(store, indexName);
      const first = await runReindex({ configPath: storeConfigPath, startWorkers: false });
      assert.equal(first.summary.encoded, keys.length);
      assert.equal(first.summary.alreadyIndexed, 0);
      assert.equal((await requireCurrent(store, indexName)).manifest.liveCount, before.manifest.liveCount + keys.length);
      assert.equal(first.summary.galleryWatermark, `store-gallery/${[...keys].sort().at(-1)}`);

      // The folder gallery's watermark was replaced, so every image of it is a candidate again, and all are skipped by id.
      const folder = await runReindex({ configPath, startWorkers: false });
      assert.equal(folder.summary.encoded, 0);
      assert.equal(folder.summary.appended, 0);
      assert.ok(folder.summary.alreadyIndexed >= 2 * keys.length, `only ${folder.summary.alreadyIndexed} folder images were recognised as indexed`);
      assert.equal(folder.summary.version, folder.summary.previousVersion);
    } finally {
      for (const path of [...keys, 'sensors.json']) await store.delete(prefix + path);
    }
  });

  it('schedules a run that a trigger completes', async () => {
    const client = await connectClient(environment);
    try {
      const created = await scheduleReindex(client, configPath, '0 2 * * *');
      assert.equal(created.created, true);
      const updated = await scheduleReindex(client, configPath, '30 2 * * *');
      assert.equal(updated.created, false);
      const handle = client.schedule.getHandle(created.scheduleId);
      assert.deepEqual((await handle.describe()).spec.calendars?.[0]?.minute, [{ start: 30, end: 30, step: 1 }], 'the update replaced the cron expression');

      const before = await requireCurrent(store, indexName);
      const thirdPaths = await addDatabase(generatedDir, join(workDir, 'gallery'), 'DB3_A');
      await handle.trigger();
      let workflowId: string | undefined;
      for (let attempt = 0; attempt < 60 && workflowId === undefined; attempt++) {
        workflowId = (await handle.describe()).info.recentActions.at(-1)?.action.workflow.workflowId;
        if (workflowId === undefined) await new Promise((resolveTimer) => setTimeout(resolveTimer, 500));
      }
      assert.ok(workflowId !== undefined, 'the triggered schedule started no workflow within 30 s');
      await client.workflow.getHandle(workflowId).result();
      const after = await requireCurrent(store, indexName);
      assert.equal(after.manifest.liveCount, before.manifest.liveCount + thirdPaths.length);

      assert.equal((await unscheduleReindex(client, configPath)).deleted, true);
      assert.equal((await unscheduleReindex(client, configPath)).deleted, false);
    } finally {
      await unscheduleReindex(client, configPath).catch(() => undefined);
      await client.connection.close();
    }
  });
});
