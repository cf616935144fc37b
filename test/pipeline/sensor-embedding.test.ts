import { strict as assert } from 'node:assert';
import { runPipeline } from '../../src/cli/pipeline-command';
import { loadEnvironment } from '../../src/config/environment';
import { UserInputError } from '../../src/config/errors';
import { parseRunConfig } from '../../src/config/run-config';
import { silentLogger } from '../../src/logging';
import { readModelVersion } from '../../src/pipeline/query-encoder';
import { createStore, readCurrentVersion } from '../../src/storage';
import { initializeTensorBackend } from '../../src/tensors';
import { queryFirstGalleryImage } from './gallery-query';

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

    const found = await queryFirstGalleryImage(store, { manifestKey: summary.prepared.manifestKey, modelVersion, indexName: 'pipeline-sensor-embedding', codeLengthBits: 32 });
    assert.equal(found.distance, 0);
    assert.equal(found.nearestId, found.galleryId);
  });
});
