export * from './codes';
export * from './binary-index';
export { CodeStorage } from './code-storage';
export { LinearScanIndex } from './linear-scan-index';
export { MultiIndexHashIndex, type MultiIndexHashOptions } from './multi-index-hash-index';
export { createRandom, generateClusteredCodes, generateRandomCodes, type ClusteredCodeOptions } from './generators';
export * from './index-store';
export { readCodesParquet, writeCodesParquet, type CodeTable } from './parquet-codes';
export { decodeShard, encodeShard, ShardFormatError, SHARD_FORMAT_VERSION, type ShardContents } from './shard-format';
