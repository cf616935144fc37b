import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChecksumMismatchError, FilesystemStore, readCurrentVersion, type ObjectStore } from '../../src/storage';
import { UserInputError } from '../../src/config/errors';
import { generateClusteredCodes, generateRandomCodes } from '../../src/index/generators';
import { LinearScanIndex } from '../../src/index/linear-scan-index';
import {
  appendDelta,
  buildIndex,
  compactIndex,
  indexRoot,
  loadIndexVersion,
  removeFromIndex,
  requireCurrent,
  type IndexManifest,
} from '../../src/index/index-store';
import { decodeShard, encodeShard, ShardFormatError } from '../../src/index/shard-format';
import { buildShard } from '../../src/index/sharded-build';
import { ShardedSearcher } from '../../src/search/sharded-searcher';
import { localS3Store } from '../support/stack';

const BITS = 64;

function uniqueIndexName(label: string): string {
  return `test-${label}-${randomUUID()}`;
}

async function deleteIndex(store: ObjectStore, name: string): Promise<void> {
  for (const info of await store.list(indexRoot(name))) await store.delete(info.key);
}

/** Flat exact search over the same codes and ids, for comparison. */
function exactSearch(codes: Uint8Array, ids: number[], queries: Uint8Array, k: number): { distances: number[][]; ids: number[][] } {
  const index = new LinearScanIndex(BITS);
  index.addWithIds(codes, ids);
  const result = index.search(queries, k);
  const queryCount = queries.byteLength / (BITS / 8);
  const distances: number[][] = [];
  const resultIds: number[][] = [];
  for (let q = 0; q < queryCount; q++) {
    const slice = Array.from(result.ids.subarray(q * k, (q + 1) * k));
    const kept = slice.filter((id) => id >= 0).length;
    distances.push(Array.from(result.distances.subarray(q * k, q * k + kept)));
    resultIds.push(slice.slice(0, kept));
  }
  return { distances, ids: resultIds };
}

describe('shard format', () => {
  it('round-trips codes, ids, labels and tables', () => {
    const codes = generateRandomCodes({ count: 300, codeLengthBits: 128, seed: 1 });
    const ids = Array.from({ length: 300 }, (_, i) => 10 + i);
    const labels = ids.map((id) => `finger-${id}-ü`);
    const { bytes } = buildShard({ codeLengthBits: 128, codes, ids, labels, substringCount: 8 });
    const shard = decodeShard(bytes, 'shard.bin');
    assert.deepEqual(shard.codes, codes);
    assert.deepEqual(Array.from(shard.ids), ids);
    assert.deepEqual(shard.labels, labels);
    assert.equal(shard.tables.length, 8);
    assert.equal(shard.tables[7].bitStart + shard.tables[7].bitLength, 128);
    assert.deepEqual(encodeShard(shard), bytes);
  });

  it('names the checksum mismatch of a corrupt shard', () => {
    const { bytes } = buildShard({ codeLengthBits: 64, codes: generateRandomCodes({ count: 50, codeLengthBits: 64 }), ids: [...Array(50).keys()], substringCount: 4 });
    const corrupt = bytes.slice();
    corrupt[100] ^= 0xff;
    assert.throws(() => decodeShard(corrupt, 'index/x/v0001/shard-00000.bin'), (error: unknown) => {
      assert.ok(error instanceof ChecksumMismatchError);
      assert.match(error.message, /checksum mismatch for index\/x\/v0001\/shard-00000\.bin/);
      return true;
    });
  });

  it('rejects truncated shards', () => {
    const { bytes } = buildShard({ codeLengthBits: 64, codes: generateRandomCodes({ count: 50, codeLengthBits: 64 }), ids: [...Array(50).keys()], substringCount: 4 });
    assert.throws(() => decodeShard(bytes.subarray(0, 20), 'short.bin'), ShardFormatError);
    assert.throws(() => decodeShard(bytes.subarray(0, bytes.byteLength - 8), 'cut.bin'), ChecksumMismatchError);
  });
});

function storeSuite(label: string, makeStore: () => ObjectStore): void {
  describe(`sharded index in ${label}`, function () {
    this.timeout(60_000);
    let store: ObjectStore;
    let name: string;

    beforeEach(() => {
      store = makeStore();
      name = uniqueIndexName(label);
    });

    afterEach(async () => {
      await deleteIndex(store, name);
    });

    it('round-trips every shard and searches exactly', async () => {
      const codes = generateClusteredCodes({ count: 6000, codeLengthBits: BITS, clusterCount: 40, bitFlipProbability: 0.08, seed: 11 });
      const ids = Array.from({ length: 6000 }, (_, i) => i * 2);
      const labels = ids.map((id) => `img-${id}`);
      const published = await buildIndex(store, {
        name,
        codeLengthBits: BITS,
        codes,
        ids,
        labels,
        shardCount: 3,
        modelVersion: 'models/hashing/abc',
        sourceCodeShards: [{ key: 'codes/abc/part-00000.parquet', sha256: 'f'.repeat(64) }],
        galleryWatermark: 'gallery/2026-12-01',
      });
      assert.equal(published.version, 1);
      assert.equal(published.manifest.shards.length, 3);
      assert.equal(published.manifest.codeCount, 6000);
      assert.equal(published.manifest.modelVersion, 'models/hashing/abc');

      const current = await requireCurrent(store, name);
      const loaded = await loadIndexVersion(store, current);
      const roundTripped = loaded.shards.flatMap((shard) => Array.from(shard.contents?.ids ?? []));
      assert.deepEqual(roundTripped, ids);
      for (const shard of loaded.shards) {
        const objectBytes = await store.get(indexRoot(name) + shard.entry.key);
        assert.equal(objectBytes.byteLength, shard.entry.sizeBytes);
      }

      const searcher = new ShardedSearcher({ store, indexName: name });
      assert.equal(await searcher.refresh(), 1);
      const queries = generateRandomCodes({ count: 20, codeLengthBits: BITS, seed: 12 });
      queries.set(codes.subarray(0, 80), 0);
      const result = await searcher.search(queries, 10);
      const expected = exactSearch(codes, ids, queries, 10);
      assert.deepEqual(result.ids, expected.ids);
      assert.deepEqual(result.distances, expected.distances);
      assert.equal(result.labels[0][0], 'img-0');
      await searcher.close();
    });

    it('keeps remove, delta and compaction exact', async () => {
      const codes = generateClusteredCodes({ count: 4000, codeLengthBits: BITS, clusterCount: 30, bitFlipProbability: 0.08, seed: 21 });
      const delta = generateClusteredCodes({ count: 500, codeLengthBits: BITS, clusterCount: 30, bitFlipProbability: 0.08, seed: 21 });
      await buildIndex(store, { name, codeLengthBits: BITS, codes, shardCount: 2 });
      const appended = await appendDelta(store, { name, codes: delta, galleryWatermark: 'gallery/2' });
      assert.equal(appended.version, 2);
      assert.deepEqual(appended.manifest.shards.map((shard) => shard.kind), ['base', 'base', 'delta']);
      assert.equal(appended.manifest.nextId, 4500);
      assert.equal(appended.manifest.galleryWatermark, 'gallery/2');

      const removedIds = [0, 5, 17, 4001, 4499, 999_999];
      const removed = await removeFromIndex(store, { name, ids: removedIds });
      assert.equal(removed.manifest.liveCount, 4500 - 5);
      assert.equal(removed.manifest.tombstones?.count, 5);

      const allCodes = new Uint8Array([...codes, ...delta]);
      const allIds = Array.from({ length: 4500 }, (_, i) => i);
      const keptRows = allIds.filter((id) => !removedIds.includes(id));
      const keptCodes = new Uint8Array(keptRows.length * 8);
      keptRows.forEach((id, i) => keptCodes.set(allCodes.subarray(id * 8, id * 8 + 8), i * 8));
      const queries = new Uint8Array([...allCodes.subarray(0, 80), ...generateRandomCodes({ count: 10, codeLengthBits: BITS, seed: 3 })]);
      const expected = exactSearch(keptCodes, keptRows, queries, 25);

      const searcher = new ShardedSearcher({ store, indexName: name });
      await searcher.refresh();
      const beforeCompaction = await searcher.search(queries, 25);
      assert.deepEqual(beforeCompaction.ids, expected.ids);
      assert.deepEqual(beforeCompaction.distances, expected.distances);

      const compacted = await compactIndex(store, { name });
      assert.equal(compacted.version, 4);
      assert.deepEqual(compacted.manifest.shards.map((shard) => shard.kind), ['base', 'base']);
      assert.equal(compacted.manifest.tombstones, undefined);
      assert.equal(compacted.manifest.codeCount, 4495);
      assert.equal(compacted.manifest.nextId, 4500);
      assert.equal(compacted.manifest.galleryWatermark, 'gallery/2');

      assert.equal(await searcher.refresh(), 4);
      const afterCompaction = await searcher.search(queries, 25);
      assert.deepEqual(afterCompaction.ids, expected.ids);
      assert.deepEqual(afterCompaction.distances, expected.distances);
      await searcher.close();
    });

    it('reports a manifest that lists a missing shard', async () => {
      const published = await buildIndex(store, { name, codeLengthBits: BITS, codes: generateRandomCodes({ count: 100, codeLengthBits: BITS }), shardCount: 2 });
      await store.delete(indexRoot(name) + published.manifest.shards[1].key);
      await assert.rejects(loadIndexVersion(store, await requireCurrent(store, name)), (error: unknown) => {
        assert.ok(error instanceof UserInputError);
        assert.match(error.message, /lists index\/.*\/v0001\/shard-00001\.bin, which is missing/);
        return true;
      });
    });

    it('rejects a build with the wrong code length', async () => {
      await assert.rejects(buildIndex(store, { name, codeLengthBits: 64, codes: new Uint8Array(12) }), /not a whole number of 64-bit codes/);
      await assert.rejects(buildIndex(store, { name, codeLengthBits: 63, codes: new Uint8Array(8) }), /invalid code length 63 bits/);
      await buildIndex(store, { name, codeLengthBits: 64, codes: new Uint8Array(16) });
      await assert.rejects(appendDelta(store, { name, codes: new Uint8Array(4) }), /not a whole number of 64-bit codes/);
    });
  });
}

storeSuite('filesystem', () => new FilesystemStore(mkdtempSync(join(tmpdir(), 'whorl-index-'))));
storeSuite('minio', () => localS3Store());

describe('sharded index publishing under concurrent readers', function () {
  this.timeout(60_000);
  const store = localS3Store();
  const name = uniqueIndexName('concurrent');

  after(async () => {
    await deleteIndex(store, name);
  });

  it('reader never sees a half-published version', async () => {
    await buildIndex(store, { name, codeLengthBits: BITS, codes: generateRandomCodes({ count: 2000, codeLengthBits: BITS, seed: 1 }), shardCount: 2 });
    let writing = true;
    const writer = (async () => {
      try {
        for (let i = 0; i < 4; i++) {
          await appendDelta(store, { name, codes: generateRandomCodes({ count: 300, codeLengthBits: BITS, seed: 100 + i }) });
        }
      } finally {
        writing = false;
      }
    })();

    let reads = 0;
    const versionsSeen = new Set<number>();
    while (writing) {
      const current = await readCurrentVersion<IndexManifest>(store, indexRoot(name));
      assert.ok(current !== undefined);
      const loaded = await loadIndexVersion(store, current);
      const loadedCount = loaded.shards.reduce((sum, shard) => sum + (shard.contents?.ids.length ?? 0), 0);
      assert.equal(loadedCount, current.manifest.codeCount, `version ${current.version} loaded partially`);
      versionsSeen.add(current.version);
      reads++;
    }
    await writer;
    assert.ok(reads > 1, `expected several reads during publishing, got ${reads}`);
    assert.ok(versionsSeen.size > 1, `expected the reader to see several versions, saw ${[...versionsSeen].join(', ')}`);
  });
});
