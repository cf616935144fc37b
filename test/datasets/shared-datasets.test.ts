import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { dataConfigSchema, prepareDatasets, readPreparedImages } from '../../src/datasets';
import { FilesystemStore } from '../../src/storage';
import { sharedDatasetsDir } from '../imaging/shared-datasets-path';
import { createTemporaryFolder } from './helpers';

const CONFIG_PATH = resolve(__dirname, '../../bench/datasets/shared-datasets.yaml');

/** Images per sensor expected from the shared samples: FVC B sets have 10 fingers × 8 impressions. */
const EXPECTED_SENSOR_TOTALS: Record<string, number> = {
  'keytronic-secure-desktop-scanner': 80,
  'st-touchchip': 80,
  'identix-touchview-ii': 86,
  'biometrika-fx2000': 80,
  'digitalpersona-uareu-4000': 80,
  'sfinge-3.0': 80,
  futronic: 6,
  lumidigm: 5,
  secugen: 6,
  'libfprint-aes2501': 1,
  'libfprint-aes3500': 1,
  'libfprint-egis0570': 2,
  'libfprint-elan': 1,
  'libfprint-elanspi': 1,
  'libfprint-nb1010': 1,
  'libfprint-upektc_img': 1,
  'libfprint-uru4000-msv2': 1,
  'libfprint-uru4000-uru4500': 1,
  'libfprint-vfs0050': 1,
  'libfprint-vfs301': 1,
  'libfprint-vfs5011': 2,
  'libfprint-vfs7552': 1,
  'ink-card': 1,
};

describe('preparing the shared samples', function () {
  const root = sharedDatasetsDir();
  let folder: ReturnType<typeof createTemporaryFolder>;
  before(function () {
    // The bench config points at ../shared/datasets beside the repository.
    if (root === undefined || resolve(root) !== resolve(__dirname, '../../../shared/datasets')) this.skip();
    folder = createTemporaryFolder('shared');
  });
  after(() => folder?.remove());

  it('labels every image and quarantines only the WSQ file', async () => {
    const raw = parse(readFileSync(CONFIG_PATH, 'utf8')) as { data: unknown };
    const config = dataConfigSchema.parse(raw.data);
    const store = new FilesystemStore(join(folder.path, 'store'));
    const result = await prepareDatasets({ store, config, seed: 0, baseDir: dirname(CONFIG_PATH), workDir: join(folder.path, 'work') });

    const totals = Object.fromEntries(Object.entries(result.manifest.counts.bySensor).map(([sensor, counts]) => [sensor, counts.total]));
    assert.deepEqual(totals, EXPECTED_SENSOR_TOTALS);
    assert.deepEqual(result.manifest.counts.byDataset, { fvc2000: 160, fvc2002: 160, fvc2004: 160, iitk: 17, libfprint: 15, sourceafis: 7 });
    assert.deepEqual(result.manifest.quarantine.map((entry) => [entry.path, entry.reason]), [['sourceafis/wsq-original.wsq', 'unsupported-format']]);

    const images = await readPreparedImages(store, result.manifestKey, { sensors: ['biometrika-fx2000'] });
    assert.equal(images.length, 80);
    assert.ok(images.every((image) => image.sourceWidth === 296 && image.sourceHeight === 560));
    const fingers = new Set(images.map((image) => image.identity));
    assert.equal(fingers.size, 10);
  });
});
