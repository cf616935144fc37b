import { strict as assert } from 'node:assert';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { runPipeline } from '../../src/cli/pipeline-command';
import { runReindex } from '../../src/cli/reindex-command';
import { generateSyntheticDataset } from '../../src/datasets/synthetic';
import { requireCurrent } from '../../src/index/index-store';
import { loadEnvironment } from '../../src/config/environment';
import { readPreparedImages } from '../../src/datasets/manifest';
import { createQueryEncoder, encodeQueryImage, loadEncoderChain, readModelVersion } from '../../src/pipeline/query-encoder';
import { createReranker } from '../../src/search/rerank';
import { createSearchService, type SearchService } from '../../src/search/search-service';
import { ShardedSearcher } from '../../src/search/sharded-searcher';
import { createStore, readCurrentVersion } from '../../src/storage';
import { initializeTensorBackend } from '../../src/tensors';
import { silentLogger } from '../../src/logging';
import { queryFirstGalleryImage } from './gallery-query';

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
    const found = await queryFirstGalleryImage(store, { manifestKey: summary.prepared.manifestKey, modelVersion, indexName: 'pipeline-aligned', codeLengthBits: 32 });
    assert.ok(found.aligned, 'the query chain aligns');
    assert.equal(typeof found.timingsMs.align, 'number');
    assert.equal(found.distance, 0);
    assert.equal(found.nearestId, found.galleryId);
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

  describe('re-indexing', () => {
    const indexName = `aligned-reindex-${Date.now()}`;
    let workDir: string;
    let reindexConfigPath: string;

    before(async () => {
      workDir = await mkdtemp(join(tmpdir(), 'whorl-aligned-reindex-'));
      await generateSyntheticDataset({ outputDir: join(workDir, 'generated'), fingerCount: 3, sensorCount: 2, impressionsPerFinger: 2, seed: 41 });
      await mkdir(join(workDir, 'gallery'));

      // The same pipeline with a fresh index, so every stage but the index comes from the cache.
      const config = parseYaml(await readFile(configPath, 'utf8')) as Record<string, unknown>;
      config.index = { name: indexName, shardCount: 2 };
      config.reindex = { index: indexName, gallery: { name: 'gallery', root: 'gallery', layout: 'fvc' }, compactAfterDeltas: 4 };
      reindexConfigPath = join(workDir, 'aligned-reindex.yaml');
      await writeFile(reindexConfigPath, stringifyYaml(config));
      await runPipeline({ configPath: reindexConfigPath, startStack: false, startWorkers: true, runKey: `aligned-reindex-${Date.now()}` });
    });

    after(async () => {
      for (const prefix of [`index/${indexName}/`, `reindex/${indexName}/`]) {
        for (const object of await store.list(prefix)) await store.delete(object.key);
      }
      if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
    });

    it('encodes new images with the aligned chain', async () => {
      await cp(join(workDir, 'generated', 'DB1_A'), join(workDir, 'gallery', 'DB1_A'), { recursive: true });
      await cp(join(workDir, 'generated', 'sensors.json'), join(workDir, 'gallery', 'sensors.json'));
      const paths = (await readdir(join(workDir, 'gallery', 'DB1_A'))).map((name) => `DB1_A/${name}`);
      const reindexed = await runReindex({ configPath: reindexConfigPath, startWorkers: true });
      assert.equal(reindexed.summary.appended, paths.length);

      const published = await requireCurrent(store, indexName);
      assert.equal(published.manifest.modelVersion, modelVersion);
      const chain = await loadEncoderChain(store, modelVersion, 32);
      const searcher = new ShardedSearcher({ store, indexName });
      try {
        await searcher.refresh();
        const encoded = await encodeQueryImage(chain, await readFile(join(workDir, 'gallery', paths[0])));
        const result = await searcher.search(encoded.code, 5);
        const exact = result.labels[0].filter((_, rank) => result.distances[0][rank] === 0).map((label) => JSON.parse(label ?? '{}').id as string);
        assert.ok(exact.includes(`gallery/${paths[0]}`), `gallery/${paths[0]} is not among the distance-0 matches ${JSON.stringify(exact)}`);

        // Re-ranking finds the re-indexed image in the prepared data that re-indexing recorded.
        const matches = result.ids[0].map((id, rank) => ({ id, label: result.labels[0][rank], distance: result.distances[0][rank] }));
        const reranked = await createReranker(store)(encoded.image, matches, { published });
        const self = reranked.find((match) => JSON.parse(match.label ?? '{}').id === `gallery/${paths[0]}`);
        assert.equal(typeof self?.matchScore, 'number', 'the re-indexed image has a match score');
      } finally {
        chain.features.dispose();
        await searcher.close();
      }
    });
  });
});
