/**
 * A seeded pseudo-random generator (sfc32, a small fast counter generator),
 * so that preprocessing, augmentation, splits and synthetic data repeat
 * exactly for the same seed on every platform.
 */
export interface Random {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, maxExclusive). */
  integer(maxExclusive: number): number;
  /** Uniform float in [min, max). */
  uniform(min: number, max: number): number;
  /** Standard normal sample (Box–Muller). */
  normal(): number;
}

/** Hashes a string to 32 bits (FNV-1a), to derive seeds from names. */
export function hashString32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Creates a generator from a numeric seed or a string such as `${seed}/finger-12`. */
export function createRandom(seed: number | string): Random {
  const seedText = String(seed);
  let a = hashString32(`a:${seedText}`);
  let b = hashString32(`b:${seedText}`);
  let c = hashString32(`c:${seedText}`);
  let counter = 1;
  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + counter) | 0;
    counter = (counter + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextUint32();

  const next = (): number => nextUint32() / 4294967296;
  return {
    next,
    integer: (maxExclusive) => Math.floor(next() * maxExclusive),
    uniform: (min, max) => min + (max - min) * next(),
    normal: () => {
      const u = Math.max(next(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
  };
}
