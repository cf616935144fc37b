import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveAlignmentModel } from '../../src/alignment';
import { createGrayImage, createRandom, type GrayImage } from '../../src/imaging';
import { buildAlignmentModel, type AlignmentModelOptions } from '../../src/models/alignment';
import { extractFeatures, loadFeatureEncoder } from '../../src/pipeline/feature-encoder';
import { FilesystemStore } from '../../src/storage';
import { useFastestBackend } from '../alignment/backend';

const TINY_MODEL: AlignmentModelOptions = { inputSizePx: 16, inputChannels: 1, featureBlocks: [[4], [4]], regression: [{ kernelSizePx: 3, filters: 4 }], seed: 2 };

/** Draws a 32×32 print-like image: dark diagonal ridges of a seeded period inside a white border. */
function ridges(seed: string): GrayImage {
  const random = createRandom(seed);
  const periodPx = 3 + random.integer(4);
  const image = createGrayImage(32, 32, 255);
  for (let y = 4; y < 28; y++) for (let x = 4; x < 28; x++) image.pixels[y * 32 + x] = (x + y) % periodPx < periodPx / 2 ? 30 : 220;
  return image;
}

describe('feature encoder', function () {
  this.timeout(60_000);
  let folder: string;
  let store: FilesystemStore;
  const images = Array.from({ length: 20 }, (_, index) => ridges(`print-${index}`));

  before(async function () {
    await useFastestBackend();
    folder = mkdtempSync(join(tmpdir(), 'whorl-feature-encoder-'));
    store = new FilesystemStore(join(folder, 'store'));
    const model = buildAlignmentModel(TINY_MODEL);
    await saveAlignmentModel(store, 'models/alignment/tiny/', { model, modelOptions: TINY_MODEL, references: { global: images[0], bySensor: {} }, metrics: {} });
    model.dispose();
  });

  after(function () {
    rmSync(folder, { recursive: true, force: true });
  });

  it('extracts pixel and orientation features', () => {
    assert.equal(extractFeatures(images, { kind: 'pixels', sizePx: 8 }).columnCount, 64);
    assert.equal(extractFeatures(images, { kind: 'orientation', gridCells: 4 }).columnCount, 32);
  });

  it('passes images through without alignment', async () => {
    const encoder = await loadFeatureEncoder(store, { features: { kind: 'pixels', sizePx: 8 } });
    assert.equal(encoder.alignment, undefined);
    assert.deepEqual(encoder.align(images), images);
    assert.deepEqual(encoder.encodeFeatures(images).data, extractFeatures(images, { kind: 'pixels', sizePx: 8 }).data);
  });

  it('aligns one image like a batch', async () => {
    const encoder = await loadFeatureEncoder(store, {
      features: { kind: 'orientation', gridCells: 4 },
      alignment: { modelVersion: 'tiny', modelPrefix: 'models/alignment/tiny/' },
    });
    try {
      const aligned = encoder.align(images);
      assert.equal(aligned.length, images.length);
      assert.equal(aligned[0].widthPx, 32, 'aligned images keep the reference size');
      const batch = encoder.encodeFeatures(images);
      // A query is aligned on its own while the gallery goes in batches, so both must give the same features.
      for (const row of [0, 7, 19]) {
        const single = encoder.encodeFeatures([images[row]]);
        assert.deepEqual(single.data, batch.data.subarray(row * batch.columnCount, (row + 1) * batch.columnCount), `row ${row}`);
      }
    } finally {
      encoder.dispose();
    }
  });
});
