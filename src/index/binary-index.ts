import { UserInputError } from '../config/errors';
import { countCodes } from './codes';

/**
 * Result of a k-nearest-neighbour search over nq queries, row-major with k
 * entries per query, as faiss's `IndexBinary::search` returns it. Entries of
 * a query are ordered by Hamming distance, then by id, so equal inputs give
 * equal outputs. A query with fewer than k live codes in the index gets
 * id -1 and distance -1 in the remaining entries.
 */
export interface SearchResult {
  k: number;
  distances: Int32Array;
  ids: Float64Array;
}

/**
 * Result of a radius search: the matches of query q are entries
 * lims[q] to lims[q + 1] - 1, every code with distance <= radius, ordered by
 * distance, then by id, as faiss's `RangeSearchResult` lays them out.
 */
export interface RangeSearchResult {
  lims: Uint32Array;
  distances: Int32Array;
  ids: Float64Array;
}

/**
 * The contract shared by every binary index, shaped like faiss's IndexBinary.
 * Codes are packed rows of codeLengthBits / 8 bytes in one Uint8Array. Bit i
 * of a code is bit i mod 8 of byte ⌊i / 8⌋. Ids are non-negative safe
 * integers, unique within an index (the ids of removed codes included).
 */
export interface BinaryIndex {
  readonly codeLengthBits: number;
  /** Number of codes that are searchable, so removed codes are not counted. */
  readonly ntotal: number;

  /** Adds codes with ids continuing after the largest id so far (0, 1, … in an empty index). */
  add(codes: Uint8Array): void;
  addWithIds(codes: Uint8Array, ids: ArrayLike<number>): void;
  /** Returns the k nearest live codes of each query, ordered by distance, then id. */
  search(queries: Uint8Array, k: number): SearchResult;
  /** Returns every live code within `radius` (inclusive) of each query, ordered by distance, then id. */
  rangeSearch(queries: Uint8Array, radius: number): RangeSearchResult;
  /** Returns a copy of the code stored under `id`; raises UserInputError when it is absent or removed. */
  reconstruct(id: number): Uint8Array;
  /** Marks codes as removed (tombstones) and returns how many were live. Unknown ids are ignored. */
  remove(ids: ArrayLike<number>): number;
  reset(): void;
}

export function validateK(k: number): void {
  if (!Number.isInteger(k) || k < 1) {
    throw new UserInputError(`invalid k ${k}: expected a positive integer`);
  }
}

export function validateRadius(radius: number, codeLengthBits: number): void {
  if (!Number.isInteger(radius) || radius < 0) {
    throw new UserInputError(`invalid radius ${radius}: expected an integer from 0 to ${codeLengthBits}`);
  }
}

export function countQueries(queries: Uint8Array, codeLengthBits: number): number {
  return countCodes(queries, codeLengthBits, 'queries');
}

/** Sorts matches (distance, id) in place by distance, then id. */
export function sortMatches(distances: number[], ids: number[]): void {
  const order = distances.map((_, i) => i);
  order.sort((a, b) => distances[a] - distances[b] || ids[a] - ids[b]);
  const sortedDistances = order.map((i) => distances[i]);
  const sortedIds = order.map((i) => ids[i]);
  for (let i = 0; i < order.length; i++) {
    distances[i] = sortedDistances[i];
    ids[i] = sortedIds[i];
  }
}

/** Collects per-query range matches into the flat lims/distances/ids layout. */
export class RangeResultBuilder {
  private readonly lims: number[] = [0];
  private readonly distances: number[] = [];
  private readonly ids: number[] = [];

  append(distances: number[], ids: number[]): void {
    for (let i = 0; i < distances.length; i++) {
      this.distances.push(distances[i]);
      this.ids.push(ids[i]);
    }
    this.lims.push(this.distances.length);
  }

  finish(): RangeSearchResult {
    return { lims: Uint32Array.from(this.lims), distances: Int32Array.from(this.distances), ids: Float64Array.from(this.ids) };
  }
}

/** Creates a search result of nq·k entries filled with the "no match" value (-1, -1). */
export function emptySearchResult(queryCount: number, k: number): SearchResult {
  return { k, distances: new Int32Array(queryCount * k).fill(-1), ids: new Float64Array(queryCount * k).fill(-1) };
}
