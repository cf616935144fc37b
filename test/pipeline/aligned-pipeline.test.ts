import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { runPipeline } from '../../src/cli/pipeline-command';
import { loadEnvironment } from '../../src/config/environment';
import { readPreparedImages } from '../../src/datasets/manifest';
import { encodeQueryImage, loadEncoderChain, readModelVersion } from '../../src/pipeline/query-encoder';
import { createQueryEncoder } from '../../src/pipeline/query-encoder';
import { createReranker } from '../../src/search/rerank';
import { createSearchService, type SearchService } from '../../src/search/search-service';
import { ShardedSearcher } from '../../src/search/sharded-searcher';
import { createStore, readCurrentVersion } from '../../src/storage';
import { initializeTensorBackend } from '../../src/tensors';
import { silentLogger } from '../../src/logging';

interface ServedMatch {
  id: number;
  label: string;
  distance: number;
  matchScore?: number | null;
  hammingRank?: number;
}

describe('pipeline with alignment before encoding', function () {
  this.timeout(900_000);
  const configPath = 'test/fixtures/pipeline-aligned.yaml';
  const store = createStore(loadEnvironment());
  let summary: Awaited<ReturnType<typeof runPipeline>>['summary'];
  let modelVersion: string;

  before(async function () {
    await initializeTensorBackend({ logger: silentLogger });
    ({ summary } = await runPipeline({ configPath, startStack: false, startWorkers: true, runKey: `aligned-${Date.now()}` }));
    const index = await readCurrentVersion<{ modelVersion: string }>(store, 'index/pipeline-aligned/');
    modelVersion = index?.manifest.modelVersion ?? assert.fail('pipeline-aligned has no published index');
  });

  it('trains hashers after the alignment stage', () => {
    const statuses = Object.fromEntries(summary.progress.stages.map((stage) => [stage.stage, stage.status]));
    for (const stage of ['prepare', 'alignment', 'hashing', 'encode', 'index', 'evaluate']) {
      assert.ok(statuses[stage] === 'done' || statuses[stage] === 'cached', `${stage} ended ${statuses[stage]}`);
    }
    assert.equal(summary.retrieval.length, 1);
    assert.ok(summary.retrieval[0].mAP > 0, `mAP is ${summary.retrieval[0].mAP}`);
  });

  it('records the encoder chain with the model version', async () => {
    const record = await readModelVersion(store, modelVersion);
    assert.deepEqual(record.encoder.features, { kind: 'orientation', gridCells: 8 });
    assert.ok(record.encoder.alignment !== undefined, 'the model version names its alignment model');
    assert.match(record.encoder.alignment.modelPrefix, /^models\/alignment\/[0-9a-f]+\/$/);
    assert.ok(await store.head(`${record.encoder.alignment.modelPrefix}alignment.json`), 'the alignment model is stored');
  });

  it('finds a gallery image at distance 0', async () => {
    const [galleryImage] = await readPreparedImages(store, summary.prepared.manifestKey, { retrievalRole: 'gallery' });
    const chain = await loadEncoderChain(store, modelVersion, 32);
    const searcher = new ShardedSearcher({ store, indexName: 'pipeline-aligned' });
    try {
      assert.ok(chain.features.alignment !== undefined, 'the query chain aligns');
      const encoded = await encodeQueryImage(chain, await readFile(galleryImage.sourceKey));
      assert.equal(typeof encoded.timingsMs.align, 'number');
      await searcher.refresh();
      const result = await searcher.search(encoded.code, 1);
      assert.equal(result.distances[0][0], 0);
      assert.equal(JSON.parse(result.labels[0][0] ?? '{}').id, galleryImage.id);
    } finally {
      chain.features.dispose();
      await searcher.close();
    }
  });

  describe('search service re-ranking', () => {
    let service: SearchService;
    let imageBase64: string;

    before(async () => {
      service = await createSearchService({
        store,
        indexName: 'pipeline-aligned',
        workerCount: 0,
        refreshIntervalMs: 0,
        encodeQuery: createQueryEncoder(store),
        rerank: createReranker(store),
      });
      const [galleryImage] = await readPreparedImages(store, summary.prepared.manifestKey, { retrievalRole: 'gallery' });
      imageBase64 = (await readFile(galleryImage.sourceKey)).toString('base64');
    });

    after(async () => {
      await service.close();
    });

    it('reorders the same candidates by score', async () => {
      const plain = await service.app.inject({ method: 'POST', url: '/search', payload: { imageBase64, k: 6 } });
      assert.equal(plain.statusCode, 200, plain.body);
      const reranked = await service.app.inject({ method: 'POST', url: '/search', payload: { imageBase64, k: 6, rerank: 6 } });
      assert.equal(reranked.statusCode, 200, reranked.body);

      const before = plain.json().results[0].matches as ServedMatch[];
      const after = reranked.json().results[0].matches as ServedMatch[];
      assert.equal(after.length, 6);
      assert.deepEqual(
        after.map((match) => match.id).sort((a, b) => a - b),
        before.map((match) => match.id).sort((a, b) => a - b),
      );
      for (const match of after) {
        assert.equal(typeof match.matchScore, 'number', `match ${match.id} has no score`);
        assert.equal(match.distance, before[(match.hammingRank ?? 0) - 1].distance, `match ${match.id} keeps its Hamming distance`);
      }
      for (let rank = 1; rank < after.length; rank++) {
        assert.ok((after[rank - 1].matchScore ?? 0) >= (after[rank].matchScore ?? 0), `scores descend at rank ${rank + 1}`);
      }
      assert.equal(typeof reranked.json().timingsMs.rerank, 'number');
    });

    it('rejects rerank with a code query', async () => {
      const response = await service.app.inject({ method: 'POST', url: '/search', payload: { code: '00000000', rerank: 3 } });
      assert.equal(response.statusCode, 400);
      assert.match(response.json().error, /needs "imageBase64"/);
    });

    it('rejects a rerank depth out of range', async () => {
      const response = await service.app.inject({ method: 'POST', url: '/search', payload: { imageBase64, rerank: 100_000 } });
      assert.equal(response.statusCode, 400);
      assert.match(response.json().error, /invalid rerank 100000: expected an integer from 1 to 200/);
    });
  });
});
