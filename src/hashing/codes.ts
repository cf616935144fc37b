import { UserInputError } from '../config/errors';

/** Code lengths every hasher supports. */
export const SUPPORTED_CODE_LENGTHS_BITS = [16, 32, 48, 64, 128] as const;

export type CodeLengthBits = (typeof SUPPORTED_CODE_LENGTHS_BITS)[number];

/** Raises UserInputError unless the value is one of SUPPORTED_CODE_LENGTHS_BITS. */
export function validateCodeLength(codeLengthBits: number): CodeLengthBits {
  if (!(SUPPORTED_CODE_LENGTHS_BITS as readonly number[]).includes(codeLengthBits)) {
    throw new UserInputError(
      `unsupported code length ${codeLengthBits} bits: expected one of ${SUPPORTED_CODE_LENGTHS_BITS.join(', ')}. Set codeLengthBits to one of them`,
    );
  }
  return codeLengthBits as CodeLengthBits;
}

/** Bytes one packed code of the given length occupies: ceil(bits / 8). */
export function bytesPerCode(codeLengthBits: number): number {
  return Math.ceil(codeLengthBits / 8);
}

/**
 * Binary codes packed row by row, `bytesPerCode` bytes per row.
 *
 * Bit order: bit `j` of a code (the j-th hash function) is stored in byte
 * `j >> 3` at bit position `j & 7`, least significant bit first. This is the
 * order faiss uses for IndexLSH codes (fvecs2bitvecs). Padding bits past
 * `codeLengthBits` in the last byte are zero.
 */
export interface PackedCodes {
  readonly count: number;
  readonly codeLengthBits: number;
  readonly bytesPerCode: number;
  readonly data: Uint8Array;
}

/** Wraps packed bytes as PackedCodes after checking that the sizes agree. */
export function createPackedCodes(data: Uint8Array, count: number, codeLengthBits: number): PackedCodes {
  const codeBytes = bytesPerCode(codeLengthBits);
  if (data.length !== count * codeBytes) {
    throw new UserInputError(`packed codes have ${data.length} bytes but ${count} codes of ${codeLengthBits} bits need ${count * codeBytes}`);
  }
  return { count, codeLengthBits, bytesPerCode: codeBytes, data };
}

/**
 * Packs real-valued projections into codes: bit `j` of row `i` is 1 when
 * `values[i * codeLengthBits + j] >= 0`, the same rule as faiss's
 * fvecs2bitvecs. `values` is row-major, `count` rows of `codeLengthBits`.
 */
export function packSigns(values: ArrayLike<number>, count: number, codeLengthBits: number): PackedCodes {
  const codeBytes = bytesPerCode(codeLengthBits);
  const data = new Uint8Array(count * codeBytes);
  for (let row = 0; row < count; row++) {
    const valueOffset = row * codeLengthBits;
    const byteOffset = row * codeBytes;
    for (let bit = 0; bit < codeLengthBits; bit++) {
      if (values[valueOffset + bit] >= 0) {
        data[byteOffset + (bit >> 3)] |= 1 << (bit & 7);
      }
    }
  }
  return { count, codeLengthBits, bytesPerCode: codeBytes, data };
}

/** Unpacks codes into one 0/1 byte per bit, row-major `count x codeLengthBits`. */
export function unpackBits(codes: PackedCodes): Uint8Array {
  const bits = new Uint8Array(codes.count * codes.codeLengthBits);
  for (let row = 0; row < codes.count; row++) {
    const byteOffset = row * codes.bytesPerCode;
    for (let bit = 0; bit < codes.codeLengthBits; bit++) {
      bits[row * codes.codeLengthBits + bit] = (codes.data[byteOffset + (bit >> 3)] >> (bit & 7)) & 1;
    }
  }
  return bits;
}

/** Packs 0/1 values (row-major `count x codeLengthBits`), the inverse of unpackBits. */
export function packBits(bits: ArrayLike<number>, count: number, codeLengthBits: number): PackedCodes {
  const signs = new Int8Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    signs[i] = bits[i] === 0 ? -1 : 1;
  }
  return packSigns(signs, count, codeLengthBits);
}

/** Returns one code's bytes as a view into the packed data. */
export function codeAt(codes: PackedCodes, index: number): Uint8Array {
  return codes.data.subarray(index * codes.bytesPerCode, (index + 1) * codes.bytesPerCode);
}

/** Number of set bits in each byte value. */
export const POPCOUNT_BY_BYTE: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let value = 1; value < 256; value++) {
    table[value] = (value & 1) + table[value >> 1];
  }
  return table;
})();

/** Returns the Hamming distance between two codes of equal byte length. */
export function hammingDistance(a: Uint8Array, b: Uint8Array): number {
  let distance = 0;
  for (let i = 0; i < a.length; i++) {
    distance += POPCOUNT_BY_BYTE[a[i] ^ b[i]];
  }
  return distance;
}
