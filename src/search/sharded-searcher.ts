import { UserInputError } from '../config/errors';
import { countCodes } from '../index/codes';
import { validateK, validateRadius } from '../index/binary-index';
import { loadIndexVersion, requireCurrent, type PublishedIndex } from '../index/index-store';
import { silentLogger, type Logger } from '../logging';
import type { ObjectStore } from '../storage';
import { ShardSet, mergeMatches, type LabelledMatches, type ShardToLoad } from './shard-set';
import { ShardWorkerPool } from './shard-worker-pool';

export interface ShardedSearcherOptions {
  store: ObjectStore;
  indexName: string;
  /** Worker threads that search shards in parallel; 0 searches in the calling thread. */
  workerCount?: number;
  logger?: Logger;
}

/** Matches with the index version that produced them. */
export interface VersionedMatches extends LabelledMatches {
  indexVersion: number;
  modelVersion: string | null;
}

interface ActiveVersion {
  published: PublishedIndex;
  /** Shard cache keys per worker, or one list when searching in the calling thread. */
  assignment: string[][];
}

/**
 * Searches the current version of a sharded index in object storage. Shards
 * are searched in parallel on worker threads and their top-k lists merged
 * into one exact top-k. `refresh` loads a newly published version next to
 * the active one and switches only when every shard loaded and verified, so
 * a corrupt or half-written version never replaces the last good one.
 */
export class ShardedSearcher {
  private readonly store: ObjectStore;
  private readonly indexName: string;
  private readonly logger: Logger;
  private readonly pool: ShardWorkerPool | undefined;
  private readonly localShards = new ShardSet();
  private readonly workerShards: Set<string>[];
  private active: ActiveVersion | undefined;
  private refreshing: Promise<number | undefined> | undefined;

  constructor(options: ShardedSearcherOptions) {
    this.store = options.store;
    this.indexName = options.indexName;
    this.logger = options.logger ?? silentLogger;
    const workerCount = options.workerCount ?? 0;
    this.pool = workerCount > 0 ? new ShardWorkerPool(workerCount) : undefined;
    this.workerShards = Array.from({ length: Math.max(1, workerCount) }, () => new Set<string>());
  }

  /** Manifest of the version being served, or undefined before the first successful refresh. */
  get published(): PublishedIndex | undefined {
    return this.active?.published;
  }

  /**
   * Loads the version that CURRENT points to if it differs from the active
   * one and returns the active version number. Errors leave the active
   * version in place and are raised to the caller. Concurrent calls share one
   * refresh.
   */
  refresh(): Promise<number | undefined> {
    this.refreshing ??= this.loadCurrent().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  async search(queries: Uint8Array, k: number): Promise<VersionedMatches> {
    validateK(k);
    const active = this.requireActive();
    const queryCount = countCodes(queries, active.published.manifest.codeLengthBits, 'queries');
    const version = active.published.version;

    let matches: LabelledMatches;
    if (this.pool === undefined) {
      matches = this.localShards.search(version, queries, queryCount, k);
    } else {
      const parts = await Promise.all(
        active.assignment.map((_, worker) => (this.pool as ShardWorkerPool).search(worker, version, queries, queryCount, k)),
      );
      matches = mergeMatches(parts, queryCount, k);
    }
    return { ...matches, indexVersion: version, modelVersion: active.published.manifest.modelVersion };
  }

  async rangeSearch(queries: Uint8Array, radius: number): Promise<VersionedMatches> {
    const active = this.requireActive();
    validateRadius(radius, active.published.manifest.codeLengthBits);
    const queryCount = countCodes(queries, active.published.manifest.codeLengthBits, 'queries');
    const version = active.published.version;

    let matches: LabelledMatches;
    if (this.pool === undefined) {
      matches = this.localShards.rangeSearch(version, queries, queryCount, radius);
    } else {
      const parts = await Promise.all(
        active.assignment.map((_, worker) => (this.pool as ShardWorkerPool).rangeSearch(worker, version, queries, queryCount, radius)),
      );
      matches = mergeMatches(parts, queryCount, Number.POSITIVE_INFINITY);
    }
    return { ...matches, indexVersion: version, modelVersion: active.published.manifest.modelVersion };
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }

  private requireActive(): ActiveVersion {
    if (this.active === undefined) {
      throw new UserInputError(`index "${this.indexName}" is not loaded yet: no version was published, or the first load failed`);
    }
    return this.active;
  }

  private async loadCurrent(): Promise<number | undefined> {
    const published = await requireCurrent(this.store, this.indexName);
    if (published.version === this.active?.published.version) return published.version;

    const startedAt = performance.now();
    const workerOfShard = (position: number): number => position % this.workerShards.length;
    const loaded = await loadIndexVersion(this.store, published, {
      isCached: (cacheKey) => this.workerShards.some((keys) => keys.has(cacheKey)),
    });

    const assignment: string[][] = this.workerShards.map(() => []);
    const toLoad: ShardToLoad[][] = this.workerShards.map(() => []);
    loaded.shards.forEach((shard, position) => {
      const worker = this.workerOwning(shard.cacheKey) ?? workerOfShard(position);
      assignment[worker].push(shard.cacheKey);
      toLoad[worker].push({ cacheKey: shard.cacheKey, contents: shard.contents });
    });

    if (this.pool === undefined) {
      this.localShards.load(published.version, toLoad[0], loaded.tombstones);
    } else {
      const pool = this.pool;
      await Promise.all(toLoad.map((shards, worker) => pool.load(worker, published.version, shards, loaded.tombstones)));
    }
    toLoad.forEach((shards, worker) => shards.forEach((shard) => this.workerShards[worker].add(shard.cacheKey)));

    const previous = this.active?.published.version;
    this.active = { published, assignment };
    await this.releaseExcept(published.version, assignment);
    this.logger.info(
      { index: this.indexName, version: published.version, previousVersion: previous, shards: loaded.shards.length, loadMs: Math.round(performance.now() - startedAt) },
      'index version loaded',
    );
    return published.version;
  }

  private workerOwning(cacheKey: string): number | undefined {
    const worker = this.workerShards.findIndex((keys) => keys.has(cacheKey));
    return worker < 0 ? undefined : worker;
  }

  /** Drops shards that only older versions used, in every worker. */
  private async releaseExcept(version: number, assignment: string[][]): Promise<void> {
    if (this.pool === undefined) {
      this.localShards.retainOnly(version);
    } else {
      const pool = this.pool;
      await Promise.all(assignment.map((_, worker) => pool.retain(worker, version)));
    }
    assignment.forEach((keys, worker) => {
      this.workerShards[worker] = new Set(keys);
    });
  }
}
