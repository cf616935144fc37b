import { bytesPerCode, validateCodeLength } from './codes';

/** A seeded 32-bit pseudo-random generator (mulberry32), so generated codes are reproducible. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Generates `count` uniformly random codes as packed rows. */
export function generateRandomCodes(options: { count: number; codeLengthBits: number; seed?: number }): Uint8Array {
  validateCodeLength(options.codeLengthBits);
  const codes = new Uint8Array(options.count * bytesPerCode(options.codeLengthBits));
  const words = new Uint32Array(codes.buffer);
  const next = createRandom(options.seed ?? 1);
  for (let i = 0; i < words.length; i++) words[i] = next();
  return codes;
}

export interface ClusteredCodeOptions {
  count: number;
  codeLengthBits: number;
  /** Number of cluster centres; each code copies a random centre. */
  clusterCount: number;
  /** Probability that each bit of a copied centre is flipped. */
  bitFlipProbability: number;
  seed?: number;
}

/**
 * Generates codes around random centres, the way codes of several
 * impressions of one finger sit close together: each code is a random centre
 * with each bit flipped independently with probability bitFlipProbability.
 */
export function generateClusteredCodes(options: ClusteredCodeOptions): Uint8Array {
  const { count, codeLengthBits, clusterCount, bitFlipProbability } = options;
  validateCodeLength(codeLengthBits);
  const rowBytes = bytesPerCode(codeLengthBits);
  const next = createRandom(options.seed ?? 1);
  const centres = new Uint8Array(clusterCount * rowBytes);
  for (let i = 0; i < centres.length; i++) centres[i] = next() & 0xff;

  const codes = new Uint8Array(count * rowBytes);
  const flipThreshold = Math.round(bitFlipProbability * 2 ** 32);
  for (let row = 0; row < count; row++) {
    const centre = next() % clusterCount;
    for (let byte = 0; byte < rowBytes; byte++) {
      let value = centres[centre * rowBytes + byte];
      for (let bit = 0; bit < 8; bit++) if (next() < flipThreshold) value ^= 1 << bit;
      codes[row * rowBytes + byte] = value;
    }
  }
  return codes;
}
