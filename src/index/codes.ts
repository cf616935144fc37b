import { UserInputError } from '../config/errors';

/** Code lengths every index supports; each is a whole number of 64-bit words. */
export const SUPPORTED_CODE_LENGTHS_BITS = [32, 64, 128, 256] as const;
export type CodeLengthBits = (typeof SUPPORTED_CODE_LENGTHS_BITS)[number];

/** Raises UserInputError unless `bits` is one of SUPPORTED_CODE_LENGTHS_BITS. */
export function validateCodeLength(bits: number): CodeLengthBits {
  if (!(SUPPORTED_CODE_LENGTHS_BITS as readonly number[]).includes(bits)) {
    throw new UserInputError(`invalid code length ${bits} bits: expected one of ${SUPPORTED_CODE_LENGTHS_BITS.join(', ')}`);
  }
  return bits as CodeLengthBits;
}

export function bytesPerCode(codeLengthBits: number): number {
  return codeLengthBits / 8;
}

/**
 * Checks that `codes` contains whole rows of `codeLengthBits / 8` bytes and
 * returns the number of rows. Raises UserInputError otherwise.
 */
export function countCodes(codes: Uint8Array, codeLengthBits: number, inputName = 'codes'): number {
  const rowBytes = bytesPerCode(codeLengthBits);
  if (codes.byteLength % rowBytes !== 0) {
    throw new UserInputError(
      `invalid ${inputName}: ${codes.byteLength} bytes is not a whole number of ${codeLengthBits}-bit codes (${rowBytes} bytes each); check the code length`,
    );
  }
  return codes.byteLength / rowBytes;
}

/**
 * Parses a code written as hexadecimal, two digits per byte in row order
 * (the order `formatCodeHex` writes). Raises UserInputError on other lengths.
 */
export function parseCodeHex(hex: string, codeLengthBits: number): Uint8Array {
  const digits = hex.trim().replace(/^0x/i, '');
  const expectedDigits = codeLengthBits / 4;
  if (digits.length !== expectedDigits || !/^[0-9a-fA-F]*$/.test(digits)) {
    throw new UserInputError(
      `invalid code "${hex}": expected ${expectedDigits} hexadecimal digits for a ${codeLengthBits}-bit code, got ${digits.length} characters`,
    );
  }
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

export function formatCodeHex(code: Uint8Array): string {
  return Buffer.from(code.buffer, code.byteOffset, code.byteLength).toString('hex');
}

/** Counts the set bits of a 32-bit integer. */
export function popcount32(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Hamming distance between two packed codes of equal length. */
export function hammingDistance(a: Uint8Array, b: Uint8Array): number {
  let distance = 0;
  for (let i = 0; i < a.length; i++) distance += popcount32(a[i] ^ b[i]);
  return distance;
}

/**
 * Number of substrings for multi-index hashing by the rule of Norouzi, Punjani
 * and Fleet (CVPR 2012), m ≈ b / log2 N, rounded up: for 64-bit codes that is
 * 5 at 10K codes and 4 from 100K to 1M codes. The result is clamped so that
 * every substring has between 8 and 32 bits: keys are 32-bit integers, and
 * for tiny indexes shorter substrings only add tables to probe.
 *
 * NOTE: m + 1 measured faster than this rule for most 64-bit cases from
 * 100K to 10M codes on the 2-core development machine (docs/benchmarks.md).
 * Pass substringCount to override the rule.
 */
export function chooseSubstringCount(codeLengthBits: number, codeCount: number): number {
  const log2Count = Math.log2(Math.max(codeCount, 2));
  const byRule = Math.ceil(codeLengthBits / log2Count);
  const minimum = Math.ceil(codeLengthBits / 32);
  return Math.min(codeLengthBits / 8, Math.max(minimum, byRule));
}
