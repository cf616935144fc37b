import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, readParquet, writeParquet } from 'parquet-wasm';

/**
 * Parquet encoding of Arrow tables through parquet-wasm (the Rust `parquet`
 * crate compiled to WebAssembly). Arrow types map directly: FixedSizeBinary
 * becomes FIXED_LEN_BYTE_ARRAY, Utf8 becomes a UTF-8 BYTE_ARRAY.
 */
export function tableToParquet(table: Table, options: { compression?: 'zstd' | 'snappy' | 'none' } = {}): Uint8Array {
  const compression = { zstd: Compression.ZSTD, snappy: Compression.SNAPPY, none: Compression.UNCOMPRESSED }[options.compression ?? 'zstd'];
  const properties = new WriterPropertiesBuilder().setCompression(compression).build();
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), properties);
}

/** Decodes a Parquet file into an Arrow table. */
export function parquetToTable(bytes: Uint8Array): Table {
  return tableFromIPC(readParquet(bytes).intoIPCStream());
}
