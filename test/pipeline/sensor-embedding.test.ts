import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { runPipeline } from '../../src/cli/pipeline-command';
import { loadEnvironment } from '../../src/config/environment';
import { UserInputError } from '../../src/config/errors';
import { parseRunConfig } from '../../src/config/run-config';
import { readPreparedImages } from '../../src/datasets/manifest';
import { silentLogger } from '../../src/logging';
import { encodeQueryImage, loadEncoderChain, readModelVersion } from '../../src/pipeline/query-encoder';
import { ShardedSearcher } from '../../src/search/sharded-searcher';
import { createStore, readCurrentVersion } from '../../src/storage';
import { initializeTensorBackend } from '../../src/tensors';

describe('sensor-embedding features config', () => {
  const base = {
    name: 'embedding',
    data: { sources: [{ name: 'synthetic', layout: 'synthetic', synthetic: { fingers: 4 } }] },
    hashing: { features: { kind: 'sensor-embedding', variant: 'deep' } },
    index: { name: 'embedding' },
  };

  it('rejects a variant the sensor section does not train', () => {
    assert.throws(
      () => parseRunConfig({ ...base, sensor: { variants: ['shallow'] } }, 'inline'),
      (error: Error) => {
        assert.ok(error instanceof UserInputError);
        assert.match(error.message, /hashing\.features\.variant:/);
        assert.match(error.message, /add "sensor: \{ variants: \[deep\] \}"/);
        return true;
      },
    );
  });

  it('accepts a trained variant', () => {
    const config = parseRunConfig({ ...base, sensor: { variants: ['deep'] } }, 'inline');
    assert.deepEqual(config.hashing?.features, { kind: 'sensor-embedding', variant: 'deep' });
  });
});

describe('pipeline with sensor-embedding features', function () {
  this.timeout(900_000);
  const store = createStore(loadEnvironment());

  it('indexes embeddings and finds a gallery image at distance 0', async () => {
    await initializeTensorBackend({ logger: silentLogger });
    const { summary } = await runPipeline({ configPath: 'test/fixtures/pipeline-sensor-embedding.yaml', startStack: false, startWorkers: true, runKey: `embedding-${Date.now()}` });
    const index = await readCurrentVersion<{ modelVersion: string }>(store, 'index/pipeline-sensor-embedding/');
    const modelVersion = index?.manifest.modelVersion ?? assert.fail('pipeline-sensor-embedding has no published index');

    const record = await readModelVersion(store, modelVersion);
    assert.equal(record.encoder.features.kind, 'sensor-embedding');
    const sensorModel = record.encoder.features.kind === 'sensor-embedding' ? record.encoder.features.sensorModel : assert.fail('not a sensor embedding');
    assert.match(sensorModel.modelPrefix, /^models\/sensor-deep\//);

    const [galleryImage] = await readPreparedImages(store, summary.prepared.manifestKey, { retrievalRole: 'gallery' });
    const chain = await loadEncoderChain(store, modelVersion, 32);
    const searcher = new ShardedSearcher({ store, indexName: 'pipeline-sensor-embedding' });
    try {
      const encoded = await encodeQueryImage(chain, await readFile(galleryImage.sourceKey));
      await searcher.refresh();
      const result = await searcher.search(encoded.code, 1);
      assert.equal(result.distances[0][0], 0);
      assert.equal(JSON.parse(result.labels[0][0] ?? '{}').id, galleryImage.id);
    } finally {
      chain.features.dispose();
      await searcher.close();
    }
  });
});
