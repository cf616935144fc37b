import { UserInputError } from '../config/errors';
import {
  RangeResultBuilder,
  countQueries,
  emptySearchResult,
  sortMatches,
  validateK,
  validateRadius,
  type RangeSearchResult,
  type SearchResult,
} from './binary-index';
import type { CodeStorage } from './code-storage';
import { chooseSubstringCount } from './codes';
import { StoredCodesIndex } from './stored-codes-index';
import {
  buildSubstringTable,
  enumerateByMasks,
  extractSubstring,
  flipMasks,
  probeAtRadius,
  substringLayout,
  type SubstringTable,
} from './substring-tables';

export interface MultiIndexHashOptions {
  /** Number of substrings m; by default ⌈b / log2 N⌉ for the codes present when the tables are first built. */
  substringCount?: number;
}

/**
 * Exact Hamming search by multi-index hashing (Norouzi, Punjani and Fleet,
 * "Fast search in Hamming space with multi-index hashing", CVPR 2012). Each
 * code is split into m disjoint substrings with one table per substring. A
 * code within distance r of a query matches it in some substring within
 * ⌊r / m⌋, so probing every table to that radius and checking candidates
 * with the full distance finds all of them. k-NN search grows the probe
 * radius until the k-th distance found is covered by that guarantee, so its
 * results equal LinearScanIndex's, ties broken by id included.
 *
 * Tables are rebuilt on the first search after an add; removed codes stay in
 * the tables and are skipped when verified.
 */
export class MultiIndexHashIndex extends StoredCodesIndex {
  private readonly configuredSubstringCount: number | undefined;
  private tables: SubstringTable[] = [];
  private tablesRowCount = -1;
  private visitedStamps = new Uint32Array(0);
  private stamp = 0;
  /** Rows found by the current k-NN query, per distance; reused between queries to spare the garbage collector. */
  private readonly resultBuckets: number[][];
  /** Substring values of the current query, one per table. */
  private queryKeys = new Uint32Array(0);

  constructor(codeLengthBits: number, options: MultiIndexHashOptions = {}, storage?: CodeStorage) {
    super(codeLengthBits, storage);
    if (options.substringCount !== undefined) {
      const m = options.substringCount;
      if (!Number.isInteger(m) || m < Math.ceil(codeLengthBits / 32) || m > codeLengthBits) {
        throw new UserInputError(
          `invalid substring count ${m} for ${codeLengthBits}-bit codes: expected an integer from ${Math.ceil(codeLengthBits / 32)} to ${codeLengthBits}, so that substrings have 1 to 32 bits`,
        );
      }
    }
    this.configuredSubstringCount = options.substringCount;
    this.resultBuckets = Array.from({ length: this.storage.codeLengthBits + 1 }, () => []);
  }

  /** Wraps codes and tables read from a shard, without rebuilding the tables. */
  static fromTables(storage: CodeStorage, tables: SubstringTable[]): MultiIndexHashIndex {
    const index = new MultiIndexHashIndex(storage.codeLengthBits, { substringCount: tables.length }, storage);
    index.tables = tables;
    index.queryKeys = new Uint32Array(tables.length);
    index.tablesRowCount = storage.rowCount;
    return index;
  }

  /** Number of substrings m, fixed once the tables were first built. */
  get substringCount(): number {
    return this.configuredSubstringCount ?? (this.tables.length || chooseSubstringCount(this.codeLengthBits, this.storage.rowCount));
  }

  /** Tables of the current codes, built now if an add made them stale. */
  substringTables(): SubstringTable[] {
    this.ensureTables();
    return this.tables;
  }

  search(queries: Uint8Array, k: number): SearchResult {
    validateK(k);
    const queryCount = countQueries(queries, this.codeLengthBits);
    this.ensureTables();
    const result = emptySearchResult(queryCount, k);
    const rowBytes = this.storage.rowBytes;
    const queryWords = new Uint32Array(rowBytes / 4);

    for (let q = 0; q < queryCount; q++) {
      new Uint8Array(queryWords.buffer).set(queries.subarray(q * rowBytes, (q + 1) * rowBytes));
      const { distances, ids } = this.searchOne(queryWords, k);
      result.distances.set(distances, q * k);
      result.ids.set(ids, q * k);
    }
    return result;
  }

  rangeSearch(queries: Uint8Array, radius: number): RangeSearchResult {
    validateRadius(radius, this.codeLengthBits);
    const queryCount = countQueries(queries, this.codeLengthBits);
    this.ensureTables();
    const builder = new RangeResultBuilder();
    const rowBytes = this.storage.rowBytes;
    const queryWords = new Uint32Array(rowBytes / 4);

    for (let q = 0; q < queryCount; q++) {
      new Uint8Array(queryWords.buffer).set(queries.subarray(q * rowBytes, (q + 1) * rowBytes));
      builder.append(...this.rangeSearchOne(queryWords, Math.min(radius, this.codeLengthBits)));
    }
    return builder.finish();
  }

  override reset(): void {
    super.reset();
    this.tables = [];
    this.tablesRowCount = -1;
  }

  private ensureTables(): void {
    if (this.tablesRowCount === this.storage.rowCount) return;
    const m = this.substringCount;
    const words = this.storage.codeWords();
    const wordsPerCode = this.storage.rowBytes / 4;
    this.tables = substringLayout(this.codeLengthBits, m).map(({ bitStart, bitLength }) =>
      buildSubstringTable(words, this.storage.rowCount, wordsPerCode, bitStart, bitLength),
    );
    this.queryKeys = new Uint32Array(m);
    this.tablesRowCount = this.storage.rowCount;
  }

  /** Starts a new query: rows whose stamp equals the returned value were already verified. */
  private nextStamp(): number {
    if (this.visitedStamps.length < this.storage.rowCount) {
      this.visitedStamps = new Uint32Array(this.storage.rowCount);
      this.stamp = 0;
    }
    if (this.stamp === 0xffffffff) {
      this.visitedStamps.fill(0);
      this.stamp = 0;
    }
    return ++this.stamp;
  }

  private searchOne(queryWords: Uint32Array, k: number): { distances: number[]; ids: number[] } {
    const b = this.codeLengthBits;
    const m = this.tables.length;
    const wordsPerCode = queryWords.length;
    const removed = this.storage.removed;
    const stamp = this.nextStamp();
    const visited = this.visitedStamps;
    const liveCount = this.storage.liveCount;
    const needed = Math.min(k, liveCount);
    if (needed === 0) return { distances: [], ids: [] };

    // Rows found so far, bucketed by distance, and pruned to distances <= kth.
    // Once `found` >= needed, kth is the needed-th smallest distance found.
    // The loops below are written out without closures so that V8 keeps
    // these counters in registers.
    const buckets = this.resultBuckets;
    for (let d = 0; d <= b; d++) buckets[d].length = 0;
    let found = 0;
    let kth = b;
    const q0 = queryWords[0];
    const q1 = wordsPerCode > 1 ? queryWords[1] : 0;

    const queryKeys = this.queryKeys;
    for (let j = 0; j < m; j++) queryKeys[j] = extractSubstring(queryWords, 0, this.tables[j].bitStart, this.tables[j].bitLength);
    const maxRadius = this.tables[0].bitLength;
    search: for (let s = 0; s <= maxRadius; s++) {
      for (let j = 0; j < m; j++) {
        const table = this.tables[j];
        const key = queryKeys[j];
        const directOffsets = table.directOffsets;
        const byMasks = directOffsets !== undefined && s <= table.bitLength && enumerateByMasks(table, s);
        // Buckets come from precomputed flip masks over direct-address
        // offsets (the common case), or from a list of postings ranges.
        const masks = byMasks ? flipMasks(table.bitLength, s) : EMPTY_MASKS;
        const ranges = byMasks ? EMPTY_RANGES : collectRanges(table, key, s);
        const bucketCount = byMasks ? masks.length : ranges.length / 2;
        const postings = table.postings;
        const codes = table.postingCodes as Uint32Array;

        for (let i = 0; i < bucketCount; i++) {
          let start: number;
          let end: number;
          if (byMasks) {
            const probe = (key ^ masks[i]) >>> 0;
            start = (directOffsets as Uint32Array)[probe];
            end = (directOffsets as Uint32Array)[probe + 1];
          } else {
            start = ranges[2 * i];
            end = ranges[2 * i + 1];
          }

          for (let p = start; p < end; p++) {
            let distance: number;
            if (wordsPerCode === 2) {
              distance = popcount32(q0 ^ codes[2 * p]) + popcount32(q1 ^ codes[2 * p + 1]);
            } else {
              distance = 0;
              const base = p * wordsPerCode;
              for (let w = 0; w < wordsPerCode; w++) distance += popcount32(queryWords[w] ^ codes[base + w]);
            }
            if (distance > kth) continue;

            // Only candidates within kth reach the random accesses below.
            const row = postings[p];
            if (visited[row] === stamp) continue;
            visited[row] = stamp;
            if (removed[row] !== 0) continue;
            buckets[distance].push(row);
            found++;
            while (found - buckets[kth].length >= needed) {
              found -= buckets[kth].length;
              buckets[kth].length = 0;
              kth--;
            }
          }
        }

        // Tables 0..j are probed to radius s and the others to s - 1, so by
        // the pigeonhole principle every code within m·s + j was verified.
        if (found >= needed && kth <= m * s + j) break search;
      }
    }

    const distances: number[] = [];
    const ids: number[] = [];
    const storageIds = this.storage.ids;
    for (let d = 0; d <= b && distances.length < needed; d++) {
      const rows = buckets[d];
      if (rows.length === 0) continue;
      const bucketIds = rows.map((row) => storageIds[row]).sort((x, y) => x - y);
      for (const id of bucketIds) {
        if (distances.length === needed) break;
        distances.push(d);
        ids.push(id);
      }
    }
    return { distances, ids };
  }

  private rangeSearchOne(queryWords: Uint32Array, radius: number): [number[], number[]] {
    const m = this.tables.length;
    const words = this.storage.codeWords();
    const wordsPerCode = queryWords.length;
    const removed = this.storage.removed;
    const storageIds = this.storage.ids;
    const stamp = this.nextStamp();
    const visited = this.visitedStamps;
    const distances: number[] = [];
    const ids: number[] = [];

    const verify = (start: number, end: number, postings: Uint32Array): void => {
      for (let p = start; p < end; p++) {
        const row = postings[p];
        if (visited[row] === stamp) continue;
        visited[row] = stamp;
        if (removed[row] !== 0) continue;
        let distance = 0;
        const base = row * wordsPerCode;
        for (let w = 0; w < wordsPerCode; w++) distance += popcount32(queryWords[w] ^ words[base + w]);
        if (distance <= radius) {
          distances.push(distance);
          ids.push(storageIds[row]);
        }
      }
    };

    // A code within `radius` is within ⌊radius / m⌋ of the query in at least one substring.
    const probeRadius = Math.floor(radius / m);
    for (let j = 0; j < m; j++) {
      const table = this.tables[j];
      const key = extractSubstring(queryWords, 0, table.bitStart, table.bitLength);
      for (let s = 0; s <= probeRadius; s++) probeAtRadius(table, key, s, (start, end) => verify(start, end, table.postings));
    }
    sortMatches(distances, ids);
    return [distances, ids];
  }
}

const EMPTY_MASKS = new Uint32Array(0);
const EMPTY_RANGES: number[] = [];

/** Returns the postings ranges [start, end) of every key at exactly `radius` from `key`, flattened. */
function collectRanges(table: SubstringTable, key: number, radius: number): number[] {
  const ranges: number[] = [];
  probeAtRadius(table, key, radius, (start, end) => {
    ranges.push(start, end);
  });
  return ranges;
}

/**
 * Counts the set bits of a 32-bit integer. It is a copy of codes.ts's
 * popcount32 because calls across modules go through the CommonJS export
 * getters that tsx generates, which V8 does not inline in this hot loop.
 */
function popcount32(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
