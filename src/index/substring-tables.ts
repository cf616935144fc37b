
/** Tables whose substrings have at most this many bits also get a direct-address array of offsets (at most 16 MiB). */
const DIRECT_TABLE_MAX_BITS = 22;

/**
 * One multi-index hashing table: the rows of every code grouped by the value
 * of one substring (bits bitStart to bitStart + bitLength - 1). `keys` contains
 * the distinct substring values in increasing order, and the rows with
 * keys[i] are postings[offsets[i]] to postings[offsets[i + 1] - 1], in
 * increasing row order. This is also the serialized shard layout.
 */
export interface SubstringTable {
  bitStart: number;
  bitLength: number;
  keys: Uint32Array;
  offsets: Uint32Array;
  postings: Uint32Array;
  /** Offsets indexed by key value (2^bitLength + 1 entries), present for short substrings. */
  directOffsets?: Uint32Array;
  /**
   * Copy of the codes in postings order (32-bit words), kept in memory only,
   * so candidates of one bucket are verified from consecutive memory.
   */
  postingCodes?: Uint32Array;
}

/** Splits a code of `codeLengthBits` bits into `substringCount` contiguous substrings whose lengths differ by at most one bit. */
export function substringLayout(codeLengthBits: number, substringCount: number): { bitStart: number; bitLength: number }[] {
  const baseLength = Math.floor(codeLengthBits / substringCount);
  const longer = codeLengthBits % substringCount;
  const layout: { bitStart: number; bitLength: number }[] = [];
  let bitStart = 0;
  for (let j = 0; j < substringCount; j++) {
    const bitLength = baseLength + (j < longer ? 1 : 0);
    layout.push({ bitStart, bitLength });
    bitStart += bitLength;
  }
  return layout;
}

/** Reads bits bitStart … bitStart + bitLength - 1 (bitLength <= 32) of the code whose 32-bit words start at `wordOffset`. */
export function extractSubstring(words: Uint32Array, wordOffset: number, bitStart: number, bitLength: number): number {
  const word = wordOffset + (bitStart >>> 5);
  const shift = bitStart & 31;
  let value = words[word] >>> shift;
  if (shift + bitLength > 32) value = (value | (words[word + 1] << (32 - shift))) >>> 0;
  return bitLength === 32 ? value >>> 0 : (value & ((1 << bitLength) - 1)) >>> 0;
}

/** Builds the table of one substring over `rowCount` codes of `wordsPerCode` 32-bit words. */
export function buildSubstringTable(
  words: Uint32Array,
  rowCount: number,
  wordsPerCode: number,
  bitStart: number,
  bitLength: number,
): SubstringTable {
  const rowKeys = new Uint32Array(rowCount);
  for (let row = 0; row < rowCount; row++) rowKeys[row] = extractSubstring(words, row * wordsPerCode, bitStart, bitLength);

  const postings = sortRowsByKey(rowKeys);
  let distinct = 0;
  for (let i = 0; i < rowCount; i++) if (i === 0 || rowKeys[postings[i]] !== rowKeys[postings[i - 1]]) distinct++;

  const keys = new Uint32Array(distinct);
  const offsets = new Uint32Array(distinct + 1);
  let next = 0;
  for (let i = 0; i < rowCount; i++) {
    if (i === 0 || rowKeys[postings[i]] !== rowKeys[postings[i - 1]]) {
      keys[next] = rowKeys[postings[i]];
      offsets[next] = i;
      next++;
    }
  }
  offsets[distinct] = rowCount;
  return prepareTable({ bitStart, bitLength, keys, offsets, postings }, words, wordsPerCode);
}

/** Adds the in-memory lookup structures to a table read from a shard or just built. */
export function prepareTable(table: SubstringTable, words: Uint32Array, wordsPerCode: number): SubstringTable {
  const postingCodes = new Uint32Array(table.postings.length * wordsPerCode);
  for (let p = 0; p < table.postings.length; p++) {
    const source = table.postings[p] * wordsPerCode;
    for (let w = 0; w < wordsPerCode; w++) postingCodes[p * wordsPerCode + w] = words[source + w];
  }
  return withDirectOffsets({ ...table, postingCodes });
}

/** Adds the direct-address offsets when the substring is short enough for them. */
function withDirectOffsets(table: SubstringTable): SubstringTable {
  if (table.bitLength > DIRECT_TABLE_MAX_BITS) return table;
  const size = 2 ** table.bitLength;
  const directOffsets = new Uint32Array(size + 1);
  let keyIndex = 0;
  for (let key = 0; key <= size; key++) {
    while (keyIndex < table.keys.length && table.keys[keyIndex] < key) keyIndex++;
    directOffsets[key] = table.offsets[keyIndex];
  }
  return { ...table, directOffsets };
}

/** Stable LSD radix sort of row numbers by 32-bit key, in two 16-bit passes. */
function sortRowsByKey(rowKeys: Uint32Array): Uint32Array {
  const rowCount = rowKeys.length;
  let rows = new Uint32Array(rowCount);
  for (let i = 0; i < rowCount; i++) rows[i] = i;
  let scratch = new Uint32Array(rowCount);

  for (const shift of [0, 16]) {
    const counts = new Uint32Array(65537);
    for (let i = 0; i < rowCount; i++) counts[((rowKeys[rows[i]] >>> shift) & 0xffff) + 1]++;
    for (let b = 0; b < 65536; b++) counts[b + 1] += counts[b];
    for (let i = 0; i < rowCount; i++) {
      const bucket = (rowKeys[rows[i]] >>> shift) & 0xffff;
      scratch[counts[bucket]++] = rows[i];
    }
    [rows, scratch] = [scratch, rows];
  }
  return rows;
}

/**
 * Calls `visit(start, end)` with the postings range of every key at Hamming
 * distance exactly `radius` from `key`. Enumerates bit flips while there are
 * fewer of them than distinct keys, and otherwise scans the distinct keys.
 */
export function probeAtRadius(
  table: SubstringTable,
  key: number,
  radius: number,
  visit: (start: number, end: number) => void,
): void {
  if (radius > table.bitLength) return;
  if (binomial(table.bitLength, radius) > table.keys.length) {
    for (let i = 0; i < table.keys.length; i++) {
      if (popcount32(table.keys[i] ^ key) === radius) visit(table.offsets[i], table.offsets[i + 1]);
    }
    return;
  }

  const positions = new Int32Array(radius);
  for (let i = 0; i < radius; i++) positions[i] = i;
  for (;;) {
    let probe = key;
    for (let i = 0; i < radius; i++) probe ^= 1 << positions[i];
    lookup(table, probe >>> 0, visit);

    let i = radius - 1;
    while (i >= 0 && positions[i] === table.bitLength - radius + i) i--;
    if (i < 0) return;
    positions[i]++;
    for (let j = i + 1; j < radius; j++) positions[j] = positions[j - 1] + 1;
  }
}

function lookup(table: SubstringTable, key: number, visit: (start: number, end: number) => void): void {
  if (table.directOffsets !== undefined) {
    const start = table.directOffsets[key];
    const end = table.directOffsets[key + 1];
    if (end > start) visit(start, end);
    return;
  }
  let low = 0;
  let high = table.keys.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = table.keys[middle];
    if (value === key) {
      visit(table.offsets[middle], table.offsets[middle + 1]);
      return;
    }
    if (value < key) low = middle + 1;
    else high = middle - 1;
  }
}

const flipMaskCache = new Map<number, Uint32Array>();

/**
 * Returns every bitLength-bit mask with exactly `radius` bits set, so that
 * key ^ mask enumerates the keys at that distance. Masks are cached per
 * (bitLength, radius); callers ask only while C(bitLength, radius) is below
 * the table's number of distinct keys.
 */
export function flipMasks(bitLength: number, radius: number): Uint32Array {
  const cacheKey = bitLength * 64 + radius;
  const cached = flipMaskCache.get(cacheKey);
  if (cached !== undefined) return cached;

  const masks = new Uint32Array(binomial(bitLength, radius));
  const positions = new Int32Array(radius);
  for (let i = 0; i < radius; i++) positions[i] = i;
  for (let next = 0; next < masks.length; next++) {
    let mask = 0;
    for (let i = 0; i < radius; i++) mask |= 1 << positions[i];
    masks[next] = mask >>> 0;

    let i = radius - 1;
    while (i >= 0 && positions[i] === bitLength - radius + i) i--;
    if (i < 0) break;
    positions[i]++;
    for (let j = i + 1; j < radius; j++) positions[j] = positions[j - 1] + 1;
  }
  flipMaskCache.set(cacheKey, masks);
  return masks;
}

/** True when probing by flip masks is cheaper than scanning the table's distinct keys. */
export function enumerateByMasks(table: SubstringTable, radius: number): boolean {
  return binomial(table.bitLength, radius) <= table.keys.length;
}

const binomialCache = new Map<number, number>();

function binomial(n: number, r: number): number {
  const cacheKey = n * 64 + r;
  const cached = binomialCache.get(cacheKey);
  if (cached !== undefined) return cached;
  let value = 1;
  for (let i = 1; i <= r; i++) value = (value * (n - r + i)) / i;
  binomialCache.set(cacheKey, Math.round(value));
  return Math.round(value);
}

/** Counts the set bits of a 32-bit integer; a module-local copy so V8 can inline it (see multi-index-hash-index.ts). */
function popcount32(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
