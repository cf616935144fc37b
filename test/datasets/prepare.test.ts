import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  dataConfigSchema,
  LocalFolderFiles,
  ObjectStoreFiles,
  preparationSettings,
  prepareSource,
  readPreparedImages,
  readPreparedManifest,
  type PrepareProgress,
  type PreparationSettings,
} from '../../src/datasets';
import { randomUUID } from 'node:crypto';
import { loadEnvironment } from '../../src/config/environment';
import { FilesystemStore, S3Store } from '../../src/storage';
import { writeTiff } from '../imaging/test-encoders';
import { createTemporaryFolder, samplePng, writeFiles } from './helpers';

function settings(overrides: Partial<PreparationSettings> = {}): PreparationSettings {
  const config = dataConfigSchema.parse({ sources: [{ name: 'unused', root: '.' }], imageSizePx: 32, rowsPerShard: 4 });
  return { ...preparationSettings(config), ...overrides };
}

/** Writes an FVC-style folder with 12 valid images (3 fingers × 4 impressions) and one file per bad-input kind. */
function writeMixedDataset(root: string): void {
  const files: Record<string, Uint8Array | string> = {};
  for (let finger = 101; finger <= 103; finger++) {
    for (let impression = 1; impression <= 4; impression++) files[`fvc2002/DB1_B/${finger}_${impression}.png`] = samplePng(finger * 10 + impression);
  }
  const truncatedTiff = writeTiff({ kind: 'gray', widthPx: 40, heightPx: 30, samples: new Uint8Array(1200), lzw: false });
  const corruptPng = Uint8Array.from(samplePng(99));
  const idat = Buffer.from(corruptPng).indexOf('IDAT');
  for (let i = idat + 6; i < idat + 40; i++) corruptPng[i] ^= 0x5a;
  Object.assign(files, {
    'fvc2002/DB1_B/104_1.tif': new Uint8Array(0),
    'fvc2002/DB1_B/104_2.tif': truncatedTiff.subarray(0, 600),
    'fvc2002/DB1_B/104_3.png': corruptPng,
    'fvc2002/DB1_B/104_4.gz': 'plain text, not an image',
    'fvc2002/DB1_B/104_5.png': samplePng(5, 400, 300),
    'fvc2002/DB1_B/101_1.tif': samplePng(7),
    'fvc2002/DB1_B/thumbs.db': 'x',
  });
  writeFiles(root, files);
}

describe('prepareSource', () => {
  let folder: ReturnType<typeof createTemporaryFolder>;
  let store: FilesystemStore;
  beforeEach(() => {
    folder = createTemporaryFolder('prepare');
    store = new FilesystemStore(join(folder.path, 'store'));
  });
  afterEach(() => folder.remove());

  it('quarantines each bad-input kind and prepares the rest', async () => {
    writeMixedDataset(join(folder.path, 'data'));
    const result = await prepareSource({
      store,
      source: { name: 'mixed', layout: 'fvc' },
      files: new LocalFolderFiles(join(folder.path, 'data')),
      settings: settings({ maxImagePixels: 100_000 }),
      seed: 1,
    });
    const reasons = Object.fromEntries(result.manifest.quarantine.map((entry) => [entry.path, entry.reason]));
    assert.deepEqual(reasons, {
      'fvc2002/DB1_B/104_1.tif': 'empty-file',
      'fvc2002/DB1_B/104_2.tif': 'truncated',
      'fvc2002/DB1_B/104_3.png': 'corrupt',
      'fvc2002/DB1_B/104_4.gz': 'unsupported-format',
      'fvc2002/DB1_B/104_5.png': 'oversized',
      'fvc2002/DB1_B/101_1.tif': 'duplicate-identity',
      'fvc2002/DB1_B/thumbs.db': 'unparsable-name',
    });
    assert.equal(result.manifest.counts.images, 12);
    assert.deepEqual(result.manifest.counts.bySensor, { 'identix-touchview-ii': { train: 1, test: 11, total: 12 } });
    assert.equal(result.manifest.counts.identities, 3);
    // The corrupt PNG passes the header scan and fails only when decoded, so it still takes a shard row slot.
    assert.equal(result.manifest.shards.length, 4);
    assert.deepEqual(result.manifest.shards.map((shard) => shard.rows), [4, 4, 4, 0]);
  });

  it('quarantines images larger than the fixed-scale reference', async () => {
    writeFiles(join(folder.path, 'data'), {
      'fvc2002/DB1_B/101_1.png': samplePng(1, 40, 30),
      'fvc2002/DB1_B/101_2.png': samplePng(2, 80, 30),
    });
    const config = dataConfigSchema.parse({ sources: [{ name: 'unused', root: '.' }], imageSizePx: 32, fit: 'fixed-scale', fixedScaleReferenceSidePx: 64 });
    const result = await prepareSource({ store, source: { name: 'scaled', layout: 'fvc' }, files: new LocalFolderFiles(join(folder.path, 'data')), settings: preparationSettings(config), seed: 1 });
    assert.equal(result.manifest.counts.images, 1);
    assert.equal(result.manifest.quarantine.length, 1);
    const [entry] = result.manifest.quarantine;
    assert.equal(entry.path, 'fvc2002/DB1_B/101_2.png');
    assert.equal(entry.reason, 'exceeds-fixed-scale-reference');
    assert.match(entry.detail, /image 80×30 does not fit the fixed-scale reference side of 64 px/);
  });

  it('rejects canvasGray with fit stretch and outside 0–255', () => {
    const base = { sources: [{ name: 'unused', root: '.' }] };
    assert.throws(() => dataConfigSchema.parse({ ...base, fit: 'stretch', canvasGray: 0 }), /canvasGray[\s\S]*applies only to fit: pad or fixed-scale/);
    assert.throws(() => dataConfigSchema.parse({ ...base, canvasGray: 300 }), /canvasGray/);
    assert.equal(dataConfigSchema.parse({ ...base, fit: 'pad', canvasGray: 0 }).canvasGray, 0);
  });

  it('round-trips images through Parquet shards', async () => {
    writeMixedDataset(join(folder.path, 'data'));
    const result = await prepareSource({ store, source: { name: 'mixed', layout: 'auto' }, files: new LocalFolderFiles(join(folder.path, 'data')), settings: settings(), seed: 1 });
    const images = await readPreparedImages(store, result.manifestKey);
    // Default settings allow the 400×300 image, so 13 images pass.
    assert.equal(images.length, 13);
    const first = images.find((image) => image.id === 'mixed/fvc2002/DB1_B/101_1.png');
    assert.ok(first !== undefined);
    assert.equal(first.identity, 'fvc2002/DB1/101');
    assert.equal(first.impression, 1);
    assert.equal(first.width, 32);
    assert.equal(first.pixels.length, 32 * 32);
    assert.equal(first.sourceWidth, 40);
    assert.equal(first.sourceFormat, 'png');
    assert.match(first.sourceSha256, /^[0-9a-f]{64}$/);
    assert.ok(first.sourceKey.endsWith('/fvc2002/DB1_B/101_1.png'));
    const train = await readPreparedImages(store, result.manifestKey, { split: 'train' });
    assert.equal(train.length, result.manifest.counts.bySplit.train);
  });

  it('writes the manifest last under a content-hashed prefix', async () => {
    writeFiles(join(folder.path, 'data'), { 'fvc2002/DB1_B/101_1.png': samplePng(1), 'fvc2002/DB1_B/101_2.png': samplePng(2) });
    const request = { store, source: { name: 'small', layout: 'fvc' as const }, files: new LocalFolderFiles(join(folder.path, 'data')), settings: settings(), seed: 1 };
    const writtenKeys: string[] = [];
    const put = store.put.bind(store);
    store.put = async (key, body, options) => {
      writtenKeys.push(key);
      return put(key, body, options);
    };
    const first = await prepareSource(request);
    assert.match(first.manifestKey, /^prepared\/[0-9a-f]{32}\/manifest\.json$/);
    assert.equal(writtenKeys[writtenKeys.length - 1], first.manifestKey);
    assert.ok(writtenKeys.some((key) => key.endsWith('.parquet')));
    const again = await prepareSource(request);
    assert.equal(again.reused, true);
    assert.equal(again.manifestKey, first.manifestKey);
    const otherSeed = await prepareSource({ ...request, seed: 2 });
    assert.notEqual(otherSeed.manifestKey, first.manifestKey);
    writeFiles(join(folder.path, 'data'), { 'fvc2002/DB1_B/101_2.png': samplePng(3) });
    const changed = await prepareSource(request);
    assert.notEqual(changed.manifestKey, first.manifestKey);
  });

  it('resumes by skipping complete shards', async () => {
    writeMixedDataset(join(folder.path, 'data'));
    const request = { store, source: { name: 'mixed', layout: 'fvc' as const }, files: new LocalFolderFiles(join(folder.path, 'data')), settings: settings(), seed: 1 };
    const first = await prepareSource(request);
    // Simulate a worker that died after two of four shards: drop the manifest and the last two shards.
    const prefix = first.manifestKey.replace(/manifest\.json$/, '');
    await store.delete(first.manifestKey);
    for (const shard of ['shard-00002', 'shard-00003']) {
      await store.delete(`${prefix}${shard}.parquet`);
      await store.delete(`${prefix}${shard}.json`);
    }
    const progress: PrepareProgress[] = [];
    const resumed = await prepareSource({ ...request, onProgress: (update) => void progress.push(update) });
    assert.equal(resumed.resumedShards, 2);
    assert.equal(resumed.manifestKey, first.manifestKey);
    assert.deepEqual(resumed.manifest.counts, first.manifest.counts);
    assert.deepEqual(resumed.manifest.quarantine, first.manifest.quarantine);
    assert.ok(progress.some((update) => update.phase === 'write' && update.shardsDone === 4));
    assert.equal(progress[progress.length - 1].phase, 'done');
  });

  it('writes shards and manifest to MinIO', async function () {
    const minio = new S3Store(loadEnvironment().s3);
    try {
      await minio.head('test/datasets/reachability-check');
    } catch {
      // The local stack is not running, so there is no MinIO to write to.
      this.skip();
    }
    const outputPrefix = `test/datasets/${randomUUID()}/prepared/`;
    writeFiles(join(folder.path, 'data'), { 'fvc2002/DB1_B/101_1.png': samplePng(1), 'fvc2002/DB1_B/101_2.png': samplePng(2) });
    try {
      const result = await prepareSource({ store: minio, source: { name: 'minio', layout: 'fvc' }, files: new LocalFolderFiles(join(folder.path, 'data')), settings: settings({ outputPrefix }), seed: 1 });
      assert.ok(result.manifestKey.startsWith(outputPrefix));
      const images = await readPreparedImages(minio, result.manifestKey);
      assert.equal(images.length, 2);
      assert.equal(images[0].pixels.length, 32 * 32);
    } finally {
      for (const object of await minio.list(outputPrefix)) await minio.delete(object.key);
    }
  });

  it('reads a source from an object-store prefix', async () => {
    await store.put('raw/iitk/fut1', samplePng(1));
    await store.put('raw/iitk/lum1', samplePng(2));
    await store.put('raw/iitk/sec1', samplePng(3));
    const result = await prepareSource({ store, source: { name: 'iitk', layout: 'auto' }, files: new ObjectStoreFiles(store, 'raw/iitk'), settings: settings(), seed: 1 });
    assert.deepEqual(Object.keys(result.manifest.counts.bySensor).sort(), ['futronic', 'lumidigm', 'secugen']);
    const manifest = await readPreparedManifest(store, result.manifestKey);
    assert.equal(manifest.sources[0].layout, 'iitk');
  });
});
