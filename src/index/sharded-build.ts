import { CodeStorage } from './code-storage';
import { bytesPerCode, chooseSubstringCount, countCodes } from './codes';
import { MultiIndexHashIndex } from './multi-index-hash-index';
import { encodeShard, type ShardContents } from './shard-format';
import { prepareTable } from './substring-tables';

/** Builds the multi-index hash tables of one shard's codes and serializes the shard. */
export function buildShard(options: {
  codeLengthBits: number;
  codes: Uint8Array;
  ids: ArrayLike<number>;
  labels?: string[];
  substringCount: number;
}): { bytes: Uint8Array; codeCount: number } {
  const index = new MultiIndexHashIndex(options.codeLengthBits, { substringCount: options.substringCount });
  index.addWithIds(options.codes, options.ids);
  const tables = index.substringTables().map(({ bitStart, bitLength, keys, offsets, postings }) => ({ bitStart, bitLength, keys, offsets, postings }));
  const bytes = encodeShard({
    codeLengthBits: options.codeLengthBits,
    codes: options.codes,
    ids: Float64Array.from(options.ids),
    labels: options.labels,
    tables,
  });
  return { bytes, codeCount: countCodes(options.codes, options.codeLengthBits) };
}

/** Creates a searchable index over a decoded shard, reusing its tables. */
export function indexFromShard(shard: ShardContents): MultiIndexHashIndex {
  const storage = new CodeStorage(shard.codeLengthBits);
  storage.append(shard.codes, shard.ids);
  const words = storage.codeWords();
  const wordsPerCode = bytesPerCode(shard.codeLengthBits) / 4;
  return MultiIndexHashIndex.fromTables(
    storage,
    shard.tables.map((table) => prepareTable(table, words, wordsPerCode)),
  );
}

/** Splits `count` rows into `shardCount` contiguous ranges whose sizes differ by at most one. */
export function shardRanges(count: number, shardCount: number): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  for (let i = 0; i < shardCount; i++) {
    ranges.push({ start: Math.floor((i * count) / shardCount), end: Math.floor(((i + 1) * count) / shardCount) });
  }
  return ranges.filter((range) => range.end > range.start);
}

/** Number of substrings for shards of about `codesPerShard` codes. */
export function substringCountForShards(codeLengthBits: number, codesPerShard: number): number {
  return chooseSubstringCount(codeLengthBits, codesPerShard);
}
