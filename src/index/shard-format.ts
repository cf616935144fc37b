import { sha256Hex, ChecksumMismatchError } from '../storage';
import { UserInputError } from '../config/errors';
import { bytesPerCode, countCodes, validateCodeLength } from './codes';
import type { SubstringTable } from './substring-tables';

/** Magic bytes at the start of every shard object. */
export const SHARD_MAGIC = 'WHORLIDX';
export const SHARD_FORMAT_VERSION = 1;
const HEADER_BYTES = 32;
const CHECKSUM_BYTES = 32;
const FLAG_HAS_LABELS = 1;

/** Contents of one shard: codes with their ids, optional labels, and one table per substring. */
export interface ShardContents {
  codeLengthBits: number;
  codes: Uint8Array;
  ids: Float64Array;
  /** External identity of each code (such as the gallery image id), in row order. */
  labels?: string[];
  tables: SubstringTable[];
}

/** Raised for a shard object that is truncated, corrupt or of an unknown format version. */
export class ShardFormatError extends Error {
  override readonly name = 'ShardFormatError';
}

/**
 * Serializes a shard in layout version 1, documented in docs/index-format.md:
 * a 32-byte header, ids, codes, the substring tables, optional labels, and a
 * SHA-256 of everything before it. Sections start at multiples of 8 bytes and
 * every integer is little-endian.
 */
export function encodeShard(shard: ShardContents): Uint8Array {
  const codeCount = countCodes(shard.codes, shard.codeLengthBits);
  const writer = new SectionWriter();

  const header = new DataView(new ArrayBuffer(HEADER_BYTES));
  new Uint8Array(header.buffer).set(Buffer.from(SHARD_MAGIC, 'ascii'));
  header.setUint32(8, SHARD_FORMAT_VERSION, true);
  header.setUint32(12, shard.codeLengthBits, true);
  header.setUint32(16, codeCount, true);
  header.setUint32(20, shard.tables.length, true);
  header.setUint32(24, shard.labels === undefined ? 0 : FLAG_HAS_LABELS, true);
  writer.write(new Uint8Array(header.buffer));

  writer.write(bytesOf(shard.ids));
  writer.write(shard.codes);
  for (const table of shard.tables) {
    writer.write(bytesOf(Uint32Array.of(table.bitStart, table.bitLength, table.keys.length, 0)));
    writer.write(bytesOf(table.keys));
    writer.write(bytesOf(table.offsets));
    writer.write(bytesOf(table.postings));
  }
  if (shard.labels !== undefined) {
    const encoded = shard.labels.map((label) => Buffer.from(label, 'utf8'));
    const offsets = new Uint32Array(codeCount + 1);
    for (let i = 0; i < codeCount; i++) offsets[i + 1] = offsets[i] + encoded[i].byteLength;
    writer.write(bytesOf(offsets));
    writer.write(Buffer.concat(encoded));
  }

  const body = writer.finish();
  const output = new Uint8Array(body.byteLength + CHECKSUM_BYTES);
  output.set(body);
  output.set(Buffer.from(sha256Hex(body), 'hex'), body.byteLength);
  return output;
}

/**
 * Parses and verifies a shard. Raises ChecksumMismatchError when the trailing
 * SHA-256 does not match the bytes before it, and ShardFormatError when the
 * object is truncated or has an unknown magic or layout version. `key` and
 * `location` only name the object in errors.
 */
export function decodeShard(bytes: Uint8Array, key: string, location = 'shard'): ShardContents {
  if (bytes.byteLength < HEADER_BYTES + CHECKSUM_BYTES) {
    throw new ShardFormatError(`truncated shard ${key} in ${location}: ${bytes.byteLength} bytes is shorter than a header and checksum; rebuild the index version`);
  }
  const body = bytes.subarray(0, bytes.byteLength - CHECKSUM_BYTES);
  const expected = Buffer.from(bytes.subarray(body.byteLength)).toString('hex');
  const actual = sha256Hex(body);
  if (expected !== actual) throw new ChecksumMismatchError(location, key, expected, actual);

  // A copy starts at offset 0 of its own buffer, so 8-aligned sections can be
  // viewed as typed arrays without copying them again.
  const aligned = new Uint8Array(body);
  const reader = new SectionReader(aligned, key, location);
  const header = new DataView(aligned.buffer, 0, HEADER_BYTES);
  const magic = Buffer.from(aligned.subarray(0, 8)).toString('ascii');
  if (magic !== SHARD_MAGIC) throw new ShardFormatError(`invalid shard ${key} in ${location}: magic "${magic}" is not "${SHARD_MAGIC}"`);
  const formatVersion = header.getUint32(8, true);
  if (formatVersion !== SHARD_FORMAT_VERSION) {
    throw new ShardFormatError(`unsupported shard layout version ${formatVersion} in ${key}: this build reads version ${SHARD_FORMAT_VERSION}; upgrade whorl or rebuild the index`);
  }
  const codeLengthBits = validateCodeLength(header.getUint32(12, true));
  const codeCount = header.getUint32(16, true);
  const substringCount = header.getUint32(20, true);
  const flags = header.getUint32(24, true);
  reader.skip(HEADER_BYTES);

  const idBytes = reader.read(codeCount * 8);
  const ids = new Float64Array(idBytes.buffer, idBytes.byteOffset, codeCount);
  const codes = reader.read(codeCount * bytesPerCode(codeLengthBits));
  const tables: SubstringTable[] = [];
  for (let j = 0; j < substringCount; j++) {
    const [bitStart, bitLength, keyCount] = reader.readUint32(4);
    tables.push({
      bitStart,
      bitLength,
      keys: reader.readUint32(keyCount),
      offsets: reader.readUint32(keyCount + 1),
      postings: reader.readUint32(codeCount),
    });
  }
  let labels: string[] | undefined;
  if ((flags & FLAG_HAS_LABELS) !== 0) {
    const offsets = reader.readUint32(codeCount + 1);
    const text = reader.read(offsets[codeCount]);
    labels = [];
    for (let i = 0; i < codeCount; i++) labels.push(Buffer.from(text.subarray(offsets[i], offsets[i + 1])).toString('utf8'));
  }
  return { codeLengthBits, codes, ids, labels, tables };
}

/** Checks that a shard's sections agree with each other, beyond its checksum. */
export function validateShardContents(shard: ShardContents, key: string): void {
  const codeCount = shard.ids.length;
  for (const table of shard.tables) {
    if (table.offsets[table.offsets.length - 1] !== codeCount) {
      throw new ShardFormatError(`invalid shard ${key}: table at bit ${table.bitStart} has ${table.offsets[table.offsets.length - 1]} postings for ${codeCount} codes`);
    }
  }
  if (shard.labels !== undefined && shard.labels.length !== codeCount) {
    throw new UserInputError(`invalid labels for shard ${key}: expected ${codeCount}, got ${shard.labels.length}`);
  }
}

function bytesOf(array: Uint32Array | Float64Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Concatenates sections, padding each to a multiple of 8 bytes. */
class SectionWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  write(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.byteLength;
    const padding = (8 - (this.length % 8)) % 8;
    if (padding > 0) {
      this.parts.push(new Uint8Array(padding));
      this.length += padding;
    }
  }

  finish(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts, this.length));
  }
}

/** Reads the sections that SectionWriter wrote, raising ShardFormatError past the end. */
class SectionReader {
  private offset = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly key: string,
    private readonly location: string,
  ) {}

  skip(byteCount: number): void {
    this.read(byteCount);
  }

  read(byteCount: number): Uint8Array {
    if (this.offset + byteCount > this.bytes.byteLength) {
      throw new ShardFormatError(
        `truncated shard ${this.key} in ${this.location}: a section needs bytes ${this.offset}–${this.offset + byteCount} of ${this.bytes.byteLength}; rebuild the index version`,
      );
    }
    const section = this.bytes.subarray(this.offset, this.offset + byteCount);
    this.offset += byteCount + ((8 - (byteCount % 8)) % 8);
    return section;
  }

  readUint32(count: number): Uint32Array {
    const section = this.read(count * 4);
    return new Uint32Array(section.buffer, section.byteOffset, count);
  }
}
