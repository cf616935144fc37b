import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserInputError } from '../../src/config/errors';
import { parquetToTable } from '../../src/columnar/parquet';
import { codeShardSchema, getCodeShard, putCodeShard, readCodeShard, writeCodeShard, type CodeShard } from '../../src/hashing/code-shards';
import { SUPPORTED_CODE_LENGTHS_BITS, createPackedCodes } from '../../src/hashing/codes';
import { SeededRandom } from '../../src/hashing/random';
import { FilesystemStore } from '../../src/storage';

function randomShard(codeLengthBits: number, rowCount: number, seed: number): CodeShard {
  const random = new SeededRandom(seed);
  const codes = createPackedCodes(
    Uint8Array.from({ length: rowCount * (codeLengthBits / 8) }, () => random.nextInt(256)),
    rowCount,
    codeLengthBits,
  );
  return {
    ids: Array.from({ length: rowCount }, (_, row) => `fvc2002-db1-${row}`),
    identities: Array.from({ length: rowCount }, (_, row) => `finger-${row % 7}`),
    sensors: Array.from({ length: rowCount }, (_, row) => (row % 2 === 0 ? 'optical' : 'capacitive')),
    datasets: new Array<string>(rowCount).fill('fvc2002'),
    codes,
    modelVersion: 'dh-64-3f2a',
  };
}

describe('code shards', () => {
  for (const codeLengthBits of SUPPORTED_CODE_LENGTHS_BITS) {
    it(`round trip ${codeLengthBits}-bit codes bit-exactly`, () => {
      const shard = randomShard(codeLengthBits, 257, codeLengthBits);
      const back = readCodeShard(writeCodeShard(shard));
      assert.deepEqual(back.codes.data, shard.codes.data);
      assert.equal(back.codes.codeLengthBits, codeLengthBits);
      assert.deepEqual(back.ids, shard.ids);
      assert.deepEqual(back.identities, shard.identities);
      assert.deepEqual(back.sensors, shard.sensors);
      assert.deepEqual(back.datasets, shard.datasets);
      assert.equal(back.modelVersion, shard.modelVersion);
    });
  }

  it('writes the documented Arrow schema', () => {
    const table = parquetToTable(writeCodeShard(randomShard(48, 3, 1)));
    assert.deepEqual(
      table.schema.fields.map((field) => `${field.name}: ${String(field.type)}`),
      codeShardSchema(48).fields.map((field) => `${field.name}: ${String(field.type)}`),
    );
    assert.equal(String(table.schema.fields[4].type), 'FixedSizeBinary[6]');
    assert.equal(table.schema.metadata.get('whorl.code_shard.bit_order'), 'lsb-first');
  });

  it('round trips an empty shard', () => {
    const back = readCodeShard(writeCodeShard(randomShard(32, 0, 1)));
    assert.equal(back.codes.count, 0);
  });

  it('rejects mismatched column lengths and duplicate ids', () => {
    const shard = randomShard(16, 4, 2);
    assert.throws(() => writeCodeShard({ ...shard, sensors: ['optical'] }), (error: unknown) => error instanceof UserInputError && /1 sensors for 4 codes/.test(error.message));
    assert.throws(() => writeCodeShard({ ...shard, ids: ['a', 'b', 'a', 'c'] }), /id "a" appears more than once/);
  });

  it('stores and reads shards through an object store', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'whorl-code-shards-'));
    try {
      const store = new FilesystemStore(folder);
      const shard = randomShard(64, 20, 3);
      await putCodeShard(store, 'codes/abc/part-00000.parquet', shard);
      const back = await getCodeShard(store, 'codes/abc/part-00000.parquet');
      assert.deepEqual(back.codes.data, shard.codes.data);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
