import assert from 'node:assert/strict';
import {
  detectLayout,
  FVC_SENSOR_TABLE,
  LocalFolderFiles,
  readCsvManifest,
  readDatasetLayout,
  readFvcLayout,
  readIitdMolfLayout,
  readIitkLayout,
  resolveInsideRoot,
} from '../../src/datasets';
import { UserInputError } from '../../src/config/errors';
import { createTemporaryFolder, samplePng, writeFiles } from './helpers';

describe('dataset adapters', () => {
  let folder: ReturnType<typeof createTemporaryFolder>;
  beforeEach(() => {
    folder = createTemporaryFolder('adapters');
  });
  afterEach(() => folder.remove());

  describe('FVC', () => {
    it('labels files from the published sensor table', async () => {
      writeFiles(folder.path, {
        'fvc2002/DB1_B/101_1.tif': samplePng(),
        'fvc2002/DB2_A/7_3.tif': samplePng(),
        'fvc2004/DB3_B/110_8.tif': samplePng(),
      });
      const { records, quarantine } = await readFvcLayout(new LocalFolderFiles(folder.path), { source: 'fvc' });
      assert.deepEqual(quarantine, []);
      assert.deepEqual(
        records.map((record) => [record.dataset, record.database, record.sensor, record.identity, record.impression]),
        [
          ['fvc2002', 'DB1_B', 'identix-touchview-ii', 'fvc2002/DB1/101', 1],
          ['fvc2002', 'DB2_A', 'biometrika-fx2000', 'fvc2002/DB2/7', 3],
          ['fvc2004', 'DB3_B', 'atmel-fingerchip-fcd4b14cb', 'fvc2004/DB3/110', 8],
        ],
      );
    });

    it('tells databases apart for equal file names', async () => {
      writeFiles(folder.path, { 'fvc2000/DB1_B/101_1.tif': samplePng(), 'fvc2000/DB2_B/101_1.tif': samplePng() });
      const { records } = await readFvcLayout(new LocalFolderFiles(folder.path), { source: 'fvc' });
      assert.notEqual(records[0].identity, records[1].identity);
      assert.notEqual(records[0].sensor, records[1].sensor);
    });

    it('takes the year from the root folder name', async () => {
      writeFiles(folder.path, { 'fvc2006/DB1_A/1_1.bmp': samplePng() });
      const { records } = await readFvcLayout(new LocalFolderFiles(`${folder.path}/fvc2006`), { source: 'fvc' });
      assert.equal(records[0].sensor, FVC_SENSOR_TABLE['fvc2006/DB1'].sensor);
    });

    it('quarantines names that do not parse', async () => {
      writeFiles(folder.path, { 'fvc2002/DB1_B/101_1.tif': samplePng(), 'fvc2002/DB1_B/notes.txt': 'x', 'fvc2002/readme.txt': 'x' });
      const { records, quarantine } = await readFvcLayout(new LocalFolderFiles(folder.path), { source: 'fvc' });
      assert.equal(records.length, 1);
      assert.deepEqual(quarantine.map((entry) => [entry.path, entry.reason]), [
        ['fvc2002/DB1_B/notes.txt', 'unparsable-name'],
        ['fvc2002/readme.txt', 'unparsable-name'],
      ]);
    });

    it('asks for the year when no folder names it', async () => {
      writeFiles(folder.path, { 'DB1_B/101_1.tif': samplePng() });
      await assert.rejects(readFvcLayout(new LocalFolderFiles(folder.path), { source: 'fvc' }), /folder named fvc2000, fvc2002, fvc2004 or fvc2006/);
      const { records } = await readFvcLayout(new LocalFolderFiles(folder.path), { source: 'fvc', dataset: 'fvc2002' });
      assert.equal(records[0].sensor, 'identix-touchview-ii');
    });
  });

  describe('IITK', () => {
    it('reads sensor prefixes in extensionless names', async () => {
      writeFiles(folder.path, { fut3: samplePng(), lum1: samplePng(), 'sec6.jpg': samplePng(), sec2_4: samplePng() });
      const { records, quarantine } = await readIitkLayout(new LocalFolderFiles(folder.path), { source: 'iitk' });
      assert.deepEqual(quarantine, []);
      assert.deepEqual(
        records.map((record) => [record.path, record.sensor, record.identity, record.impression]),
        [
          ['fut3', 'futronic', 'iitk/futronic/3', null],
          ['lum1', 'lumidigm', 'iitk/lumidigm/1', null],
          ['sec2_4', 'secugen', 'iitk/secugen/2', 4],
          ['sec6.jpg', 'secugen', 'iitk/secugen/6', null],
        ],
      );
    });

    it('reads one folder per sensor', async () => {
      writeFiles(folder.path, { 'Futronic/12_3.bmp': samplePng(), 'SecuGen/12_1.bmp': samplePng(), 'other/x.bmp': samplePng() });
      const { records, quarantine } = await readIitkLayout(new LocalFolderFiles(folder.path), { source: 'iitk' });
      assert.deepEqual(records.map((record) => [record.sensor, record.identity, record.impression]), [
        ['futronic', 'iitk/futronic/12', 3],
        ['secugen', 'iitk/secugen/12', 1],
      ]);
      assert.deepEqual(quarantine.map((entry) => entry.reason), ['unparsable-name']);
    });
  });

  describe('IITD-MOLF', () => {
    it('reads sensor folders and numbered names', async () => {
      writeFiles(folder.path, { 'DB1_Lumidigm/1_2_3.bmp': samplePng(), 'DB3_CrossMatch/sub/1_2_1.bmp': samplePng(), 'DB4_Latent/9_4.bmp': samplePng(), 'DB1_Lumidigm/bad.bmp': samplePng() });
      const { records, quarantine } = await readIitdMolfLayout(new LocalFolderFiles(folder.path), { source: 'molf' });
      assert.deepEqual(records.map((record) => [record.sensor, record.identity, record.impression]), [
        ['lumidigm', 'iitd-molf/1-2', 3],
        ['crossmatch', 'iitd-molf/1-2', 1],
        ['latent', 'iitd-molf/9', 4],
      ]);
      assert.deepEqual(quarantine.map((entry) => entry.path), ['DB1_Lumidigm/bad.bmp']);
    });
  });

  describe('CSV manifest', () => {
    it('reads rows and quarantines escaping or missing paths', async () => {
      writeFiles(folder.path, {
        'scans/a.png': samplePng(),
        'scans/b.png': samplePng(),
        'manifest.csv': [
          'path,identity,sensor,impression',
          'scans/a.png,alice,scanner-x,1',
          '"scans/b.png",bob,"scanner, model y",',
          '../outside.png,eve,scanner-x,1',
          '/etc/passwd,eve,scanner-x,1',
          'scans/../../outside.png,eve,scanner-x,1',
          'scans/missing.png,carol,scanner-x,2',
          'scans/a.png,,scanner-x,x',
        ].join('\r\n'),
      });
      const { records, quarantine } = await readCsvManifest(new LocalFolderFiles(folder.path), { source: 'custom' });
      assert.deepEqual(records.map((record) => [record.path, record.identity, record.sensor, record.impression]), [
        ['scans/a.png', 'custom/alice', 'scanner-x', 1],
        ['scans/b.png', 'custom/bob', 'scanner, model y', null],
      ]);
      assert.deepEqual(quarantine.map((entry) => entry.reason), ['path-outside-root', 'path-outside-root', 'path-outside-root', 'missing-file', 'unparsable-name']);
    });

    it('rejects a manifest without required columns', async () => {
      writeFiles(folder.path, { 'manifest.csv': 'file,label\na.png,x\n' });
      await assert.rejects(readCsvManifest(new LocalFolderFiles(folder.path), { source: 'custom' }), /lacks column\(s\) path, identity, sensor/);
    });

    it('keeps resolved paths inside the root', () => {
      assert.equal(resolveInsideRoot('a/./b/../c.png'), 'a/c.png');
      assert.equal(resolveInsideRoot('a\\..\\..\\x'), undefined);
      assert.equal(resolveInsideRoot('C:/x.png'), undefined);
    });
  });

  describe('layout detection', () => {
    const cases: Array<{ paths: string[]; layout: string }> = [
      { paths: ['manifest.csv', 'x/y.png'], layout: 'manifest' },
      { paths: ['DB1_B/101_1.tif'], layout: 'fvc' },
      { paths: ['fvc2004/DB2_A/1_1.tif'], layout: 'fvc' },
      { paths: ['DB2_Secugen/1_1_1.bmp'], layout: 'iitd-molf' },
      { paths: ['fut1', 'lum2'], layout: 'iitk' },
      { paths: ['futronic/1_1.bmp'], layout: 'iitk' },
    ];
    for (const testCase of cases) {
      it(`detects ${testCase.layout} from ${testCase.paths[0]}`, () => {
        assert.equal(detectLayout(testCase.paths, '/data'), testCase.layout);
      });
    }

    it('explains an unknown layout and how to write a manifest', () => {
      assert.throws(
        () => detectLayout(['photos/cat.jpg', 'photos/dog.jpg', 'notes.txt'], '/data/mystery'),
        (error: unknown) =>
          error instanceof UserInputError &&
          error.message.includes('/data/mystery') &&
          error.message.includes('photos/, notes.txt') &&
          error.message.includes('path,identity,sensor,impression'),
      );
    });

    it('auto layout reads through the detected adapter', async () => {
      writeFiles(folder.path, { 'fvc2002/DB1_B/101_1.tif': samplePng() });
      const result = await readDatasetLayout(new LocalFolderFiles(folder.path), 'auto', { source: 'any' });
      assert.equal(result.layout, 'fvc');
      assert.equal(result.records.length, 1);
    });
  });
});
