import { UserInputError } from '../config/errors';
import { createFeatureMatrix, type FeatureMatrix } from '../hashing/feature-matrix';
import type { GrayImage } from '../imaging';
import { normalizeFeatureRow } from './features';

export interface GaborEnergyOptions {
  /** Cells per side of the square grid that the energies are averaged over. */
  gridCells: number;
  /** Filter orientations, evenly spaced over [0°, 180°). */
  orientationCount: number;
  /** Wavelength of each filter bank, in pixels: the ridge period it responds to most. */
  wavelengthsPx: number[];
  /** Standard deviation of the Gaussian envelope as a multiple of the wavelength. Default 0.5. */
  envelopeSigmaPerWavelength?: number;
  /** Filter responses are evaluated on every `sampleStepPx`-th pixel in x and y. Default 2. */
  sampleStepPx?: number;
}

/**
 * Gabor filter-bank energy per grid cell, in the manner of FingerCode, which
 * averages Gabor filter responses over sectors around the core point. Here
 * the sectors are the cells of a square grid on the whole image.
 *
 * Each image is read as ink (1 − gray / 255, so white background is 0) and
 * filtered with complex Gabor kernels exp(−r² / 2σ²) · exp(i·2π/λ · (x cos θ
 * + y sin θ)). The feature of a cell is the mean response magnitude over the
 * sampled pixels in it, which does not depend on the ridge phase. θ is the
 * direction across the ridges, so a filter responds most to ridges running
 * at θ + 90°. Values are ordered by cell (row-major), then wavelength, then
 * orientation θ_k = k · 180° / orientationCount. Each row is centred and
 * scaled to unit L2 norm, like orientationFieldFeatures.
 */
export function gaborEnergyFeatures(images: GrayImage[], options: GaborEnergyOptions): FeatureMatrix {
  validateGaborOptions(options);
  const filters = buildFilterBank(options);
  const valuesPerCell = filters.length;
  const dimension = options.gridCells * options.gridCells * valuesPerCell;
  const data = new Float32Array(images.length * dimension);
  images.forEach((image, row) => {
    const cells = data.subarray(row * dimension, (row + 1) * dimension);
    accumulateCellEnergy(image, filters, options, cells);
    normalizeFeatureRow(cells);
  });
  return createFeatureMatrix(data, images.length, dimension);
}

function validateGaborOptions(options: GaborEnergyOptions): void {
  const positiveInteger = (name: string, value: number): void => {
    if (!Number.isInteger(value) || value < 1) throw new UserInputError(`invalid Gabor option ${name} ${value}: expected a positive integer`);
  };
  positiveInteger('gridCells', options.gridCells);
  positiveInteger('orientationCount', options.orientationCount);
  positiveInteger('sampleStepPx', options.sampleStepPx ?? 2);
  if (options.wavelengthsPx.length === 0) throw new UserInputError('invalid Gabor option wavelengthsPx []: expected at least one wavelength in pixels, such as [4]');
  for (const wavelength of options.wavelengthsPx) {
    // Below 2 px per period the wave aliases on the pixel grid.
    if (!(wavelength >= 2)) throw new UserInputError(`invalid Gabor wavelength ${wavelength} px: expected at least 2 px`);
  }
  const sigma = options.envelopeSigmaPerWavelength ?? 0.5;
  if (!(sigma > 0)) throw new UserInputError(`invalid Gabor option envelopeSigmaPerWavelength ${sigma}: expected a positive number such as 0.5`);
}

/**
 * One separable complex Gabor kernel: because the Gaussian envelope is
 * isotropic, the 2-D kernel is the product of a kernel in x and one in y.
 */
interface SeparableFilter {
  radiusPx: number;
  /** Real and imaginary taps in x, index t + radiusPx for offset t. */
  xReal: Float64Array;
  xImaginary: Float64Array;
  yReal: Float64Array;
  yImaginary: Float64Array;
}

function buildFilterBank(options: GaborEnergyOptions): SeparableFilter[] {
  const sigmaPerWavelength = options.envelopeSigmaPerWavelength ?? 0.5;
  const filters: SeparableFilter[] = [];
  for (const wavelength of options.wavelengthsPx) {
    const sigma = sigmaPerWavelength * wavelength;
    const radiusPx = Math.ceil(3 * sigma);
    for (let k = 0; k < options.orientationCount; k++) {
      const theta = (k * Math.PI) / options.orientationCount;
      const frequencyX = ((2 * Math.PI) / wavelength) * Math.cos(theta);
      const frequencyY = ((2 * Math.PI) / wavelength) * Math.sin(theta);
      const taps = 2 * radiusPx + 1;
      const filter: SeparableFilter = {
        radiusPx,
        xReal: new Float64Array(taps),
        xImaginary: new Float64Array(taps),
        yReal: new Float64Array(taps),
        yImaginary: new Float64Array(taps),
      };
      for (let t = -radiusPx; t <= radiusPx; t++) {
        const envelope = Math.exp(-(t * t) / (2 * sigma * sigma));
        filter.xReal[t + radiusPx] = envelope * Math.cos(frequencyX * t);
        filter.xImaginary[t + radiusPx] = envelope * Math.sin(frequencyX * t);
        filter.yReal[t + radiusPx] = envelope * Math.cos(frequencyY * t);
        filter.yImaginary[t + radiusPx] = envelope * Math.sin(frequencyY * t);
      }
      filters.push(filter);
    }
  }
  return filters;
}

/** Writes the mean response magnitude of every filter in every cell into `cells` (layout documented on gaborEnergyFeatures). */
function accumulateCellEnergy(image: GrayImage, filters: SeparableFilter[], options: GaborEnergyOptions, cells: Float32Array): void {
  const { widthPx, heightPx, pixels } = image;
  const { gridCells } = options;
  const step = options.sampleStepPx ?? 2;
  const ink = new Float64Array(widthPx * heightPx);
  for (let index = 0; index < ink.length; index++) ink[index] = 1 - pixels[index] / 255;

  const sampledColumns = Math.ceil(widthPx / step);
  const sampledRows = Math.ceil(heightPx / step);
  const cellOfColumn = Int32Array.from({ length: sampledColumns }, (_, i) => Math.min(gridCells - 1, Math.floor((i * step * gridCells) / widthPx)));
  const cellOfRow = Int32Array.from({ length: sampledRows }, (_, j) => Math.min(gridCells - 1, Math.floor((j * step * gridCells) / heightPx)));
  const samplesPerCell = new Float64Array(gridCells * gridCells);
  for (let j = 0; j < sampledRows; j++) for (let i = 0; i < sampledColumns; i++) samplesPerCell[cellOfRow[j] * gridCells + cellOfColumn[i]]++;

  // Response of the x kernel at every row and every sampled column.
  const rowReal = new Float64Array(heightPx * sampledColumns);
  const rowImaginary = new Float64Array(heightPx * sampledColumns);
  const valuesPerCell = filters.length;
  filters.forEach((filter, filterIndex) => {
    const { radiusPx, xReal, xImaginary, yReal, yImaginary } = filter;

    for (let y = 0; y < heightPx; y++) {
      for (let i = 0; i < sampledColumns; i++) {
        const x = i * step;
        let real = 0;
        let imaginary = 0;
        const first = Math.max(-radiusPx, -x);
        const last = Math.min(radiusPx, widthPx - 1 - x);
        for (let t = first; t <= last; t++) {
          const value = ink[y * widthPx + x + t];
          real += value * xReal[t + radiusPx];
          imaginary += value * xImaginary[t + radiusPx];
        }
        rowReal[y * sampledColumns + i] = real;
        rowImaginary[y * sampledColumns + i] = imaginary;
      }
    }

    for (let j = 0; j < sampledRows; j++) {
      const y = j * step;
      const first = Math.max(-radiusPx, -y);
      const last = Math.min(radiusPx, heightPx - 1 - y);
      for (let i = 0; i < sampledColumns; i++) {
        let real = 0;
        let imaginary = 0;
        for (let t = first; t <= last; t++) {
          const a = rowReal[(y + t) * sampledColumns + i];
          const b = rowImaginary[(y + t) * sampledColumns + i];
          const c = yReal[t + radiusPx];
          const d = yImaginary[t + radiusPx];
          real += a * c - b * d;
          imaginary += a * d + b * c;
        }
        const cell = cellOfRow[j] * gridCells + cellOfColumn[i];
        cells[cell * valuesPerCell + filterIndex] += Math.hypot(real, imaginary);
      }
    }
  });

  for (let cell = 0; cell < samplesPerCell.length; cell++) {
    for (let filterIndex = 0; filterIndex < valuesPerCell; filterIndex++) {
      if (samplesPerCell[cell] > 0) cells[cell * valuesPerCell + filterIndex] /= samplesPerCell[cell];
    }
  }
}
