import { strict as assert } from 'node:assert';
import { loadEnvironment } from '../../src/config/environment';
import { runPipeline } from '../../src/cli/pipeline-command';
import { createStore } from '../../src/storage';
import { readCurrentVersion } from '../../src/storage';
import { readFile } from 'node:fs/promises';
import { readPreparedImages } from '../../src/datasets/manifest';
import { encodeQueryImage, loadEncoderChain } from '../../src/pipeline/query-encoder';
import { ShardedSearcher } from '../../src/search/sharded-searcher';

describe('training pipeline', function () {
  this.timeout(900_000);
  const configPath = 'test/fixtures/pipeline-tiny.yaml';

  it('runs every stage, then serves a rerun from cache', async () => {
    const first = await runPipeline({ configPath, startStack: false, startWorkers: true, runKey: `tiny-${Date.now()}` });
    const statuses = Object.fromEntries(first.summary.progress.stages.map((stage) => [stage.stage, stage.status]));
    assert.deepEqual(Object.keys(statuses), ['prepare', 'sensor-shallow', 'sensor-deep', 'alignment', 'hashing', 'encode', 'index', 'evaluate', 'report']);
    // The tiny config has no sensor or alignment section, so those stages are skipped with that reason.
    for (const stage of first.summary.progress.stages.filter((entry) => ['sensor-shallow', 'sensor-deep', 'alignment'].includes(entry.stage))) {
      assert.equal(stage.status, 'skipped', `${stage.stage} ended ${stage.status}`);
      assert.match(stage.detail ?? '', /has no (sensor|alignment) section/);
    }
    assert.deepEqual(first.summary.sensor, []);
    assert.equal(first.summary.alignment, undefined);
    for (const [stage, status] of Object.entries(statuses)) {
      if (!['sensor-shallow', 'sensor-deep', 'alignment'].includes(stage)) assert.ok(status === 'done' || status === 'cached', `${stage} ended ${status}`);
    }
    assert.equal(first.summary.prepared.images, 72);
    assert.equal(first.summary.prepared.quarantined, 0);
    assert.deepEqual(first.summary.retrieval.map((row) => `${row.kind}-${row.codeLengthBits}`), ['dh-32', 'lsh-32']);
    for (const row of first.summary.retrieval) {
      assert.ok(row.mAP > 0, `mAP of ${row.kind} is ${row.mAP}`);
      assert.ok(row.mAP <= 1, `mAP of ${row.kind} is ${row.mAP}`);
    }

    const store = createStore(loadEnvironment());
    const index = await readCurrentVersion<{ liveCount: number; modelVersion: string }>(store, 'index/pipeline-tiny/');
    assert.equal(index?.version, first.summary.index?.version);
    assert.equal(index?.manifest.liveCount, first.summary.index?.codes);
    assert.ok(await store.head(first.summary.reportLocation.replace(`${store.location}/`, '')), 'the HTML report exists');

    // A gallery image queried from its source file must find itself at distance 0,
    // which holds only when queries and gallery go through the same encoder chain.
    const [galleryImage] = await readPreparedImages(store, first.summary.prepared.manifestKey, { retrievalRole: 'gallery' });
    const chain = await loadEncoderChain(store, index?.manifest.modelVersion ?? '', 32);
    const encoded = await encodeQueryImage(chain, await readFile(galleryImage.sourceKey));
    const searcher = new ShardedSearcher({ store, indexName: 'pipeline-tiny' });
    try {
      await searcher.refresh();
      const result = await searcher.search(encoded.code, 1);
      assert.equal(result.distances[0][0], 0);
      assert.equal(JSON.parse(result.labels[0][0] ?? '{}').id, galleryImage.id);
    } finally {
      await searcher.close();
    }

    const second = await runPipeline({ configPath, startStack: false, startWorkers: true, runKey: `tiny-${Date.now()}-again` });
    const secondStatuses = Object.fromEntries(second.summary.progress.stages.map((stage) => [stage.stage, stage.status]));
    for (const stage of ['prepare', 'hashing', 'encode', 'index', 'evaluate']) assert.equal(secondStatuses[stage], 'cached', `${stage} should be served from cache`);
    assert.deepEqual(second.summary.retrieval, first.summary.retrieval);
  });
});
