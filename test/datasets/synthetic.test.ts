import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSyntheticDataset, LocalFolderFiles, readFvcLayout, SENSOR_PROFILES } from '../../src/datasets';
import { decodeImage } from '../../src/imaging';
import { createTemporaryFolder } from './helpers';

describe('synthetic fingerprints', function () {
  let folder: ReturnType<typeof createTemporaryFolder>;
  before(() => {
    folder = createTemporaryFolder('synthetic');
  });
  after(() => folder.remove());

  const request = (name: string, seed: number) => ({ outputDir: join(folder.path, name), fingerCount: 2, sensorCount: 3, impressionsPerFinger: 2, seed });

  it('writes an FVC layout the FVC adapter reads', async () => {
    const result = await generateSyntheticDataset(request('a', 5));
    assert.equal(result.imageCount, 12);
    const { records, quarantine } = await readFvcLayout(new LocalFolderFiles(result.outputDir), { source: 'synthetic' });
    assert.deepEqual(quarantine, []);
    assert.equal(records.length, 12);
    assert.deepEqual([...new Set(records.map((record) => record.sensor))], SENSOR_PROFILES.slice(0, 3).map((profile) => profile.sensor));
    assert.equal(new Set(records.map((record) => record.identity)).size, 6);
  });

  it('renders each sensor at its profile size with ridges', () => {
    for (const [index, profile] of SENSOR_PROFILES.slice(0, 3).entries()) {
      const image = decodeImage(readFileSync(join(folder.path, 'a', `DB${index + 1}_A`, '1_1.png')));
      assert.equal(`${image.widthPx}×${image.heightPx}`, `${profile.widthPx}×${profile.heightPx}`);
      const dark = image.pixels.filter((value) => value < 100).length / image.pixels.length;
      assert.ok(dark > 0.05, `share of dark ridge pixels is only ${dark}`);
      assert.ok(dark < 0.6, `share of dark ridge pixels is ${dark}`);
    }
  });

  it('repeats byte for byte for the same seed', async () => {
    await generateSyntheticDataset(request('b', 5));
    await generateSyntheticDataset(request('c', 6));
    const file = 'DB2_A/2_2.png';
    assert.ok(readFileSync(join(folder.path, 'a', file)).equals(readFileSync(join(folder.path, 'b', file))));
    assert.ok(!readFileSync(join(folder.path, 'a', file)).equals(readFileSync(join(folder.path, 'c', file))));
  });

  it('gives impressions of one finger different poses', () => {
    const first = decodeImage(readFileSync(join(folder.path, 'a', 'DB1_A/1_1.png')));
    const second = decodeImage(readFileSync(join(folder.path, 'a', 'DB1_A/1_2.png')));
    assert.ok(!Buffer.from(first.pixels).equals(Buffer.from(second.pixels)));
  });

  it('skips generation when the folder is complete', async () => {
    const again = await generateSyntheticDataset(request('a', 5));
    assert.equal(again.generated, false);
  });

  it('rejects more sensors than profiles', async () => {
    await assert.rejects(generateSyntheticDataset({ ...request('d', 1), sensorCount: SENSOR_PROFILES.length + 1 }), /expected sensorCount between 1 and 8/);
  });
});
