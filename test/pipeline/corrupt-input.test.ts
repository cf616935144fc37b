import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { quarantineLines, runPipeline } from '../../src/cli/pipeline-command';
import { loadEnvironment } from '../../src/config/environment';
import { readPreparedManifest } from '../../src/datasets/manifest';
import { createStore } from '../../src/storage';

const FVC2002_DB1 = resolve(__dirname, '../../../shared/datasets/fvc2002/DB1_B');

/**
 * Builds a small FVC-layout folder with real prints from the shared data plus
 * two broken files, and a config that prepares it beside a synthetic source.
 */
function writeCorruptSource(): { configPath: string; brokenFiles: string[] } {
  const folder = mkdtempSync(join(tmpdir(), 'whorl-corrupt-'));
  const database = join(folder, 'fvc2002', 'DB1_B');
  mkdirSync(database, { recursive: true });
  for (const name of ['101_1.tif', '101_2.tif', '102_1.tif', '102_2.tif']) copyFileSync(join(FVC2002_DB1, name), join(database, name));
  writeFileSync(join(database, '103_1.tif'), new Uint8Array(0));
  writeFileSync(join(database, '103_2.tif'), readFileSync(join(FVC2002_DB1, '103_2.tif')).subarray(0, 2000));

  const config = {
    name: 'pipeline-corrupt',
    seed: 5,
    tracking: { experiment: 'whorl-tests' },
    data: {
      sources: [
        { name: 'synthetic', layout: 'synthetic', synthetic: { fingers: 12, sensors: 2, impressionsPerFinger: 3 } },
        { name: 'broken-fvc', layout: 'fvc', root: folder },
      ],
      imageSizePx: 48,
      splits: { galleryImpressionsPerFinger: 1, hashingEvalFraction: 0.34 },
    },
    hashing: { kinds: ['lsh'], codeLengthsBits: [32], featureSizePx: 16, indexed: { kind: 'lsh', codeLengthBits: 32 } },
    index: { name: 'pipeline-corrupt', shardCount: 1 },
  };
  // The config lives outside the data folder, so the adapter does not see it as an input file.
  const configPath = join(mkdtempSync(join(tmpdir(), 'whorl-corrupt-config-')), 'run.yaml');
  writeFileSync(configPath, stringify(config));
  return { configPath, brokenFiles: ['DB1_B/103_1.tif', 'DB1_B/103_2.tif'] };
}

describe('pipeline with corrupt input files', function () {
  this.timeout(600_000);

  before(function () {
    try {
      readFileSync(join(FVC2002_DB1, '101_1.tif'));
    } catch {
      console.warn(`    skipping: ${FVC2002_DB1} not found; place the shared datasets folder beside the repository`);
      this.skip();
    }
  });

  it('quarantines the broken files and completes', async () => {
    const { configPath, brokenFiles } = writeCorruptSource();
    const { summary } = await runPipeline({ configPath, startStack: false, startWorkers: true, runKey: `corrupt-${Date.now()}` });

    for (const stage of summary.progress.stages) {
      assert.ok(stage.status === 'done' || stage.status === 'cached' || stage.status === 'skipped', `${stage.stage} ended ${stage.status}`);
    }
    assert.equal(summary.prepared.quarantined, 2);
    assert.equal(summary.prepared.images, 72 + 4);

    const manifest = await readPreparedManifest(createStore(loadEnvironment()), summary.prepared.manifestKey);
    const quarantined = manifest.quarantine.map((entry) => entry.path).sort();
    assert.deepEqual(quarantined.map((path) => path.replace(/^fvc2002\//, '')), brokenFiles);
    for (const entry of manifest.quarantine) assert.ok(entry.detail.length > 0, `quarantine of ${entry.path} needs a reason`);

    // The printed summary lists each quarantined file with its reason.
    const lines = await quarantineLines(summary.prepared.manifestKey, loadEnvironment());
    assert.equal(lines.length, 2);
    for (const file of brokenFiles) assert.ok(lines.some((line) => line.includes(file)), `summary should list ${file}: ${lines.join(' | ')}`);
  });
});
