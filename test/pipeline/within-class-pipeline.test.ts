import { strict as assert } from 'node:assert';
import { runPipeline } from '../../src/cli/pipeline-command';
import { loadEnvironment } from '../../src/config/environment';
import { UserInputError } from '../../src/config/errors';
import { parseRunConfig } from '../../src/config/run-config';
import { readPreparedImages } from '../../src/datasets/manifest';
import { silentLogger } from '../../src/logging';
import { extractFeatures, grayImageOf, loadFeatureEncoder } from '../../src/pipeline/feature-encoder';
import { readModelVersion } from '../../src/pipeline/query-encoder';
import { createStore, readCurrentVersion } from '../../src/storage';
import { initializeTensorBackend } from '../../src/tensors';
import { queryFirstGalleryImage } from './gallery-query';
import { writeTinyPipelineConfig } from './tiny-config';

describe('within-class normalization config', () => {
  const base = {
    name: 'wccn',
    data: { sources: [{ name: 'synthetic', layout: 'synthetic', synthetic: { fingers: 4 } }] },
    index: { name: 'wccn' },
  };

  it('fills in the defaults', () => {
    const config = parseRunConfig({ ...base, hashing: { withinClassNormalization: {} } }, 'inline');
    assert.deepEqual(config.hashing?.withinClassNormalization, { classes: 'identity-augmented', copiesPerImage: 4, regularization: 1, exponent: 0.25 });
  });

  it('rejects an exponent above 0.5', () => {
    assert.throws(
      () => parseRunConfig({ ...base, hashing: { withinClassNormalization: { exponent: 0.7 } } }, 'inline'),
      (error: Error) => error instanceof UserInputError && /hashing\.withinClassNormalization\.exponent/.test(error.message),
    );
  });

  it('rejects an unknown class mode', () => {
    assert.throws(
      () => parseRunConfig({ ...base, hashing: { withinClassNormalization: { classes: 'fingers' } } }, 'inline'),
      (error: Error) => error instanceof UserInputError && /hashing\.withinClassNormalization\.classes/.test(error.message),
    );
  });
});

describe('pipeline with within-class normalization', function () {
  this.timeout(900_000);
  const store = createStore(loadEnvironment());
  // The seed is in the name, because a cached index stage does not move the CURRENT pointer back from another run's version.
  const name = 'pipeline-wccn-4242';

  it('normalizes gallery and query features alike', async () => {
    await initializeTensorBackend({ logger: silentLogger });
    const configPath = writeTinyPipelineConfig(name, 4242, {
      hashing: {
        kinds: ['itq'],
        codeLengthsBits: [32],
        features: { kind: 'orientation', gridCells: 6 },
        withinClassNormalization: { classes: 'identity-augmented', copiesPerImage: 2 },
        indexed: { kind: 'itq', codeLengthBits: 32 },
      },
    });
    const { summary } = await runPipeline({ configPath, startStack: false, startWorkers: true, runKey: `wccn-${Date.now()}` });
    const index = await readCurrentVersion<{ modelVersion: string }>(store, `index/${name}/`);
    const modelVersion = index?.manifest.modelVersion ?? assert.fail(`${name} has no published index`);

    const record = await readModelVersion(store, modelVersion);
    const key = record.encoder.withinClassNormalizationKey ?? assert.fail('the model version records no within-class normalization');
    assert.notEqual(await store.head(key), undefined, `${key} is missing from the store`);

    // The loaded chain must apply the map: its features differ from the raw orientation field of the same image.
    const [image] = await readPreparedImages(store, summary.prepared.manifestKey, { retrievalRole: 'gallery' });
    const encoder = await loadFeatureEncoder(store, record.encoder);
    try {
      const normalized = encoder.featuresOf([grayImageOf(image)]);
      const raw = extractFeatures([grayImageOf(image)], record.encoder.features);
      assert.equal(normalized.columnCount, raw.columnCount);
      assert.notDeepEqual(Array.from(normalized.data), Array.from(raw.data));
    } finally {
      encoder.dispose();
    }

    const found = await queryFirstGalleryImage(store, { manifestKey: summary.prepared.manifestKey, modelVersion, indexName: name, codeLengthBits: 32 });
    assert.equal(found.distance, 0);
    assert.equal(found.nearestId, found.galleryId);
  });
});
