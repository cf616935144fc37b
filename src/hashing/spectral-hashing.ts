import { UserInputError } from '../config/errors';
import { packSigns, validateCodeLength, type CodeLengthBits, type PackedCodes } from './codes';
import { assertColumnCount, assertFiniteFeatures, validateTrainingFeatures, type FeatureMatrix } from './feature-matrix';
import { decodeArray, encodeArray, savedHasher, untrainedError, type Hasher, type SavedHasher, type TrainOptions, type TrainReport } from './hasher';
import { principalComponents, projectCentered } from './linear-algebra';

export interface SpectralHashingOptions {
  codeLengthBits: number;
}

interface SpectralModel {
  inputDimension: number;
  means: Float64Array;
  /** `d x principalCount` row-major PCA directions. */
  directions: Float64Array;
  principalCount: number;
  /** Lower end of the training range along each principal direction. */
  minimums: Float64Array;
  /** Principal direction that bit `j` thresholds. */
  bitDirections: Float64Array;
  /** Angular frequency of bit `j`'s eigenfunction, in radians per unit along its direction. */
  bitFrequencies: Float64Array;
}

/**
 * Spectral hashing (Weiss, Torralba and Fergus, NIPS 2008). Data are rotated
 * by PCA and assumed uniform on a box. The bits are the analytical Laplacian
 * eigenfunctions sin(π/2 + kπ(x - a)/(b - a)) of single principal directions
 * with the smallest eigenvalues, thresholded at zero. Deterministic: there is
 * no seed.
 */
export class SpectralHasher implements Hasher {
  readonly kind = 'sh';
  readonly codeLengthBits: CodeLengthBits;
  private model: SpectralModel | undefined;

  constructor(options: SpectralHashingOptions) {
    this.codeLengthBits = validateCodeLength(options.codeLengthBits);
  }

  get inputDimension(): number | undefined {
    return this.model?.inputDimension;
  }

  async train(features: FeatureMatrix, options: TrainOptions = {}): Promise<TrainReport> {
    const startedAt = Date.now();
    validateTrainingFeatures(features, { minimumRowCount: this.codeLengthBits + 1, codeLengthBits: this.codeLengthBits });

    const bits = this.codeLengthBits;
    const principalCount = Math.min(bits, features.columnCount);
    const pca = principalComponents(features, principalCount);
    const projected = projectCentered(features, pca.means, pca.directions, principalCount);

    // A small margin keeps training points strictly inside the box, as in
    // the reference MATLAB code.
    const margin = 1e-10;
    const minimums = new Float64Array(principalCount).fill(Infinity);
    const maximums = new Float64Array(principalCount).fill(-Infinity);
    for (let row = 0; row < features.rowCount; row++) {
      for (let k = 0; k < principalCount; k++) {
        const value = projected[row * principalCount + k];
        minimums[k] = Math.min(minimums[k], value);
        maximums[k] = Math.max(maximums[k], value);
      }
    }
    const ranges = new Float64Array(principalCount);
    for (let k = 0; k < principalCount; k++) {
      minimums[k] -= margin;
      ranges[k] = maximums[k] + margin - minimums[k];
    }

    const { bitDirections, bitFrequencies } = selectEigenfunctions(ranges, bits);
    this.model = { inputDimension: features.columnCount, means: pca.means, directions: pca.directions, principalCount, minimums, bitDirections, bitFrequencies };

    const report: TrainReport = { kind: this.kind, codeLengthBits: bits, trainingRowCount: features.rowCount, durationMs: Date.now() - startedAt, lossHistory: [] };
    options.logger?.info({ kind: this.kind, codeLengthBits: bits, trainingRowCount: features.rowCount, durationMs: report.durationMs }, 'hasher trained');
    return report;
  }

  async encode(features: FeatureMatrix): Promise<PackedCodes> {
    const model = this.requireModel('encode');
    assertColumnCount(features, model.inputDimension);
    assertFiniteFeatures(features, 'features to encode');

    const bits = this.codeLengthBits;
    const projected = projectCentered(features, model.means, model.directions, model.principalCount);
    const values = new Float64Array(features.rowCount * bits);
    for (let row = 0; row < features.rowCount; row++) {
      for (let bit = 0; bit < bits; bit++) {
        const direction = model.bitDirections[bit];
        const offset = projected[row * model.principalCount + direction] - model.minimums[direction];
        values[row * bits + bit] = Math.sin(Math.PI / 2 + model.bitFrequencies[bit] * offset);
      }
    }
    return packSigns(values, features.rowCount, bits);
  }

  save(): SavedHasher {
    const model = this.requireModel('save');
    return savedHasher(this, model.inputDimension, {
      principalCount: model.principalCount,
      means: encodeArray(model.means),
      directions: encodeArray(model.directions),
      minimums: encodeArray(model.minimums),
      bitDirections: encodeArray(model.bitDirections),
      bitFrequencies: encodeArray(model.bitFrequencies),
    });
  }

  /** Replaces the model with one read from a SavedHasher of kind `sh`. */
  restore(saved: SavedHasher): void {
    const principalCount = saved.parameters.principalCount;
    if (typeof principalCount !== 'number') {
      throw new UserInputError('saved sh hasher lacks principalCount. The file is corrupt or from another tool');
    }
    this.model = {
      inputDimension: saved.inputDimension,
      principalCount,
      means: Float64Array.from(decodeArray(saved.parameters.means, 'means')),
      directions: Float64Array.from(decodeArray(saved.parameters.directions, 'directions')),
      minimums: Float64Array.from(decodeArray(saved.parameters.minimums, 'minimums')),
      bitDirections: Float64Array.from(decodeArray(saved.parameters.bitDirections, 'bitDirections')),
      bitFrequencies: Float64Array.from(decodeArray(saved.parameters.bitFrequencies, 'bitFrequencies')),
    };
  }

  private requireModel(action: string): SpectralModel {
    if (this.model === undefined) {
      throw untrainedError(this.kind, action);
    }
    return this.model;
  }
}

/**
 * Picks the `bits` single-direction eigenfunctions with the smallest
 * eigenvalues. Mode k ≥ 1 along a direction with range r has frequency kπ/r
 * and eigenvalue proportional to -(kπ/r)². The trivial mode k = 0 is skipped.
 * Ties go to the lower direction index, then the lower mode.
 */
function selectEigenfunctions(ranges: Float64Array, bits: number): { bitDirections: Float64Array; bitFrequencies: Float64Array } {
  const largestRange = Math.max(...ranges);
  const candidates: { direction: number; mode: number; frequency: number }[] = [];
  ranges.forEach((range, direction) => {
    const maximumMode = Math.ceil(((bits + 1) * range) / largestRange);
    for (let mode = 1; mode <= maximumMode; mode++) {
      candidates.push({ direction, mode, frequency: (mode * Math.PI) / range });
    }
  });
  candidates.sort((a, b) => a.frequency - b.frequency || a.direction - b.direction || a.mode - b.mode);

  const chosen = candidates.slice(0, bits);
  return {
    bitDirections: Float64Array.from(chosen, (candidate) => candidate.direction),
    bitFrequencies: Float64Array.from(chosen, (candidate) => candidate.frequency),
  };
}
