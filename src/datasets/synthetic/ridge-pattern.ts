import type { Random } from '../../imaging/random';

/** Number of orientation bins with a precomputed Gabor kernel each. */
const ORIENTATION_BINS = 24;

/**
 * Builds one even-symmetric Gabor kernel per orientation bin. A kernel for
 * ridge orientation θ oscillates across the ridges (along θ + π/2) with the
 * ridge period and is smooth along them.
 */
function buildGaborKernels(periodPx: number, radiusPx: number): Float32Array[] {
  const size = 2 * radiusPx + 1;
  const sigmaAcross = periodPx * 0.45;
  const sigmaAlong = periodPx * 0.6;
  const kernels: Float32Array[] = [];
  for (let bin = 0; bin < ORIENTATION_BINS; bin++) {
    const theta = (bin * Math.PI) / ORIENTATION_BINS;
    const alongX = Math.cos(theta);
    const alongY = Math.sin(theta);
    const kernel = new Float32Array(size * size);
    let mean = 0;
    for (let dy = -radiusPx; dy <= radiusPx; dy++) {
      for (let dx = -radiusPx; dx <= radiusPx; dx++) {
        const along = dx * alongX + dy * alongY;
        const across = -dx * alongY + dy * alongX;
        const envelope = Math.exp(-(along * along) / (2 * sigmaAlong * sigmaAlong) - (across * across) / (2 * sigmaAcross * sigmaAcross));
        const value = envelope * Math.cos((2 * Math.PI * across) / periodPx);
        kernel[(dy + radiusPx) * size + dx + radiusPx] = value;
        mean += value;
      }
    }
    // Remove the DC response so flat regions stay at zero.
    mean /= size * size;
    let energy = 0;
    for (let i = 0; i < kernel.length; i++) {
      kernel[i] -= mean;
      energy += Math.abs(kernel[i]);
    }
    for (let i = 0; i < kernel.length; i++) kernel[i] /= energy / 4;
    kernels.push(kernel);
  }
  return kernels;
}

function orientationBin(angle: number): number {
  const normalized = ((angle % Math.PI) + Math.PI) % Math.PI;
  return Math.round((normalized / Math.PI) * ORIENTATION_BINS) % ORIENTATION_BINS;
}

/**
 * Grows ridges by oriented filtering of noise, as in SFinGe: start from
 * sparse random noise, then repeatedly filter every pixel with the Gabor
 * kernel of its local orientation and squash the result into [−1, 1].
 * Returns ridge values in [−1, 1], where −1 is a ridge (dark) and 1 a valley.
 */
export function growRidgePattern(options: { orientation: Float32Array; widthPx: number; heightPx: number; periodPx: number; iterations: number; random: Random }): Float32Array {
  const { orientation, widthPx, heightPx, periodPx, iterations, random } = options;
  const radiusPx = Math.ceil(periodPx * 0.75);
  const kernels = buildGaborKernels(periodPx, radiusPx);
  const size = 2 * radiusPx + 1;
  const bins = new Uint8Array(widthPx * heightPx);
  for (let i = 0; i < bins.length; i++) bins[i] = orientationBin(orientation[i]);

  let current = new Float32Array(widthPx * heightPx);
  // Seed about 2% of the pixels with ±1 impulses; the filter grows ridges from them.
  for (let i = 0; i < current.length; i++) {
    if (random.next() >= 0.02) continue;
    current[i] = random.next() < 0.5 ? -1 : 1;
  }

  // Filter a copy padded by the kernel radius, so the inner loop needs no bounds checks.
  const paddedWidth = widthPx + 2 * radiusPx;
  const padded = new Float32Array(paddedWidth * (heightPx + 2 * radiusPx));
  for (let iteration = 0; iteration < iterations; iteration++) {
    for (let y = 0; y < heightPx; y++) padded.set(current.subarray(y * widthPx, (y + 1) * widthPx), (y + radiusPx) * paddedWidth + radiusPx);
    const next = new Float32Array(widthPx * heightPx);
    for (let y = 0; y < heightPx; y++) {
      for (let x = 0; x < widthPx; x++) {
        const kernel = kernels[bins[y * widthPx + x]];
        let sum = 0;
        for (let ky = 0; ky < size; ky++) {
          const rowOffset = (y + ky) * paddedWidth + x;
          const kernelOffset = ky * size;
          for (let kx = 0; kx < size; kx++) sum += kernel[kernelOffset + kx] * padded[rowOffset + kx];
        }
        next[y * widthPx + x] = Math.tanh(2.5 * sum);
      }
    }
    current = next;
  }
  return current;
}
