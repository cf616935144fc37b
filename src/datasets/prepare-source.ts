import { createHash } from 'node:crypto';
import { decodeImage, ImageDecodeError, ImageExceedsReferenceError, inspectImage, preprocessImage, type ImageHeader } from '../imaging';
import { silentLogger, type Logger } from '../logging';
import type { ObjectStore } from '../storage';
import { readDatasetLayout, type DatasetLayout } from './adapters';
import type { PreparationSettings } from './config';
import {
  countImages,
  addCounts,
  emptyCounts,
  MANIFEST_FILE_NAME,
  PREPARED_MANIFEST_KIND,
  PREPARED_SCHEMA_VERSION,
  readPreparedManifest,
  type PreparedCounts,
  type PreparedManifest,
  type PreparedShardInfo,
} from './manifest';
import type { QuarantineEntry, SourceRecord } from './records';
import { encodeShard, PREPARED_SHARD_COLUMNS, type PreparedImage } from './shards';
import { comparePaths, type SourceFiles } from './source-files';
import { assignSplits, type SplitAssignment } from './splits';

/**
 * Version of the preparation code, part of every content hash. Bump it when
 * decoding, preprocessing or splitting changes output for the same input.
 */
export const PREPARE_CODE_VERSION = 1;

export interface PrepareProgress {
  source: string;
  /** `generate` is the synthetic generator, counting fingers as files. */
  phase: 'generate' | 'scan' | 'write' | 'done';
  filesDone: number;
  filesTotal: number;
  shardsDone: number;
  shardsTotal: number;
  /** Output prefix, known once the scan has fixed the content hash. */
  prefix?: string;
}

export interface PrepareSourceRequest {
  store: ObjectStore;
  source: { name: string; layout: DatasetLayout | 'auto'; dataset?: string; manifest?: string };
  files: SourceFiles;
  settings: PreparationSettings;
  seed: number;
  logger?: Logger;
  /** Called after every `progressEveryFiles` files and after every shard; awaited. */
  onProgress?: (progress: PrepareProgress) => void | Promise<void>;
  progressEveryFiles?: number;
}

export interface PrepareSourceResult {
  manifestKey: string;
  manifest: PreparedManifest;
  /** True when a manifest with the same content hash already existed. */
  reused: boolean;
  /** Shards found complete from an earlier, interrupted run. */
  resumedShards: number;
}

/** A record that passed the scan, with what the scan learned. */
interface ScannedRecord extends SourceRecord {
  id: string;
  sha256: string;
  header: ImageHeader;
}

/** Per-shard summary written after the shard, so a resumed run can skip the shard. */
interface ShardSummary {
  rows: number;
  counts: PreparedCounts;
  quarantine: QuarantineEntry[];
}

function shardName(index: number): string {
  return `shard-${String(index).padStart(5, '0')}`;
}

function quarantineFromError(source: string, path: string, error: unknown): QuarantineEntry {
  if (error instanceof ImageDecodeError) return { source, path, reason: error.reason, detail: error.message };
  if (error instanceof ImageExceedsReferenceError) return { source, path, reason: 'exceeds-fixed-scale-reference', detail: error.message };
  return { source, path, reason: 'unreadable', detail: error instanceof Error ? error.message : String(error) };
}

/**
 * Reads every file once: checksum, format, declared size and completeness,
 * without decoding pixels. Returns the records that passed.
 */
async function scanRecords(request: PrepareSourceRequest, records: SourceRecord[], quarantine: QuarantineEntry[]): Promise<ScannedRecord[]> {
  const { files, settings, source } = request;
  const sizes = new Map((await files.list()).map((file) => [file.path, file.sizeBytes]));
  const every = request.progressEveryFiles ?? 100;
  const scanned: ScannedRecord[] = [];
  const firstPathOfKey = new Map<string, string>();

  const ordered = [...records].sort((a, b) => comparePaths(a.path, b.path));
  for (let index = 0; index < ordered.length; index++) {
    const record = ordered[index];
    if (index % every === 0) await request.onProgress?.({ source: source.name, phase: 'scan', filesDone: index, filesTotal: ordered.length, shardsDone: 0, shardsTotal: 0 });

    const sizeBytes = sizes.get(record.path) ?? 0;
    if (sizeBytes > settings.maxFileBytes) {
      quarantine.push({ source: source.name, path: record.path, reason: 'oversized', detail: `file is ${sizeBytes} bytes, over maxFileBytes ${settings.maxFileBytes}` });
      continue;
    }
    if (record.impression !== null) {
      const key = [record.dataset, record.sensor, record.identity, record.impression].join('\0');
      const first = firstPathOfKey.get(key);
      if (first !== undefined) {
        quarantine.push({ source: source.name, path: record.path, reason: 'duplicate-identity', detail: `identity ${record.identity} impression ${record.impression} on sensor ${record.sensor} is already taken by ${first}` });
        continue;
      }
      firstPathOfKey.set(key, record.path);
    }

    let bytes: Uint8Array;
    try {
      bytes = await files.read(record.path);
    } catch (error) {
      quarantine.push(quarantineFromError(source.name, record.path, error));
      continue;
    }
    try {
      const header = inspectImage(bytes, { maxPixels: settings.maxImagePixels });
      scanned.push({ ...record, id: `${source.name}/${record.path}`, sha256: createHash('sha256').update(bytes).digest('hex'), header });
    } catch (error) {
      quarantine.push(quarantineFromError(source.name, record.path, error));
    }
  }
  return scanned;
}

/**
 * Computes the content hash of the prepared output from the code and schema
 * versions, settings, seed, source name and layout, every record's labels
 * and checksum, and the quarantine so far. The source's location and the
 * manifest's path are left out (the labels already contain what the manifest
 * lists), so the same files prepared from another folder reuse the output.
 */
function contentHash(request: PrepareSourceRequest, layout: DatasetLayout, scanned: ScannedRecord[], quarantine: QuarantineEntry[]): string {
  const hash = createHash('sha256');
  const { name, dataset } = request.source;
  hash.update(JSON.stringify({ code: PREPARE_CODE_VERSION, schema: PREPARED_SCHEMA_VERSION, settings: request.settings, seed: request.seed, source: { name, dataset, layout } }));
  for (const record of scanned) {
    hash.update(JSON.stringify([record.path, record.dataset, record.database, record.sensor, record.identity, record.impression, record.sha256]));
  }
  for (const entry of quarantine) hash.update(JSON.stringify([entry.path, entry.reason]));
  return hash.digest('hex').slice(0, 32);
}

async function writeShard(
  request: PrepareSourceRequest,
  shardRecords: ScannedRecord[],
  splits: Map<string, SplitAssignment>,
  key: string,
  reportRow: (rowIndex: number) => Promise<void>,
): Promise<ShardSummary> {
  const { files, settings, source } = request;
  const images: PreparedImage[] = [];
  const quarantine: QuarantineEntry[] = [];
  for (const [rowIndex, record] of shardRecords.entries()) {
    await reportRow(rowIndex);
    try {
      const bytes = await files.read(record.path);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (sha256 !== record.sha256) {
        quarantine.push({ source: source.name, path: record.path, reason: 'unreadable', detail: `file changed during preparation (SHA-256 ${record.sha256} at scan, ${sha256} now); prepare again` });
        continue;
      }
      const decoded = decodeImage(bytes, { maxPixels: settings.maxImagePixels });
      const prepared = preprocessImage(decoded, settings);
      const assignment = splits.get(record.id) as SplitAssignment;
      images.push({
        id: record.id,
        dataset: record.dataset,
        database: record.database,
        sensor: record.sensor,
        identity: record.identity,
        impression: record.impression,
        ...assignment,
        width: prepared.widthPx,
        height: prepared.heightPx,
        sourceWidth: decoded.widthPx,
        sourceHeight: decoded.heightPx,
        sourceFormat: record.header.format,
        pixels: prepared.pixels,
        sourceKey: `${files.location.replace(/\/+$/, '')}/${record.path}`,
        sourceSha256: record.sha256,
      });
    } catch (error) {
      quarantine.push(quarantineFromError(source.name, record.path, error));
    }
  }
  await request.store.put(`${key}.parquet`, encodeShard(images), { contentType: 'application/vnd.apache.parquet' });
  const summary: ShardSummary = { rows: images.length, counts: countImages(images), quarantine };
  await request.store.put(`${key}.json`, JSON.stringify(summary), { contentType: 'application/json' });
  return summary;
}

async function readShardSummary(store: ObjectStore, key: string): Promise<ShardSummary | undefined> {
  if ((await store.head(`${key}.json`)) === undefined || (await store.head(`${key}.parquet`)) === undefined) return undefined;
  return JSON.parse(Buffer.from(await store.get(`${key}.json`)).toString('utf8')) as ShardSummary;
}

/**
 * Prepares one source into `<outputPrefix><hash>/`: labels files with the
 * layout's adapter, scans them, assigns splits, writes Parquet shards and
 * writes the manifest last. Bad files are quarantined and the rest goes on.
 * A rerun with the same inputs returns the existing manifest; a run
 * interrupted while writing skips the shards already complete.
 */
export async function prepareSource(request: PrepareSourceRequest): Promise<PrepareSourceResult> {
  const logger = request.logger ?? silentLogger;
  const { store, settings, source } = request;

  const labelled = await readDatasetLayout(request.files, source.layout, { source: source.name, dataset: source.dataset, manifestPath: source.manifest });
  const quarantine = [...labelled.quarantine];
  const scanned = await scanRecords(request, labelled.records, quarantine);
  const hash = contentHash(request, labelled.layout, scanned, quarantine);
  const prefix = `${settings.outputPrefix}${hash}/`;
  const manifestKey = prefix + MANIFEST_FILE_NAME;
  logger.info({ source: source.name, layout: labelled.layout, records: scanned.length, quarantined: quarantine.length, prefix }, 'dataset scan finished');

  if ((await store.head(manifestKey)) !== undefined) {
    logger.info({ source: source.name, manifestKey }, 'prepared data already exists; reusing it');
    return { manifestKey, manifest: await readPreparedManifest(store, manifestKey), reused: true, resumedShards: 0 };
  }

  const splits = assignSplits(scanned, { seed: request.seed, ...settings.splits });
  const shardsTotal = Math.ceil(scanned.length / settings.rowsPerShard);
  const shards: PreparedShardInfo[] = [];
  const counts = emptyCounts();
  let resumedShards = 0;

  for (let index = 0; index < shardsTotal; index++) {
    const key = prefix + shardName(index);
    const shardRecords = scanned.slice(index * settings.rowsPerShard, (index + 1) * settings.rowsPerShard);
    let summary = await readShardSummary(store, key);
    if (summary !== undefined) {
      resumedShards++;
    } else {
      const every = request.progressEveryFiles ?? 100;
      const reportRow = async (rowIndex: number): Promise<void> => {
        if (rowIndex === 0 || rowIndex % every !== 0) return;
        const filesDone = index * settings.rowsPerShard + rowIndex;
        await request.onProgress?.({ source: source.name, phase: 'write', filesDone, filesTotal: scanned.length, shardsDone: index, shardsTotal, prefix });
      };
      summary = await writeShard(request, shardRecords, splits, key, reportRow);
    }
    const info = await store.head(`${key}.parquet`);
    shards.push({ key: `${key}.parquet`, rows: summary.rows, sha256: info?.sha256 ?? '', sizeBytes: info?.sizeBytes ?? 0 });
    addCounts(counts, summary.counts);
    quarantine.push(...summary.quarantine);
    await request.onProgress?.({
      source: source.name,
      phase: 'write',
      filesDone: Math.min(scanned.length, (index + 1) * settings.rowsPerShard),
      filesTotal: scanned.length,
      shardsDone: index + 1,
      shardsTotal,
      prefix,
    });
  }
  // Identities can span shards, so count them over the whole source.
  const quarantinedPaths = new Set(quarantine.map((entry) => entry.path));
  counts.identities = new Set(scanned.filter((record) => !quarantinedPaths.has(record.path)).map((record) => record.identity)).size;

  const manifest: PreparedManifest = {
    kind: PREPARED_MANIFEST_KIND,
    schemaVersion: PREPARED_SCHEMA_VERSION,
    hash,
    createdAt: new Date().toISOString(),
    seed: request.seed,
    settings,
    sources: [{ name: source.name, layout: labelled.layout, location: request.files.location, hash }],
    columns: PREPARED_SHARD_COLUMNS,
    shards,
    counts,
    quarantine,
  };
  await store.put(manifestKey, JSON.stringify(manifest, null, 2), { contentType: 'application/json' });
  await request.onProgress?.({ source: source.name, phase: 'done', filesDone: scanned.length, filesTotal: scanned.length, shardsDone: shardsTotal, shardsTotal, prefix });
  logger.info({ source: source.name, manifestKey, images: counts.images, quarantined: quarantine.length, resumedShards }, 'dataset prepared');
  return { manifestKey, manifest, reused: false, resumedShards };
}
