import { UserInputError } from '../config/errors';
import {
  activateVersion,
  ChecksumMismatchError,
  ObjectNotFoundError,
  publishVersion,
  readCurrentVersion,
  sha256Hex,
  type ObjectStore,
  type PublishedVersion,
} from '../storage';
import { bytesPerCode, countCodes, validateCodeLength } from './codes';
import { buildShard, shardRanges, substringCountForShards } from './sharded-build';
import { decodeShard, validateShardContents, type ShardContents } from './shard-format';

export const INDEX_MANIFEST_FORMAT = 'whorl-binary-index';
export const INDEX_MANIFEST_FORMAT_VERSION = 1;
export const DEFAULT_SHARD_COUNT = 4;

/** One shard object listed in an index manifest. */
export interface ShardEntry {
  /** Key relative to the index root, such as `v0001/shard-00000.bin`; later versions reuse unchanged shards. */
  key: string;
  /** `base` shards come from a build or compaction, `delta` segments from appends. */
  kind: 'base' | 'delta';
  codeCount: number;
  sha256: string;
  sizeBytes: number;
}

/** Manifest of one index version; publishVersion adds `version` and `objects`. */
export interface IndexManifest {
  format: typeof INDEX_MANIFEST_FORMAT;
  formatVersion: number;
  name: string;
  codeLengthBits: number;
  /** Number of substrings m of every shard's multi-index hash tables. */
  substringCount: number;
  shards: ShardEntry[];
  /** Sorted ids removed since the last compaction, stored as little-endian float64 values. */
  tombstones?: { key: string; count: number; sha256: string; sizeBytes: number };
  /** Codes in all shards, removed ones included. */
  codeCount: number;
  /** Codes that searches can return. */
  liveCount: number;
  /** Id that the next appended code gets unless ids are supplied. */
  nextId: number;
  /** Version of the model that produced the codes, so queries can be encoded the same way. */
  modelVersion: string | null;
  /** Code shards (such as Parquet files) the index was built from, with their SHA-256. */
  sourceCodeShards: { key: string; sha256: string }[];
  /** Latest gallery position included, such as an object key or timestamp; the next delta starts after it. */
  galleryWatermark: string | null;
  createdAt: string;
}

export type PublishedIndex = PublishedVersion<IndexManifest>;

/** Codes to put in an index: packed rows, with optional ids and external labels per row. */
export interface CodeBatch {
  codes: Uint8Array;
  ids?: ArrayLike<number>;
  labels?: string[];
}

export interface ProvenanceOptions {
  modelVersion?: string | null;
  sourceCodeShards?: { key: string; sha256: string }[];
  galleryWatermark?: string | null;
}

/** Object key prefix of an index: `index/<name>/`. */
export function indexRoot(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new UserInputError(`invalid index name "${name}": expected letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  return `index/${name}/`;
}

/**
 * Builds a new index from codes and publishes it as the next version of
 * index/<name>/, replacing whatever CURRENT pointed at. Codes are split into
 * `shardCount` contiguous shards; ids default to 0, 1, ….
 */
export async function buildIndex(
  store: ObjectStore,
  options: CodeBatch & ProvenanceOptions & { name: string; codeLengthBits: number; shardCount?: number; substringCount?: number; nextId?: number },
): Promise<PublishedIndex> {
  const codeLengthBits = validateCodeLength(options.codeLengthBits);
  const codeCount = countCodes(options.codes, codeLengthBits);
  const ids = options.ids ?? Float64Array.from({ length: codeCount }, (_, i) => i);
  validateBatch(options, codeCount);
  const shardCount = options.shardCount ?? DEFAULT_SHARD_COUNT;
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new UserInputError(`invalid shard count ${shardCount}: expected a positive integer`);
  }
  const substringCount = options.substringCount ?? substringCountForShards(codeLengthBits, Math.ceil(codeCount / shardCount));
  const root = indexRoot(options.name);

  const shards = await writeShardsOnPublish(store, root, { ...options, ids, codeLengthBits, substringCount, shardCount, kind: 'base', prefix: 'shard' });
  const manifest: IndexManifest = {
    format: INDEX_MANIFEST_FORMAT,
    formatVersion: INDEX_MANIFEST_FORMAT_VERSION,
    name: options.name,
    codeLengthBits,
    substringCount,
    shards: [],
    codeCount,
    liveCount: codeCount,
    nextId: Math.max(options.nextId ?? 0, maxOf(ids) + 1),
    modelVersion: options.modelVersion ?? null,
    sourceCodeShards: options.sourceCodeShards ?? [],
    galleryWatermark: options.galleryWatermark ?? null,
    createdAt: new Date().toISOString(),
  };
  return shards.publish(manifest);
}

/**
 * Makes an already published version of index/<name>/ current again, as a
 * pipeline run does when its index stage comes from cache. Returns false
 * when it was current already.
 */
export async function activateIndexVersion(store: ObjectStore, name: string, version: number): Promise<boolean> {
  return activateVersion(store, indexRoot(name), version);
}

/**
 * Appends codes as one delta segment and publishes the next version, which
 * lists the previous shards unchanged plus the new segment. Ids default to
 * the manifest's nextId onwards.
 *
 * NOTE: the new manifest is derived from the version that is current when
 * this starts. Two concurrent writers to one index would lose one update,
 * so run one writer per index (such as the nightly re-indexing workflow).
 */
export async function appendDelta(store: ObjectStore, options: CodeBatch & ProvenanceOptions & { name: string }): Promise<PublishedIndex> {
  const root = indexRoot(options.name);
  const current = await requireCurrent(store, options.name);
  const previous = current.manifest;
  const codeCount = countCodes(options.codes, previous.codeLengthBits);
  const ids = options.ids ?? Float64Array.from({ length: codeCount }, (_, i) => previous.nextId + i);
  validateBatch(options, codeCount);

  const shards = await writeShardsOnPublish(store, root, {
    ...options,
    ids,
    codeLengthBits: previous.codeLengthBits,
    substringCount: previous.substringCount,
    shardCount: 1,
    kind: 'delta',
    prefix: 'delta',
  });
  const manifest: IndexManifest = {
    ...stripPublished(previous),
    shards: previous.shards,
    codeCount: previous.codeCount + codeCount,
    liveCount: previous.liveCount + codeCount,
    nextId: Math.max(previous.nextId, maxOf(ids) + 1),
    modelVersion: options.modelVersion ?? previous.modelVersion,
    sourceCodeShards: [...previous.sourceCodeShards, ...(options.sourceCodeShards ?? [])],
    galleryWatermark: options.galleryWatermark ?? previous.galleryWatermark,
    createdAt: new Date().toISOString(),
  };
  return shards.publish(manifest);
}

/**
 * Marks ids as removed (tombstones) and publishes the next version. Shards
 * stay unchanged until compaction; searches skip the removed ids.
 */
export async function removeFromIndex(store: ObjectStore, options: { name: string; ids: ArrayLike<number> }): Promise<PublishedIndex> {
  const root = indexRoot(options.name);
  const current = await requireCurrent(store, options.name);
  const loaded = await loadIndexVersion(store, current);
  const present = new Set<number>();
  for (const shard of loaded.shards) for (const id of shard.contents?.ids ?? []) present.add(id);

  const removed = new Set(loaded.tombstones);
  for (let i = 0; i < options.ids.length; i++) if (present.has(options.ids[i])) removed.add(options.ids[i]);
  const tombstoneIds = Float64Array.from([...removed].sort((a, b) => a - b));
  const tombstoneBytes = new Uint8Array(tombstoneIds.buffer);

  let tombstoneKey = '';
  const manifest: IndexManifest = {
    ...stripPublished(current.manifest),
    liveCount: current.manifest.codeCount - tombstoneIds.length,
    createdAt: new Date().toISOString(),
  };
  return publishVersion(
    store,
    root,
    async (prefix) => {
      tombstoneKey = prefix.slice(root.length) + 'tombstones.bin';
      await store.put(root + tombstoneKey, tombstoneBytes, { contentType: 'application/octet-stream' });
      manifest.tombstones = { key: tombstoneKey, count: tombstoneIds.length, sha256: sha256Hex(tombstoneBytes), sizeBytes: tombstoneBytes.byteLength };
    },
    manifest,
  );
}

/**
 * Merges every base shard and delta segment, drops removed codes, and
 * publishes a version of `shardCount` new base shards (by default as many as
 * before) with no tombstones. Ids, labels and search results stay the same.
 */
export async function compactIndex(store: ObjectStore, options: { name: string; shardCount?: number; substringCount?: number }): Promise<PublishedIndex> {
  const current = await requireCurrent(store, options.name);
  const loaded = await loadIndexVersion(store, current);
  const manifest = current.manifest;
  const rowBytes = bytesPerCode(manifest.codeLengthBits);
  const removed = new Set(loaded.tombstones);

  const rows: { id: number; label?: string; shard: ShardContents; row: number }[] = [];
  let hasLabels = false;
  for (const { contents } of loaded.shards) {
    if (contents === undefined) continue;
    if (contents.labels !== undefined) hasLabels = true;
    for (let row = 0; row < contents.ids.length; row++) {
      if (!removed.has(contents.ids[row])) rows.push({ id: contents.ids[row], label: contents.labels?.[row], shard: contents, row });
    }
  }
  rows.sort((a, b) => a.id - b.id);
  const codes = new Uint8Array(rows.length * rowBytes);
  rows.forEach(({ shard, row }, i) => codes.set(shard.codes.subarray(row * rowBytes, (row + 1) * rowBytes), i * rowBytes));

  const baseShardCount = manifest.shards.filter((shard) => shard.kind === 'base').length;
  return buildIndex(store, {
    name: options.name,
    codeLengthBits: manifest.codeLengthBits,
    codes,
    ids: rows.map((entry) => entry.id),
    labels: hasLabels ? rows.map((entry) => entry.label ?? '') : undefined,
    shardCount: options.shardCount ?? Math.max(1, baseShardCount),
    substringCount: options.substringCount,
    modelVersion: manifest.modelVersion,
    sourceCodeShards: manifest.sourceCodeShards,
    galleryWatermark: manifest.galleryWatermark,
    // Ids of removed codes stay unused, so nextId does not move back.
    nextId: manifest.nextId,
  });
}

/** A shard of a loaded index version. Contents are absent for shards that the caller already has in memory. */
export interface LoadedShard {
  entry: ShardEntry;
  cacheKey: string;
  contents?: ShardContents;
}

export interface LoadedIndex {
  published: PublishedIndex;
  shards: LoadedShard[];
  tombstones: Float64Array;
}

/** Key under which a decoded shard may be cached: the same key and checksum mean the same bytes. */
export function shardCacheKey(entry: ShardEntry): string {
  return `${entry.key}#${entry.sha256}`;
}

/** Reads CURRENT of an index, raising UserInputError when nothing was published. */
export async function requireCurrent(store: ObjectStore, name: string): Promise<PublishedIndex> {
  const current = await readCurrentVersion<IndexManifest>(store, indexRoot(name));
  if (current === undefined) {
    throw new UserInputError(`index "${name}" not found in ${store.location}: no ${indexRoot(name)}CURRENT; check --name, or build it with "whorl pipeline run" or "whorl index build"`);
  }
  validateManifest(current.manifest, name);
  return current;
}

/**
 * Fetches and verifies the shards and tombstones of a published version.
 * Each object is checked against the SHA-256 in the manifest and against its
 * own trailing checksum. Shards for which `isCached(cacheKey)` is true are
 * not fetched, and their contents are left out.
 */
export async function loadIndexVersion(
  store: ObjectStore,
  published: PublishedIndex,
  options: { isCached?: (cacheKey: string) => boolean } = {},
): Promise<LoadedIndex> {
  const root = indexRoot(published.manifest.name);
  const shards: LoadedShard[] = [];
  for (const entry of published.manifest.shards) {
    const cacheKey = shardCacheKey(entry);
    if (options.isCached?.(cacheKey) === true) {
      shards.push({ entry, cacheKey });
      continue;
    }
    const bytes = await getListedObject(store, root, entry.key, entry.sha256, published.version);
    const contents = decodeShard(bytes, root + entry.key, store.location);
    validateShardContents(contents, root + entry.key);
    if (contents.ids.length !== entry.codeCount || contents.codeLengthBits !== published.manifest.codeLengthBits) {
      throw new UserInputError(
        `shard ${root + entry.key} does not match manifest version ${published.version}: it has ${contents.ids.length} ${contents.codeLengthBits}-bit codes, expected ${entry.codeCount} ${published.manifest.codeLengthBits}-bit codes`,
      );
    }
    shards.push({ entry, cacheKey, contents });
  }

  let tombstones = new Float64Array(0);
  const tombstoneEntry = published.manifest.tombstones;
  if (tombstoneEntry !== undefined && tombstoneEntry.count > 0) {
    const bytes = await getListedObject(store, root, tombstoneEntry.key, tombstoneEntry.sha256, published.version);
    tombstones = new Float64Array(new Uint8Array(bytes).buffer, 0, tombstoneEntry.count);
  }
  return { published, shards, tombstones };
}

async function getListedObject(store: ObjectStore, root: string, key: string, sha256: string, version: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(root + key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) {
      throw new UserInputError(`index manifest version ${version} lists ${root + key}, which is missing from ${store.location}; republish or compact the index`);
    }
    throw error;
  }
  const actual = sha256Hex(bytes);
  if (actual !== sha256) {
    throw new ChecksumMismatchError(store.location, root + key, sha256, actual);
  }
  return bytes;
}

function validateManifest(manifest: IndexManifest, name: string): void {
  if (manifest.format !== INDEX_MANIFEST_FORMAT || manifest.formatVersion !== INDEX_MANIFEST_FORMAT_VERSION) {
    throw new UserInputError(
      `invalid manifest for index "${name}": format ${String(manifest.format)} version ${String(manifest.formatVersion)}, expected ${INDEX_MANIFEST_FORMAT} version ${INDEX_MANIFEST_FORMAT_VERSION}`,
    );
  }
  validateCodeLength(manifest.codeLengthBits);
  if (!Array.isArray(manifest.shards)) throw new UserInputError(`invalid manifest for index "${name}": shards is not a list`);
}

function validateBatch(batch: CodeBatch, codeCount: number): void {
  if (batch.ids !== undefined && batch.ids.length !== codeCount) {
    throw new UserInputError(`invalid ids: expected one id per code (${codeCount}), got ${batch.ids.length}`);
  }
  if (batch.labels !== undefined && batch.labels.length !== codeCount) {
    throw new UserInputError(`invalid labels: expected one label per code (${codeCount}), got ${batch.labels.length}`);
  }
}

function maxOf(values: ArrayLike<number>): number {
  let max = -1;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  return max;
}

function stripPublished(manifest: PublishedIndex['manifest']): IndexManifest {
  const rest: Partial<PublishedIndex['manifest']> = { ...manifest };
  delete rest.version;
  delete rest.objects;
  return rest as IndexManifest;
}

/**
 * Builds shard objects when publishVersion calls back with the version's
 * prefix, then records them in the manifest before it is written.
 */
async function writeShardsOnPublish(
  store: ObjectStore,
  root: string,
  options: CodeBatch & { ids: ArrayLike<number>; codeLengthBits: number; substringCount: number; shardCount: number; kind: ShardEntry['kind']; prefix: string },
): Promise<{ publish: (manifest: IndexManifest) => Promise<PublishedIndex> }> {
  const rowBytes = bytesPerCode(options.codeLengthBits);
  const codeCount = countCodes(options.codes, options.codeLengthBits);
  const built = shardRanges(codeCount, options.shardCount).map(({ start, end }) =>
    buildShard({
      codeLengthBits: options.codeLengthBits,
      codes: options.codes.subarray(start * rowBytes, end * rowBytes),
      ids: Array.prototype.slice.call(options.ids, start, end) as number[],
      labels: options.labels?.slice(start, end),
      substringCount: options.substringCount,
    }),
  );

  return {
    publish: (manifest) => {
      const previousShards = manifest.shards;
      return publishVersion(
        store,
        root,
        async (prefix) => {
          const entries: ShardEntry[] = [];
          for (const [i, shard] of built.entries()) {
            const key = `${prefix.slice(root.length)}${options.prefix}-${String(i).padStart(5, '0')}.bin`;
            await store.put(root + key, shard.bytes, { contentType: 'application/octet-stream' });
            entries.push({ key, kind: options.kind, codeCount: shard.codeCount, sha256: sha256Hex(shard.bytes), sizeBytes: shard.bytes.byteLength });
          }
          manifest.shards = [...previousShards, ...entries];
        },
        manifest,
      );
    },
  };
}
