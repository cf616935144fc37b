import * as arrow from 'apache-arrow';
import { UserInputError } from '../config/errors';
import { parquetToTable, tableToParquet } from '../columnar/parquet';
import type { ObjectInfo, ObjectStore } from '../storage/object-store';
import { bytesPerCode, createPackedCodes, type PackedCodes } from './codes';

/**
 * Parquet code shards: one row per encoded image.
 *
 * Arrow schema (every field non-nullable):
 *
 * | field            | Arrow type                   | content                                          |
 * |------------------|------------------------------|--------------------------------------------------|
 * | id               | Utf8                         | image id, unique within the shard                |
 * | identity         | Utf8                         | finger identity (class label for benchmarks)     |
 * | sensor           | Utf8                         | capture sensor name                              |
 * | dataset          | Utf8                         | source dataset name                              |
 * | code             | FixedSizeBinary(ceil(bits/8)) | packed code, bit order as documented on PackedCodes |
 * | code_length_bits | Int32                        | bits per code, the same on every row             |
 * | model_version    | Utf8                         | version of the hasher that produced the code     |
 *
 * Schema metadata: `whorl.code_shard.format_version` = "1" and
 * `whorl.code_shard.bit_order` = "lsb-first". In Parquet the code column is a
 * FIXED_LEN_BYTE_ARRAY and the strings are plain UTF-8 BYTE_ARRAY columns.
 */
export const CODE_SHARD_FORMAT_VERSION = '1';
export const CODE_SHARD_BIT_ORDER = 'lsb-first';

/** Rows of one code shard, column by column; `codes.count` rows in all. */
export interface CodeShard {
  ids: string[];
  identities: string[];
  sensors: string[];
  datasets: string[];
  codes: PackedCodes;
  modelVersion: string;
}

/** Returns the Arrow schema of a shard holding codes of the given length. */
export function codeShardSchema(codeLengthBits: number): arrow.Schema {
  const metadata = new Map([
    ['whorl.code_shard.format_version', CODE_SHARD_FORMAT_VERSION],
    ['whorl.code_shard.bit_order', CODE_SHARD_BIT_ORDER],
  ]);
  return new arrow.Schema(
    [
      new arrow.Field('id', new arrow.Utf8(), false),
      new arrow.Field('identity', new arrow.Utf8(), false),
      new arrow.Field('sensor', new arrow.Utf8(), false),
      new arrow.Field('dataset', new arrow.Utf8(), false),
      new arrow.Field('code', new arrow.FixedSizeBinary(bytesPerCode(codeLengthBits)), false),
      new arrow.Field('code_length_bits', new arrow.Int32(), false),
      new arrow.Field('model_version', new arrow.Utf8(), false),
    ],
    metadata,
  );
}

/** Builds the Arrow table of a code shard after checking that every column has one value per code. */
export function codeShardToTable(shard: CodeShard): arrow.Table {
  const rowCount = shard.codes.count;
  const columns: [string, string[]][] = [
    ['ids', shard.ids],
    ['identities', shard.identities],
    ['sensors', shard.sensors],
    ['datasets', shard.datasets],
  ];
  for (const [name, values] of columns) {
    if (values.length !== rowCount) {
      throw new UserInputError(`code shard has ${values.length} ${name} for ${rowCount} codes. Pass one value per code`);
    }
  }
  if (shard.modelVersion.length === 0) {
    throw new UserInputError('code shard modelVersion is empty: pass the version of the hasher that produced the codes');
  }
  const duplicate = shard.ids.find((id, index) => shard.ids.indexOf(id) !== index);
  if (duplicate !== undefined) {
    throw new UserInputError(`code shard id "${duplicate}" appears more than once. Ids must be unique within a shard`);
  }

  const schema = codeShardSchema(shard.codes.codeLengthBits);
  const codeType = new arrow.FixedSizeBinary(shard.codes.bytesPerCode);
  const codeData = arrow.makeData({ type: codeType, length: rowCount, nullCount: 0, data: shard.codes.data });
  const utf8 = (values: string[]): arrow.Vector<arrow.Utf8> => arrow.vectorFromArray(values, new arrow.Utf8());
  const codeLengths = arrow.makeVector(new Int32Array(rowCount).fill(shard.codes.codeLengthBits));
  const versions = utf8(new Array<string>(rowCount).fill(shard.modelVersion));

  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: rowCount,
    nullCount: 0,
    children: [
      utf8(shard.ids).data[0],
      utf8(shard.identities).data[0],
      utf8(shard.sensors).data[0],
      utf8(shard.datasets).data[0],
      codeData,
      codeLengths.data[0],
      versions.data[0],
    ],
  });
  return new arrow.Table(schema, new arrow.RecordBatch(schema, data));
}

/** Encodes a code shard as Parquet (zstd). */
export function writeCodeShard(shard: CodeShard): Uint8Array {
  return tableToParquet(codeShardToTable(shard));
}

/** Decodes a Parquet code shard written by writeCodeShard. The codes come back bit-exactly. */
export function readCodeShard(bytes: Uint8Array): CodeShard {
  return codeShardFromTable(parquetToTable(bytes));
}

/** Reads a code shard from an Arrow table with the codeShardSchema columns. */
export function codeShardFromTable(table: arrow.Table): CodeShard {
  const codeField = table.schema.fields.find((field) => field.name === 'code');
  if (codeField === undefined || !arrow.DataType.isFixedSizeBinary(codeField.type)) {
    throw new UserInputError(`code shard has no FixedSizeBinary "code" column (columns: ${table.schema.fields.map((field) => field.name).join(', ')}). It was not written by writeCodeShard`);
  }
  const formatVersion = table.schema.metadata.get('whorl.code_shard.format_version');
  if (formatVersion !== undefined && formatVersion !== CODE_SHARD_FORMAT_VERSION) {
    throw new UserInputError(`code shard has format version ${formatVersion} but this reader supports ${CODE_SHARD_FORMAT_VERSION}. Upgrade whorl or re-encode the shard`);
  }
  const codeBytes = codeField.type.byteWidth;
  const rowCount = table.numRows;

  const codeLengths = readColumn(table, 'code_length_bits');
  const codeLengthBits = rowCount === 0 ? codeBytes * 8 : Number(codeLengths[0]);
  if (codeLengths.some((value) => Number(value) !== codeLengthBits) || bytesPerCode(codeLengthBits) !== codeBytes) {
    throw new UserInputError(`code shard mixes code lengths or stores ${codeBytes}-byte codes for ${codeLengthBits} bits. The shard is corrupt`);
  }

  const codes = new Uint8Array(rowCount * codeBytes);
  const codeColumn = table.getChild('code');
  let row = 0;
  for (const chunk of codeColumn?.data ?? []) {
    const values = chunk.values as Uint8Array;
    codes.set(values.subarray(chunk.offset * codeBytes, (chunk.offset + chunk.length) * codeBytes), row * codeBytes);
    row += chunk.length;
  }

  const versions = readColumn(table, 'model_version').map(String);
  const modelVersion = versions[0] ?? '';
  if (versions.some((version) => version !== modelVersion)) {
    throw new UserInputError(`code shard mixes model versions (${[...new Set(versions)].join(', ')}). Write codes of each model version to separate shards`);
  }

  return {
    ids: readColumn(table, 'id').map(String),
    identities: readColumn(table, 'identity').map(String),
    sensors: readColumn(table, 'sensor').map(String),
    datasets: readColumn(table, 'dataset').map(String),
    codes: createPackedCodes(codes, rowCount, codeLengthBits),
    modelVersion,
  };
}

function readColumn(table: arrow.Table, name: string): unknown[] {
  const column = table.getChild(name);
  if (column === null) {
    throw new UserInputError(`code shard lacks column "${name}". It was not written by writeCodeShard`);
  }
  return column.toArray() as unknown[];
}

/** Writes a code shard to object storage at `key` (for example `codes/<hash>/part-00000.parquet`). */
export async function putCodeShard(store: ObjectStore, key: string, shard: CodeShard): Promise<ObjectInfo> {
  return store.put(key, writeCodeShard(shard), { contentType: 'application/vnd.apache.parquet' });
}

/** Reads a code shard written by putCodeShard. */
export async function getCodeShard(store: ObjectStore, key: string): Promise<CodeShard> {
  return readCodeShard(await store.get(key));
}
