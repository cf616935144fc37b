import { strict as assert } from 'node:assert';
import { UserInputError } from '../../src/config/errors';
import { SUPPORTED_CODE_LENGTHS_BITS, chooseSubstringCount, hammingDistance, parseCodeHex, formatCodeHex } from '../../src/index/codes';
import { generateClusteredCodes, generateRandomCodes } from '../../src/index/generators';
import { LinearScanIndex } from '../../src/index/linear-scan-index';
import { MultiIndexHashIndex } from '../../src/index/multi-index-hash-index';
import type { RangeSearchResult, SearchResult } from '../../src/index/binary-index';

const CODE_COUNT = 4000;
const QUERY_COUNT = 40;
const KS = [1, 10, 100];

/** Queries for clustered data: gallery codes with a few bits flipped, plus random codes. */
function makeQueries(codes: Uint8Array, codeLengthBits: number, seed: number): Uint8Array {
  const rowBytes = codeLengthBits / 8;
  const queries = generateRandomCodes({ count: QUERY_COUNT, codeLengthBits, seed });
  for (let q = 0; q < QUERY_COUNT / 2; q++) {
    const row = (q * 97) % (codes.length / rowBytes);
    queries.set(codes.subarray(row * rowBytes, (row + 1) * rowBytes), q * rowBytes);
    queries[q * rowBytes] ^= 1 << (q % 8);
  }
  return queries;
}

function assertSameSearch(actual: SearchResult, expected: SearchResult, label: string): void {
  assert.deepEqual(Array.from(actual.distances), Array.from(expected.distances), `${label}: distances differ`);
  assert.deepEqual(Array.from(actual.ids), Array.from(expected.ids), `${label}: ids differ`);
}

function assertNoDuplicates(result: SearchResult, queryCount: number, label: string): void {
  for (let q = 0; q < queryCount; q++) {
    const ids = Array.from(result.ids.subarray(q * result.k, (q + 1) * result.k)).filter((id) => id >= 0);
    assert.equal(new Set(ids).size, ids.length, `${label}: query ${q} has duplicate ids`);
  }
}

function assertSameRange(actual: RangeSearchResult, expected: RangeSearchResult, label: string): void {
  assert.deepEqual(Array.from(actual.lims), Array.from(expected.lims), `${label}: lims differ`);
  assert.deepEqual(Array.from(actual.distances), Array.from(expected.distances), `${label}: distances differ`);
  assert.deepEqual(Array.from(actual.ids), Array.from(expected.ids), `${label}: ids differ`);
}

const DATASETS = [
  { name: 'random', generate: (bits: number) => generateRandomCodes({ count: CODE_COUNT, codeLengthBits: bits, seed: bits }) },
  {
    name: 'clustered',
    generate: (bits: number) =>
      generateClusteredCodes({ count: CODE_COUNT, codeLengthBits: bits, clusterCount: 50, bitFlipProbability: 0.05, seed: bits }),
  },
];

describe('MultiIndexHashIndex against LinearScanIndex', () => {
  for (const bits of SUPPORTED_CODE_LENGTHS_BITS) {
    for (const dataset of DATASETS) {
      it(`${bits}-bit ${dataset.name} codes give exact k-NN and range results`, () => {
        const codes = dataset.generate(bits);
        const queries = makeQueries(codes, bits, bits + 1);
        const exact = new LinearScanIndex(bits);
        exact.add(codes);
        const mih = new MultiIndexHashIndex(bits);
        mih.add(codes);

        for (const k of KS) {
          const expected = exact.search(queries, k);
          const actual = mih.search(queries, k);
          assertSameSearch(actual, expected, `k=${k}`);
          assertNoDuplicates(actual, QUERY_COUNT, `k=${k}`);
        }
        for (const radius of [0, Math.floor(bits / 8), Math.floor(bits / 4), Math.floor(bits / 3)]) {
          assertSameRange(mih.rangeSearch(queries, radius), exact.rangeSearch(queries, radius), `radius=${radius}`);
        }
      });
    }
  }

  it('configured substring counts stay exact', () => {
    const codes = generateClusteredCodes({ count: CODE_COUNT, codeLengthBits: 64, clusterCount: 20, bitFlipProbability: 0.1, seed: 5 });
    const queries = makeQueries(codes, 64, 6);
    const exact = new LinearScanIndex(64);
    exact.add(codes);
    for (const substringCount of [2, 3, 5, 8]) {
      const mih = new MultiIndexHashIndex(64, { substringCount });
      mih.add(codes);
      assertSameSearch(mih.search(queries, 10), exact.search(queries, 10), `m=${substringCount}`);
    }
  });

  it('k above ntotal pads with -1', () => {
    for (const index of [new LinearScanIndex(64), new MultiIndexHashIndex(64)]) {
      index.add(generateRandomCodes({ count: 3, codeLengthBits: 64, seed: 9 }));
      const result = index.search(generateRandomCodes({ count: 1, codeLengthBits: 64, seed: 10 }), 5);
      assert.deepEqual(Array.from(result.ids.subarray(3)), [-1, -1]);
      assert.deepEqual(Array.from(result.distances.subarray(3)), [-1, -1]);
      assert.equal(new Set(Array.from(result.ids.subarray(0, 3))).size, 3);
    }
  });

  it('ties are broken by ascending id', () => {
    const code = parseCodeHex('00ff00ff00ff00ff', 64);
    const codes = new Uint8Array(5 * 8);
    for (let i = 0; i < 5; i++) codes.set(code, i * 8);
    for (const index of [new LinearScanIndex(64), new MultiIndexHashIndex(64)]) {
      index.addWithIds(codes, [50, 7, 30, 2, 11]);
      const result = index.search(code, 3);
      assert.deepEqual(Array.from(result.ids), [2, 7, 11]);
      assert.deepEqual(Array.from(result.distances), [0, 0, 0]);
    }
  });
});

describe('binary index removal and ids', () => {
  for (const makeIndex of [() => new LinearScanIndex(64), () => new MultiIndexHashIndex(64)]) {
    it(`${makeIndex().constructor.name} skips removed ids`, () => {
      const codes = generateClusteredCodes({ count: 2000, codeLengthBits: 64, clusterCount: 10, bitFlipProbability: 0.05, seed: 3 });
      const ids = Array.from({ length: 2000 }, (_, i) => 1000 + 3 * i);
      const index = makeIndex();
      index.addWithIds(codes, ids);
      const queries = makeQueries(codes, 64, 4);
      const removedIds = ids.filter((_, i) => i % 3 === 0);
      assert.equal(index.remove(removedIds), removedIds.length);
      assert.equal(index.remove(removedIds), 0, 'second removal of the same ids');
      assert.equal(index.ntotal, 2000 - removedIds.length);

      const kept = new LinearScanIndex(64);
      const keptIds = ids.filter((_, i) => i % 3 !== 0);
      const keptCodes = new Uint8Array(keptIds.length * 8);
      ids.forEach((id, i) => {
        if (i % 3 !== 0) keptCodes.set(codes.subarray(i * 8, i * 8 + 8), keptIds.indexOf(id) * 8);
      });
      kept.addWithIds(keptCodes, keptIds);
      assertSameSearch(index.search(queries, 10), kept.search(queries, 10), 'after remove');
      assertSameRange(index.rangeSearch(queries, 12), kept.rangeSearch(queries, 12), 'range after remove');
      assert.throws(() => index.reconstruct(removedIds[0]), UserInputError);
      assert.deepEqual(index.reconstruct(ids[1]), codes.subarray(8, 16));
    });
  }

  it('add continues ids after the largest id', () => {
    const index = new MultiIndexHashIndex(32);
    index.addWithIds(generateRandomCodes({ count: 2, codeLengthBits: 32, seed: 1 }), [10, 4]);
    index.add(generateRandomCodes({ count: 2, codeLengthBits: 32, seed: 2 }));
    assert.equal(index.ntotal, 4);
    assert.doesNotThrow(() => index.reconstruct(11));
    assert.doesNotThrow(() => index.reconstruct(12));
  });
});

describe('binary index input validation', () => {
  it('rejects unsupported code lengths', () => {
    assert.throws(() => new LinearScanIndex(48), /invalid code length 48 bits: expected one of 32, 64, 128, 256/);
    assert.throws(() => new MultiIndexHashIndex(512), UserInputError);
  });

  it('rejects codes of the wrong length', () => {
    const index = new MultiIndexHashIndex(64);
    assert.throws(() => index.add(new Uint8Array(12)), /12 bytes is not a whole number of 64-bit codes/);
    index.add(new Uint8Array(16));
    assert.throws(() => index.search(new Uint8Array(4), 1), /invalid queries/);
    assert.throws(() => index.search(new Uint8Array(8), 0), /invalid k 0/);
    assert.throws(() => index.rangeSearch(new Uint8Array(8), -1), /invalid radius -1/);
  });

  it('rejects duplicate and invalid ids', () => {
    const index = new LinearScanIndex(32);
    index.addWithIds(new Uint8Array(8), [5, 6]);
    assert.throws(() => index.addWithIds(new Uint8Array(4), [5]), /already in the index/);
    assert.throws(() => index.addWithIds(new Uint8Array(8), [8, 8]), /already in the index/);
    assert.throws(() => index.addWithIds(new Uint8Array(4), [-1]), /non-negative safe integer/);
    assert.throws(() => index.addWithIds(new Uint8Array(8), [9]), /one id per code/);
  });

  it('parses and formats hex codes', () => {
    const code = parseCodeHex('0123456789abcdef', 64);
    assert.equal(formatCodeHex(code), '0123456789abcdef');
    assert.equal(hammingDistance(code, parseCodeHex('0123456789abcdee', 64)), 1);
    assert.throws(() => parseCodeHex('0123', 64), /expected 16 hexadecimal digits/);
    assert.throws(() => parseCodeHex('zz23456789abcdef', 64), UserInputError);
  });

  it('chooses m by the b / log2 N rule', () => {
    assert.equal(chooseSubstringCount(64, 10_000), 5);
    assert.equal(chooseSubstringCount(64, 100_000), 4);
    assert.equal(chooseSubstringCount(64, 1_000_000), 4);
    assert.equal(chooseSubstringCount(256, 1_000_000), 13);
    assert.equal(chooseSubstringCount(256, 100), 32);
    assert.equal(chooseSubstringCount(32, 1), 4);
  });
});
