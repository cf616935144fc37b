import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { indexCommand, searchCommand } from '../../src/cli/index-command';
import { formatCodeHex } from '../../src/index/codes';
import { generateClusteredCodes } from '../../src/index/generators';
import { writeCodesParquet } from '../../src/index/parquet-codes';

/** Runs a command in this process and returns what it printed with console.log. */
async function run(command: Command, args: string[]): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    await command.exitOverride().parseAsync(args, { from: 'user' });
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

describe('whorl index and search commands', function () {
  this.timeout(120_000);
  const folder = mkdtempSync(join(tmpdir(), 'whorl-index-cli-'));
  const storeDir = join(folder, 'store');
  const codes = generateClusteredCodes({ count: 3000, codeLengthBits: 128, clusterCount: 30, bitFlipProbability: 0.05, seed: 7 });
  const labels = Array.from({ length: 3000 }, (_, i) => `gallery/finger-${i}.png`);
  const codesPath = join(folder, 'codes.parquet');
  writeFileSync(codesPath, writeCodesParquet({ codeLengthBits: 128, codes, labels }));

  it('builds from Parquet and searches by code', async () => {
    const build = await run(indexCommand(), ['build', '--name', 'cli', '--store-dir', storeDir, '--codes', codesPath, '--shards', '3', '--model-version', 'models/hashing/x']);
    assert.match(build, /index cli version 1/);
    assert.match(build, /3000 live of 3000, 128 bits/);

    const query = formatCodeHex(codes.subarray(42 * 16, 43 * 16));
    const search = await run(searchCommand(), ['--name', 'cli', '--store-dir', storeDir, '--code', query, '--k', '5', '--json']);
    const result = JSON.parse(search) as { indexVersion: number; modelVersion: string; matches: { id: number; label: string; distance: number }[] };
    assert.equal(result.indexVersion, 1);
    assert.equal(result.modelVersion, 'models/hashing/x');
    assert.equal(result.matches.length, 5);
    assert.deepEqual(result.matches[0], { id: 42, label: 'gallery/finger-42.png', distance: 0 });
  });

  it('inspects and compacts the index', async () => {
    const inspect = await run(indexCommand(), ['inspect', '--name', 'cli', '--store-dir', storeDir, '--json']);
    const manifest = JSON.parse(inspect) as { version: number; shards: unknown[]; sourceCodeShards: { key: string }[] };
    assert.equal(manifest.shards.length, 3);
    assert.equal(manifest.sourceCodeShards[0].key, codesPath);

    const compact = await run(indexCommand(), ['compact', '--name', 'cli', '--store-dir', storeDir, '--shards', '2']);
    assert.match(compact, /index cli version 2/);
    assert.match(compact, /v0002\/shard-00001\.bin/);
  });

  it('rejects bad input with a message', async () => {
    await assert.rejects(run(searchCommand(), ['--name', 'cli', '--store-dir', storeDir, '--code', 'abcd']), /expected 32 hexadecimal digits for a 128-bit code/);
    await assert.rejects(run(searchCommand(), ['--name', 'nothing-here', '--store-dir', storeDir, '--code', 'abcd']), /index "nothing-here" not found/);
    await assert.rejects(run(indexCommand(), ['build', '--name', 'cli', '--store-dir', storeDir]), /exactly one of --codes FILE, --random COUNT or --clustered COUNT/);
    await assert.rejects(run(indexCommand(), ['build', '--name', 'cli', '--store-dir', storeDir, '--random', '10', '--code-length', '48']), /invalid code length 48 bits/);
  });

  it('exits 1 with the error on stderr', () => {
    const result = spawnSync(process.execPath, [join(__dirname, '../../scripts/whorl.cjs'), 'search', '--store-dir', storeDir, '--name', 'cli', '--code', 'zz'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /error: invalid code "zz"/);
  });
});
