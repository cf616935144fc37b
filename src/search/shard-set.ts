import type { ShardContents } from '../index/shard-format';
import { indexFromShard } from '../index/sharded-build';
import type { MultiIndexHashIndex } from '../index/multi-index-hash-index';

/** Matches of nq queries: per query, entries sorted by distance, then id. */
export interface LabelledMatches {
  /** Per query, the matches' distances. */
  distances: number[][];
  ids: number[][];
  /** Per query, the matches' labels, or null for codes stored without one. */
  labels: (string | null)[][];
}

/** One shard of a version to load. Contents are omitted when the set already contains the shard under cacheKey. */
export interface ShardToLoad {
  cacheKey: string;
  contents?: ShardContents;
}

interface LoadedShard {
  index: MultiIndexHashIndex;
  labels?: string[];
}

/**
 * Searchable shards of one or more index versions, kept in memory by cache
 * key so consecutive versions share unchanged shards. Used directly in the
 * searching process and inside each search worker thread.
 */
export class ShardSet {
  private readonly shards = new Map<string, LoadedShard>();
  private readonly versions = new Map<number, string[]>();

  /** Cache keys of the shards in memory. */
  cachedKeys(): string[] {
    return [...this.shards.keys()];
  }

  /**
   * Makes `version` searchable. Tombstones are applied to the shards in
   * place, which is safe because ids are never reused. The set of removed
   * ids only grows between compactions, and compaction writes new shards.
   */
  load(version: number, shards: ShardToLoad[], tombstones: Float64Array): void {
    for (const { cacheKey, contents } of shards) {
      if (this.shards.has(cacheKey)) continue;
      if (contents === undefined) throw new Error(`shard ${cacheKey} is not cached and was sent without contents`);
      this.shards.set(cacheKey, { index: indexFromShard(contents), labels: contents.labels });
    }
    for (const { cacheKey } of shards) {
      if (tombstones.length > 0) this.shards.get(cacheKey)?.index.remove(tombstones);
    }
    this.versions.set(version, shards.map((shard) => shard.cacheKey));
  }

  /** Forgets every version except `keepVersion` and drops shards no kept version uses. */
  retainOnly(keepVersion: number): void {
    for (const version of [...this.versions.keys()]) if (version !== keepVersion) this.versions.delete(version);
    const used = new Set([...this.versions.values()].flat());
    for (const key of [...this.shards.keys()]) if (!used.has(key)) this.shards.delete(key);
  }

  /** Returns the k nearest codes over the version's shards; `queryCount` queries are packed in `queries`. */
  search(version: number, queries: Uint8Array, queryCount: number, k: number): LabelledMatches {
    const parts = this.shardsOf(version).map((shard) => {
      const result = shard.index.search(queries, k);
      return splitResult(shard, result.distances, result.ids, queryCount, (q) => [q * k, (q + 1) * k]);
    });
    return mergeMatches(parts, queryCount, k);
  }

  rangeSearch(version: number, queries: Uint8Array, queryCount: number, radius: number): LabelledMatches {
    const parts = this.shardsOf(version).map((shard) => {
      const result = shard.index.rangeSearch(queries, radius);
      return splitResult(shard, result.distances, result.ids, queryCount, (q) => [result.lims[q], result.lims[q + 1]]);
    });
    return mergeMatches(parts, queryCount, Number.POSITIVE_INFINITY);
  }

  private shardsOf(version: number): LoadedShard[] {
    const keys = this.versions.get(version);
    if (keys === undefined) throw new Error(`index version ${version} is not loaded in this shard set`);
    return keys.map((key) => this.shards.get(key) as LoadedShard);
  }
}

function splitResult(
  shard: LoadedShard,
  distances: Int32Array,
  ids: Float64Array,
  queryCount: number,
  range: (query: number) => [number, number],
): LabelledMatches {
  const result: LabelledMatches = { distances: [], ids: [], labels: [] };
  for (let q = 0; q < queryCount; q++) {
    const [start, end] = range(q);
    const queryDistances: number[] = [];
    const queryIds: number[] = [];
    const queryLabels: (string | null)[] = [];
    for (let i = start; i < end; i++) {
      if (ids[i] < 0) continue;
      queryDistances.push(distances[i]);
      queryIds.push(ids[i]);
      const row = shard.index.storage.rowOf(ids[i]);
      queryLabels.push(shard.labels?.[row] ?? null);
    }
    result.distances.push(queryDistances);
    result.ids.push(queryIds);
    result.labels.push(queryLabels);
  }
  return result;
}

/**
 * Merges per-shard matches into one list per query, ordered by distance, then
 * id, keeping the first `limit`. Because every shard returns its own top
 * `limit` under the same order, the merged list equals a search over all
 * shards at once.
 */
export function mergeMatches(parts: LabelledMatches[], queryCount: number, limit: number): LabelledMatches {
  const merged: LabelledMatches = { distances: [], ids: [], labels: [] };
  for (let q = 0; q < queryCount; q++) {
    const entries: { distance: number; id: number; label: string | null }[] = [];
    for (const part of parts) {
      for (let i = 0; i < part.distances[q].length; i++) {
        entries.push({ distance: part.distances[q][i], id: part.ids[q][i], label: part.labels[q][i] });
      }
    }
    entries.sort((a, b) => a.distance - b.distance || a.id - b.id);
    const top = entries.slice(0, Math.min(limit, entries.length));
    merged.distances.push(top.map((entry) => entry.distance));
    merged.ids.push(top.map((entry) => entry.id));
    merged.labels.push(top.map((entry) => entry.label));
  }
  return merged;
}
