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
import { StoredCodesIndex } from './stored-codes-index';

/**
 * Exact search by a linear popcount scan over every code, the baseline that
 * defines correct results for the other indexes (faiss's IndexBinaryFlat).
 * A WebAssembly kernel computes all distances and their histogram; the
 * histogram gives the k-th distance, so only codes at or under it are sorted.
 */
export class LinearScanIndex extends StoredCodesIndex {
  constructor(codeLengthBits: number, storage?: CodeStorage) {
    super(codeLengthBits, storage);
  }

  search(queries: Uint8Array, k: number): SearchResult {
    validateK(k);
    const queryCount = countQueries(queries, this.codeLengthBits);
    const result = emptySearchResult(queryCount, k);
    const rowBytes = this.storage.rowBytes;

    for (let q = 0; q < queryCount; q++) {
      const { distances, ids } = this.searchOne(queries.subarray(q * rowBytes, (q + 1) * rowBytes), k);
      result.distances.set(distances, q * k);
      result.ids.set(ids, q * k);
    }
    return result;
  }

  rangeSearch(queries: Uint8Array, radius: number): RangeSearchResult {
    validateRadius(radius, this.codeLengthBits);
    const queryCount = countQueries(queries, this.codeLengthBits);
    const builder = new RangeResultBuilder();
    const rowBytes = this.storage.rowBytes;

    for (let q = 0; q < queryCount; q++) {
      this.storage.scan(queries.subarray(q * rowBytes, (q + 1) * rowBytes));
      const { distances, ids } = this.gatherMatches(Math.min(radius, this.codeLengthBits));
      builder.append(distances, ids);
    }
    return builder.finish();
  }

  private searchOne(query: Uint8Array, k: number): { distances: number[]; ids: number[] } {
    if (this.storage.removedCount === 0) return this.searchOneWithoutRemovals(query, k);
    const { histogram } = this.storage.scan(query);

    let threshold = 0;
    let atOrBelow = histogram[0];
    while (atOrBelow < k && threshold < this.codeLengthBits) {
      threshold++;
      atOrBelow += histogram[threshold];
    }

    const matches = this.gatherMatches(threshold);
    matches.distances.length = Math.min(k, matches.distances.length);
    matches.ids.length = matches.distances.length;
    return matches;
  }

  /**
   * Finds the k nearest in one pass of the kernel, which lowers its threshold
   * as nearer codes arrive. It counts every row, so it is used only while no
   * row is removed.
   */
  private searchOneWithoutRemovals(query: Uint8Array, k: number): { distances: number[]; ids: number[] } {
    const { rows, distances: rowDistances, threshold } = this.storage.scanTopK(query, Math.min(k, this.storage.rowCount));
    const storageIds = this.storage.ids;
    const distances: number[] = [];
    const ids: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      if (rowDistances[i] > threshold) continue;
      distances.push(rowDistances[i]);
      ids.push(storageIds[rows[i]]);
    }
    sortMatches(distances, ids);
    distances.length = Math.min(k, distances.length);
    ids.length = distances.length;
    return { distances, ids };
  }

  /** Returns the live codes of the last scan with distance <= threshold, sorted by distance, then id. */
  private gatherMatches(threshold: number): { distances: number[]; ids: number[] } {
    const rows = this.storage.collect(threshold);
    const rowDistances = this.storage.lastDistances();
    const removed = this.storage.removed;
    const storageIds = this.storage.ids;
    const distances: number[] = [];
    const ids: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (removed[row] !== 0) continue;
      distances.push(rowDistances[row]);
      ids.push(storageIds[row]);
    }
    sortMatches(distances, ids);
    return { distances, ids };
  }
}
