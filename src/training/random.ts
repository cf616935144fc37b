/**
 * A seeded generator whose whole state is one 32-bit integer (mulberry32),
 * so a training loop can store it in a checkpoint and continue the same
 * sequence after a resume.
 */
export class TrainingRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) {
      throw new Error(`invalid seed ${seed}: expected an integer`);
    }
    this.state = (seed ^ 0x9e3779b9) >>> 0;
  }

  /** Restores a generator from a state returned by `getState`. */
  static fromState(state: number): TrainingRandom {
    const random = new TrainingRandom(0);
    random.setState(state);
    return random;
  }

  getState(): number {
    return this.state;
  }

  setState(state: number): void {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) {
      throw new Error(`invalid random state ${state}: expected an unsigned 32-bit integer`);
    }
    this.state = state;
  }

  /** Returns a uniform number in [0, 1). */
  nextUniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Returns an integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number {
    return Math.floor(this.nextUniform() * maxExclusive);
  }

  /** Returns an unsigned 31-bit integer, suitable as a seed for tfjs random ops. */
  nextSeed(): number {
    return this.nextInt(0x7fffffff);
  }

  /** Returns the indices 0..count-1 in a random order (Fisher–Yates). */
  permutation(count: number): number[] {
    const order = Array.from({ length: count }, (_, index) => index);
    for (let i = count - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    return order;
  }
}

/**
 * Returns the sample order for one epoch, derived from the run seed and the
 * epoch index alone, so an epoch that is repeated after a resume gets the
 * same batches as the first time.
 */
export function epochShuffle(options: { seed: number; epoch: number; sampleCount: number }): number[] {
  const { seed, epoch, sampleCount } = options;
  if (!Number.isInteger(epoch) || epoch < 0) {
    throw new Error(`invalid epoch ${epoch}: expected a non-negative integer`);
  }
  if (!Number.isInteger(sampleCount) || sampleCount < 0) {
    throw new Error(`invalid sampleCount ${sampleCount}: expected a non-negative integer`);
  }
  const random = new TrainingRandom((seed + Math.imul(epoch + 1, 0x85ebca6b)) | 0);
  return random.permutation(sampleCount);
}
