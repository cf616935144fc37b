import { FixedSizeBinary, Table, Utf8, makeData, makeVector, vectorFromArray, type Vector } from 'apache-arrow';
import { UserInputError } from '../config/errors';
import { parquetToTable, tableToParquet } from '../columnar/parquet';
import { validateCodeLength } from './codes';

/** Codes read from a code shard: packed rows plus the gallery id of each row. */
export interface CodeTable {
  codeLengthBits: number;
  codes: Uint8Array;
  labels: string[];
}

/**
 * Reads a Parquet file of codes with columns `id` (UTF-8, the gallery id)
 * and `code` (fixed-size binary of codeLengthBits / 8 bytes, bit i of a code
 * in bit i mod 8 of byte ⌊i / 8⌋). Raises UserInputError on other schemas.
 */
export function readCodesParquet(bytes: Uint8Array, source: string): CodeTable {
  const table = parquetToTable(bytes);
  const idColumn = table.getChild('id');
  const codeColumn = table.getChild('code');
  if (idColumn === null || codeColumn === null) {
    const columns = table.schema.fields.map((field) => `${field.name}: ${String(field.type)}`).join(', ');
    throw new UserInputError(`invalid code file ${source}: expected columns id (utf8) and code (fixed-size binary), found ${columns}`);
  }
  if (!(codeColumn.type instanceof FixedSizeBinary)) {
    throw new UserInputError(`invalid code file ${source}: column code is ${String(codeColumn.type)}, expected fixed-size binary`);
  }
  const byteWidth = codeColumn.type.byteWidth;
  const codeLengthBits = validateCodeLength(byteWidth * 8);
  if (codeColumn.nullCount > 0 || idColumn.nullCount > 0) {
    throw new UserInputError(`invalid code file ${source}: ${codeColumn.nullCount + idColumn.nullCount} null ids or codes; every row needs both`);
  }

  const codes = new Uint8Array(table.numRows * byteWidth);
  let row = 0;
  for (const data of (codeColumn as Vector<FixedSizeBinary>).data) {
    const values = data.values as Uint8Array;
    codes.set(values.subarray(data.offset * byteWidth, (data.offset + data.length) * byteWidth), row * byteWidth);
    row += data.length;
  }
  const labels = (idColumn.toArray() as unknown[]).map((value) => String(value));
  return { codeLengthBits, codes, labels };
}

/** Writes codes and their gallery ids as a Parquet file with columns id (utf8) and code (fixed-size binary). */
export function writeCodesParquet(table: CodeTable): Uint8Array {
  const byteWidth = table.codeLengthBits / 8;
  const type = new FixedSizeBinary(byteWidth);
  const codeVector = makeVector(makeData({ type, length: table.labels.length, nullCount: 0, data: table.codes }));
  const idVector = vectorFromArray(table.labels, new Utf8());
  return tableToParquet(new Table({ id: idVector, code: codeVector }));
}
