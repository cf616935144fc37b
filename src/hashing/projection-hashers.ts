import { UserInputError } from '../config/errors';
import { packSigns, validateCodeLength, type CodeLengthBits, type PackedCodes } from './codes';
import { assertColumnCount, assertFiniteFeatures, validateTrainingFeatures, type FeatureMatrix } from './feature-matrix';
import {
  encodeArray,
  savedHasher,
  decodeArray,
  untrainedError,
  type Hasher,
  type HasherKind,
  type SavedHasher,
  type TrainOptions,
  type TrainReport,
} from './hasher';
import {
  columnMeans,
  gaussianMatrix,
  multiply,
  multiplyTransposed,
  orthonormalizeColumns,
  principalComponents,
  procrustesRotation,
  projectCentered,
  randomOrthogonalMatrix,
} from './linear-algebra';
import { SeededRandom } from './random';

export interface ProjectionHasherOptions {
  codeLengthBits: number;
  /** Seed of every random choice in training. Default 0. */
  seed?: number;
}

export interface RandomProjectionOptions extends ProjectionHasherOptions {
  /**
   * Subtract the training mean before projecting (default true). Without it
   * the hash is the classic sign-random-projection (SimHash) of the raw
   * vector, whose collision probability is 1 - angle / pi.
   */
  centerFeatures?: boolean;
}

export interface ItqOptions extends ProjectionHasherOptions {
  /** Alternating B/R updates. Default 50, the value Gong and Lazebnik (CVPR 2011) use. */
  iterationCount?: number;
}

interface ProjectionModel {
  inputDimension: number;
  means: Float64Array;
  /** `d x codeLengthBits` row-major. */
  projection: Float64Array;
}

interface FittedProjection {
  means: Float64Array;
  projection: Float64Array;
  lossHistory: number[];
  extraParameters?: SavedHasher['parameters'];
}

/**
 * Hashers whose bit `j` is `sign((x - means) · projection[:, j])`, with bit 1
 * for values >= 0. Subclasses differ only in how they fit the projection.
 */
abstract class ProjectionHasher implements Hasher {
  abstract readonly kind: HasherKind;
  readonly codeLengthBits: CodeLengthBits;
  protected readonly seed: number;
  private model: ProjectionModel | undefined;
  private extraParameters: SavedHasher['parameters'] = {};

  constructor(options: ProjectionHasherOptions) {
    this.codeLengthBits = validateCodeLength(options.codeLengthBits);
    this.seed = options.seed ?? 0;
  }

  get inputDimension(): number | undefined {
    return this.model?.inputDimension;
  }

  /** Rows the fit needs: PCA-based hashers need one more row than bits for a full-rank covariance. */
  protected minimumTrainingRows(): number {
    return this.codeLengthBits;
  }

  protected abstract fit(features: FeatureMatrix): FittedProjection;

  async train(features: FeatureMatrix, options: TrainOptions = {}): Promise<TrainReport> {
    const startedAt = Date.now();
    validateTrainingFeatures(features, { minimumRowCount: this.minimumTrainingRows(), codeLengthBits: this.codeLengthBits });

    const fitted = this.fit(features);
    this.model = { inputDimension: features.columnCount, means: fitted.means, projection: fitted.projection };
    this.extraParameters = fitted.extraParameters ?? {};

    const report: TrainReport = {
      kind: this.kind,
      codeLengthBits: this.codeLengthBits,
      trainingRowCount: features.rowCount,
      durationMs: Date.now() - startedAt,
      lossHistory: fitted.lossHistory,
    };
    options.logger?.info({ kind: this.kind, codeLengthBits: this.codeLengthBits, trainingRowCount: features.rowCount, durationMs: report.durationMs }, 'hasher trained');
    return report;
  }

  async encode(features: FeatureMatrix): Promise<PackedCodes> {
    const model = this.requireModel('encode');
    assertColumnCount(features, model.inputDimension);
    assertFiniteFeatures(features, 'features to encode');
    const projected = projectCentered(features, model.means, model.projection, this.codeLengthBits);
    return packSigns(projected, features.rowCount, this.codeLengthBits);
  }

  save(): SavedHasher {
    const model = this.requireModel('save');
    return savedHasher(this, model.inputDimension, { ...this.extraParameters, means: encodeArray(model.means), projection: encodeArray(model.projection) });
  }

  /** Replaces the model with one read from a SavedHasher of the same kind. */
  restore(saved: SavedHasher): void {
    const means = Float64Array.from(decodeArray(saved.parameters.means, 'means'));
    const projection = Float64Array.from(decodeArray(saved.parameters.projection, 'projection'));
    if (means.length !== saved.inputDimension || projection.length !== saved.inputDimension * this.codeLengthBits) {
      throw new UserInputError(`saved ${this.kind} hasher has arrays that do not match inputDimension ${saved.inputDimension} and ${this.codeLengthBits} bits. The file is corrupt`);
    }
    const extraParameters = { ...saved.parameters };
    delete extraParameters.means;
    delete extraParameters.projection;
    this.extraParameters = extraParameters;
    this.model = { inputDimension: saved.inputDimension, means, projection };
  }

  private requireModel(action: string): ProjectionModel {
    if (this.model === undefined) {
      throw untrainedError(this.kind, action);
    }
    return this.model;
  }

  protected assertDimensionAtLeastBits(features: FeatureMatrix): void {
    if (features.columnCount < this.codeLengthBits) {
      throw new UserInputError(
        `${this.kind} projects onto ${this.codeLengthBits} principal directions but the features have only ${features.columnCount} dimensions: ` +
          `choose codeLengthBits <= ${features.columnCount} or use lsh, sblsh or sh`,
      );
    }
  }
}

/** Base of the random-projection hashers: features are centred unless `centerFeatures` is false. */
abstract class RandomProjectionHasher extends ProjectionHasher {
  private readonly centerFeatures: boolean;

  constructor(options: RandomProjectionOptions) {
    super(options);
    this.centerFeatures = options.centerFeatures ?? true;
  }

  /** Returns the fitted projection with the column means, or zero means without centring. */
  protected fitted(features: FeatureMatrix, projection: Float64Array): FittedProjection {
    const means = this.centerFeatures ? columnMeans(features) : new Float64Array(features.columnCount);
    return { means, projection, lossHistory: [], extraParameters: { centerFeatures: this.centerFeatures } };
  }
}

/**
 * Locality-sensitive hashing with random Gaussian projections (Charikar,
 * STOC 2002): for uncentered features two vectors at angle θ share a bit with
 * probability 1 - θ/π.
 */
export class LshHasher extends RandomProjectionHasher {
  readonly kind = 'lsh';

  protected fit(features: FeatureMatrix): FittedProjection {
    const random = new SeededRandom(this.seed);
    return this.fitted(features, gaussianMatrix(features.columnCount, this.codeLengthBits, random));
  }
}

/**
 * Super-bit LSH (Ji et al., NIPS 2012): random Gaussian projections
 * orthonormalized in batches of min(d, bits) by Gram–Schmidt, which lowers
 * the variance of the angle estimate compared with plain LSH.
 */
export class SblshHasher extends RandomProjectionHasher {
  readonly kind = 'sblsh';

  protected fit(features: FeatureMatrix): FittedProjection {
    const random = new SeededRandom(this.seed);
    const d = features.columnCount;
    const projection = gaussianMatrix(d, this.codeLengthBits, random);
    const superBitDepth = Math.min(d, this.codeLengthBits);
    for (let first = 0; first < this.codeLengthBits; first += superBitDepth) {
      orthonormalizeColumns(projection, d, this.codeLengthBits, first, Math.min(superBitDepth, this.codeLengthBits - first));
    }
    return this.fitted(features, projection);
  }
}

/** PCA hashing: the sign of each of the top `codeLengthBits` principal components. */
export class PcahHasher extends ProjectionHasher {
  readonly kind = 'pcah';

  protected override minimumTrainingRows(): number {
    return this.codeLengthBits + 1;
  }

  protected fit(features: FeatureMatrix): FittedProjection {
    this.assertDimensionAtLeastBits(features);
    const pca = principalComponents(features, this.codeLengthBits);
    return { means: pca.means, projection: pca.directions, lossHistory: [] };
  }
}

/**
 * Iterative quantization (Gong and Lazebnik, CVPR 2011): PCA to
 * `codeLengthBits` dimensions, then an orthogonal rotation R that minimizes
 * the quantization loss ‖B - VR‖²_F by alternating B = sign(VR) with the
 * Procrustes update of R.
 */
export class ItqHasher extends ProjectionHasher {
  readonly kind = 'itq';
  private readonly iterationCount: number;
  private learnedRotation: Float64Array | undefined;

  constructor(options: ItqOptions) {
    super(options);
    this.iterationCount = options.iterationCount ?? 50;
    if (!Number.isInteger(this.iterationCount) || this.iterationCount < 0) {
      throw new UserInputError(`invalid ITQ iterationCount ${options.iterationCount}: expected a non-negative integer such as 50`);
    }
  }

  /** The learned `bits x bits` rotation (row-major). Undefined until trained in this process. */
  get rotation(): Float64Array | undefined {
    return this.learnedRotation;
  }

  protected override minimumTrainingRows(): number {
    return this.codeLengthBits + 1;
  }

  protected fit(features: FeatureMatrix): FittedProjection {
    this.assertDimensionAtLeastBits(features);
    const bits = this.codeLengthBits;
    const n = features.rowCount;
    const pca = principalComponents(features, bits);
    const projected = projectCentered(features, pca.means, pca.directions, bits);

    const { rotation, lossHistory } = iterativeQuantization(projected, n, bits, this.iterationCount, new SeededRandom(this.seed));
    this.learnedRotation = rotation;
    return {
      means: pca.means,
      projection: multiply(pca.directions, rotation, features.columnCount, bits, bits),
      lossHistory,
      extraParameters: { rotation: encodeArray(rotation) },
    };
  }
}

/**
 * Runs ITQ's alternating minimization on centered, PCA-projected rows
 * (`rowCount x bits`, row-major) from a random orthogonal start. Returns the
 * rotation and lossHistory, where lossHistory[t] is min over B of
 * ‖B - V R_t‖²_F / rowCount, reached at B = sign(V R_t). Each B step and each
 * R step can only lower the loss, so the sequence does not increase.
 */
export function iterativeQuantization(
  projected: Float64Array,
  rowCount: number,
  bits: number,
  iterationCount: number,
  random: SeededRandom,
): { rotation: Float64Array; lossHistory: number[] } {
  let rotation = randomOrthogonalMatrix(bits, random);
  const signs = new Float64Array(rowCount * bits);
  const lossHistory: number[] = [];

  for (let iteration = 0; iteration <= iterationCount; iteration++) {
    const rotated = multiply(projected, rotation, rowCount, bits, bits);
    let loss = 0;
    for (let i = 0; i < rotated.length; i++) {
      signs[i] = rotated[i] >= 0 ? 1 : -1;
      loss += (signs[i] - rotated[i]) ** 2;
    }
    lossHistory.push(loss / rowCount);
    if (iteration === iterationCount) {
      break;
    }
    rotation = procrustesRotation(multiplyTransposed(signs, projected, rowCount, bits, bits), bits);
  }
  return { rotation, lossHistory };
}
