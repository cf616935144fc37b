import { Binary, Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { parquetToTable, tableToParquet } from '../columnar/parquet';
import type { HashingSplit, RetrievalRole, SensorSplit } from './splits';

/**
 * One prepared image: labels, splits and the preprocessed pixels. A shard
 * stores these as Parquet rows with the columns listed in
 * PREPARED_SHARD_COLUMNS.
 */
export interface PreparedImage {
  /** `<source>/<path>`, unique within a prepared data set. */
  id: string;
  dataset: string;
  database: string;
  sensor: string;
  identity: string;
  impression: number | null;
  split: SensorSplit;
  retrievalRole: RetrievalRole;
  hashingSplit: HashingSplit;
  width: number;
  height: number;
  /** Size of the decoded source image before preprocessing. */
  sourceWidth: number;
  sourceHeight: number;
  sourceFormat: string;
  /** Row-major 8-bit gray pixels, width × height bytes. */
  pixels: Uint8Array;
  /** Location of the source file: the source root's location plus the relative path. */
  sourceKey: string;
  /** Hex SHA-256 of the source file's bytes. */
  sourceSha256: string;
}

/** Parquet column name, Arrow type and meaning of every shard column, for docs and readers. */
export const PREPARED_SHARD_COLUMNS: ReadonlyArray<{ column: string; arrowType: string; description: string }> = [
  { column: 'id', arrowType: 'Utf8', description: 'unique id, <source>/<relative path>' },
  { column: 'dataset', arrowType: 'Utf8', description: 'data set, such as fvc2002' },
  { column: 'database', arrowType: 'Utf8', description: 'sub-collection, such as DB1_B; empty when none' },
  { column: 'sensor', arrowType: 'Utf8', description: 'sensor label' },
  { column: 'identity', arrowType: 'Utf8', description: 'finger identity, unique across data sets' },
  { column: 'impression', arrowType: 'Int32 (nullable)', description: 'impression number of the finger' },
  { column: 'split', arrowType: 'Utf8', description: 'sensor-classification split: train or test' },
  { column: 'retrieval_role', arrowType: 'Utf8', description: 'gallery or probe' },
  { column: 'hashing_split', arrowType: 'Utf8', description: 'finger-disjoint split for the hashing network: train or eval' },
  { column: 'width', arrowType: 'Int32', description: 'prepared width in pixels' },
  { column: 'height', arrowType: 'Int32', description: 'prepared height in pixels' },
  { column: 'source_width', arrowType: 'Int32', description: 'decoded source width in pixels' },
  { column: 'source_height', arrowType: 'Int32', description: 'decoded source height in pixels' },
  { column: 'source_format', arrowType: 'Utf8', description: 'tiff, png, jpeg or bmp, detected from content' },
  { column: 'pixels', arrowType: 'Binary', description: 'row-major 8-bit gray pixels, width × height bytes, 0 is black' },
  { column: 'source_key', arrowType: 'Utf8', description: 'source location and relative path' },
  { column: 'source_sha256', arrowType: 'Utf8', description: 'hex SHA-256 of the source file' },
];

function utf8(values: string[]) {
  return vectorFromArray(values, new Utf8());
}

function int32(values: Array<number | null>) {
  return vectorFromArray(values, new Int32());
}

/** Encodes images as one Parquet shard (zstd-compressed). */
export function encodeShard(images: PreparedImage[]): Uint8Array {
  const table = new Table({
    id: utf8(images.map((image) => image.id)),
    dataset: utf8(images.map((image) => image.dataset)),
    database: utf8(images.map((image) => image.database)),
    sensor: utf8(images.map((image) => image.sensor)),
    identity: utf8(images.map((image) => image.identity)),
    impression: int32(images.map((image) => image.impression)),
    split: utf8(images.map((image) => image.split)),
    retrieval_role: utf8(images.map((image) => image.retrievalRole)),
    hashing_split: utf8(images.map((image) => image.hashingSplit)),
    width: int32(images.map((image) => image.width)),
    height: int32(images.map((image) => image.height)),
    source_width: int32(images.map((image) => image.sourceWidth)),
    source_height: int32(images.map((image) => image.sourceHeight)),
    source_format: utf8(images.map((image) => image.sourceFormat)),
    pixels: vectorFromArray(images.map((image) => image.pixels), new Binary()),
    source_key: utf8(images.map((image) => image.sourceKey)),
    source_sha256: utf8(images.map((image) => image.sourceSha256)),
  });
  return tableToParquet(table);
}

/** Decodes a Parquet shard written by encodeShard. */
export function decodeShard(bytes: Uint8Array): PreparedImage[] {
  const table = parquetToTable(bytes);
  const missing = PREPARED_SHARD_COLUMNS.map(({ column }) => column).filter((column) => table.getChild(column) === null);
  if (missing.length > 0) throw new Error(`prepared shard lacks column(s) ${missing.join(', ')}; it was not written by this version of whorl`);
  const images: PreparedImage[] = [];
  for (const row of table) {
    images.push({
      id: row.id as string,
      dataset: row.dataset as string,
      database: row.database as string,
      sensor: row.sensor as string,
      identity: row.identity as string,
      impression: (row.impression as number | null) ?? null,
      split: row.split as SensorSplit,
      retrievalRole: row.retrieval_role as RetrievalRole,
      hashingSplit: row.hashing_split as HashingSplit,
      width: row.width as number,
      height: row.height as number,
      sourceWidth: row.source_width as number,
      sourceHeight: row.source_height as number,
      sourceFormat: row.source_format as string,
      pixels: (row.pixels as Uint8Array).slice(),
      sourceKey: row.source_key as string,
      sourceSha256: row.source_sha256 as string,
    });
  }
  return images;
}
