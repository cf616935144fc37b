import * as tf from '@tensorflow/tfjs';
import { UserInputError } from '../config/errors';
import { packSigns, validateCodeLength, type CodeLengthBits, type PackedCodes } from './codes';
import { assertColumnCount, assertFiniteFeatures, validateTrainingFeatures, type FeatureMatrix } from './feature-matrix';
import { decodeArray, encodeArray, savedHasher, savedNumber, untrainedError, type Hasher, type SavedHasher, type TrainOptions, type TrainReport } from './hasher';
import { multiply, principalComponents, projectCentered } from './linear-algebra';
import { iterativeQuantization } from './projection-hashers';
import { SeededRandom } from './random';

/** Weights of the terms in the deep hashing objective. See DeepHasher. */
export interface DeepHashingLossWeights {
  /** Quantization loss mean((B - H)²), B = sign(H). Default 1. */
  quantization: number;
  /** Bit balance: mean over bits of (mean over rows of H)². Default 0.5. */
  balance: number;
  /** Bit independence: ‖HᵀH/N - I‖²_F / bits². Default 0.5. */
  independence: number;
  /** Variance of each bit's output, subtracted to reward informative bits (the λ1 term of Liong et al.). Default 0.1. */
  variance: number;
  /** L2 penalty on all weights and biases. Default 1e-4. */
  weightDecay: number;
  /**
   * supervised-dh only: mean squared distance between outputs of rows with the
   * same label minus `separationRatio` times that of rows with different
   * labels, both divided by 4·bits so they lie in [0, 1]. Default 1.
   */
  supervision: number;
}

export interface DeepHashingOptions {
  codeLengthBits: number;
  /** Seed of weight initialization and batch order. Default 0. */
  seed?: number;
  /**
   * Input features are centered and projected onto this many principal
   * directions before the network. Default min(feature dimension,
   * max(128, codeLengthBits)). Must be at least codeLengthBits with the ITQ
   * warm start.
   */
  inputPrincipalComponentCount?: number;
  /**
   * Widths of the tanh hidden layers. Default one layer as wide as the PCA
   * input. With the ITQ warm start every width must equal the PCA input
   * dimension, because those layers start near the identity.
   */
  hiddenLayerSizes?: number[];
  /**
   * `itq` (default) starts the hidden layers near the identity and the top
   * layer at the ITQ projection of the PCA input, so training refines ITQ's
   * codes. `random` draws Glorot-uniform weights, as in the original method.
   */
  initialization?: 'itq' | 'random';
  epochCount?: number;
  batchSize?: number;
  /** Adam step size. Default 1e-3. */
  learningRate?: number;
  lossWeights?: Partial<DeepHashingLossWeights>;
  /** supervised-dh only: weight of the push-apart term against the pull-together term. Default 1. */
  separationRatio?: number;
}

const DEFAULT_LOSS_WEIGHTS: DeepHashingLossWeights = {
  quantization: 1,
  balance: 0.5,
  independence: 0.5,
  variance: 0.1,
  weightDecay: 1e-4,
  supervision: 1,
};

/** Slope of the hidden tanh layers at the ITQ warm start: tanh(0.5·x)/0.5 stays close to x for |x| ≲ 1. */
const WARM_START_HIDDEN_GAIN = 0.5;

/** Scale of the warm-started top layer, so that H = tanh(3·ITQ projection) starts mostly saturated. */
const WARM_START_OUTPUT_GAIN = 3;

const ENCODE_BATCH_ROWS = 4096;

interface DenseLayer {
  weights: tf.Variable<tf.Rank.R2>;
  bias: tf.Variable<tf.Rank.R1>;
}

interface DeepModel {
  inputDimension: number;
  means: Float64Array;
  /** `d x p` row-major PCA directions. */
  directions: Float64Array;
  principalCount: number;
  /** Multiplier applied after PCA so the first principal component has unit standard deviation. */
  inputScale: number;
  layers: DenseLayer[];
}

/**
 * Deep hashing after Liong, Lu, Wang, Moulin and Zhou ("Deep Hashing for
 * Compact Binary Codes Learning", CVPR 2015): a stack of tanh layers whose
 * top layer H gives the codes B = sign(H). Training minimizes, over
 * mini-batches with Adam, a weighted sum of the quantization loss ‖B - H‖²,
 * bit balance, bit independence (HᵀH/N close to I), a variance reward and
 * weight decay. The `supervised` variant adds a term that pulls outputs of
 * rows with the same label together and pushes different labels apart.
 *
 * Inputs are PCA-reduced first (see inputPrincipalComponentCount). Runs on
 * whatever tfjs backend is active. It never selects one.
 */
export class DeepHasher implements Hasher {
  readonly kind: 'dh' | 'supervised-dh';
  readonly codeLengthBits: CodeLengthBits;
  private readonly options: DeepHashingOptions;
  private readonly lossWeights: DeepHashingLossWeights;
  private model: DeepModel | undefined;

  constructor(options: DeepHashingOptions & { supervised?: boolean }) {
    this.kind = options.supervised === true ? 'supervised-dh' : 'dh';
    this.codeLengthBits = validateCodeLength(options.codeLengthBits);
    this.options = options;
    this.lossWeights = { ...DEFAULT_LOSS_WEIGHTS, ...options.lossWeights };
    validatePositiveInteger('epochCount', options.epochCount);
    validatePositiveInteger('batchSize', options.batchSize);
    validatePositiveInteger('inputPrincipalComponentCount', options.inputPrincipalComponentCount);
    if (options.learningRate !== undefined && !(options.learningRate > 0)) {
      throw new UserInputError(`invalid learningRate ${options.learningRate}: expected a positive number such as 1e-3`);
    }
    if (options.initialization !== undefined && !['itq', 'random'].includes(options.initialization)) {
      throw new UserInputError(`invalid initialization "${String(options.initialization)}": expected 'itq' or 'random'`);
    }
    for (const size of options.hiddenLayerSizes ?? []) {
      validatePositiveInteger('hiddenLayerSizes entry', size);
    }
  }

  get inputDimension(): number | undefined {
    return this.model?.inputDimension;
  }

  async train(features: FeatureMatrix, options: TrainOptions = {}): Promise<TrainReport> {
    const startedAt = Date.now();
    const bits = this.codeLengthBits;
    validateTrainingFeatures(features, { minimumRowCount: bits + 1, codeLengthBits: bits });
    const labels = this.kind === 'supervised-dh' ? validateLabels(options.labels, features.rowCount) : undefined;

    const principalCount = this.options.inputPrincipalComponentCount ?? Math.min(features.columnCount, Math.max(128, bits));
    if (principalCount > features.columnCount) {
      throw new UserInputError(`inputPrincipalComponentCount ${principalCount} exceeds the feature dimension ${features.columnCount}. Choose at most ${features.columnCount}`);
    }
    const initialization = this.options.initialization ?? 'itq';
    if (initialization === 'itq' && principalCount < bits) {
      throw new UserInputError(
        `the ITQ warm start needs inputPrincipalComponentCount >= ${bits} bits but it is ${principalCount}: raise it, or set initialization to 'random'`,
      );
    }
    const hiddenLayerSizes = this.options.hiddenLayerSizes ?? [principalCount];
    if (initialization === 'itq' && hiddenLayerSizes.some((size) => size !== principalCount)) {
      throw new UserInputError(
        `the ITQ warm start needs every hidden layer as wide as the PCA input (${principalCount}) but hiddenLayerSizes is [${hiddenLayerSizes.join(', ')}]: ` +
          "change the sizes, or set initialization to 'random'",
      );
    }

    const pca = principalComponents(features, principalCount);
    const inputScale = 1 / Math.sqrt(Math.max(pca.variances[0], Number.MIN_VALUE));
    const inputs = projectCentered(features, pca.means, pca.directions, principalCount).map((value) => value * inputScale);

    const random = new SeededRandom(this.options.seed ?? 0);
    this.disposeModel();
    const layerSizes = [principalCount, ...hiddenLayerSizes, bits];
    const layers =
      initialization === 'itq'
        ? warmStartLayers(inputs, features.rowCount, layerSizes, random)
        : glorotLayers(layerSizes, random);
    this.model = { inputDimension: features.columnCount, means: pca.means, directions: pca.directions, principalCount, inputScale, layers };

    const lossHistory = await this.optimize(Float32Array.from(inputs), features.rowCount, labels, random, options);
    const report: TrainReport = { kind: this.kind, codeLengthBits: bits, trainingRowCount: features.rowCount, durationMs: Date.now() - startedAt, lossHistory };
    options.logger?.info({ kind: this.kind, codeLengthBits: bits, trainingRowCount: features.rowCount, durationMs: report.durationMs, finalLoss: lossHistory.at(-1) }, 'hasher trained');
    return report;
  }

  private async optimize(
    inputs: Float32Array,
    rowCount: number,
    labels: Int32Array | undefined,
    random: SeededRandom,
    options: TrainOptions,
  ): Promise<number[]> {
    const model = this.requireModel('train');
    const epochCount = this.options.epochCount ?? 30;
    const batchSize = Math.min(this.options.batchSize ?? 256, rowCount);
    const optimizer = tf.train.adam(this.options.learningRate ?? 1e-3);
    const variables = model.layers.flatMap((layer) => [layer.weights, layer.bias]);
    const order = Int32Array.from({ length: rowCount }, (_, index) => index);
    const p = model.principalCount;
    const lossHistory: number[] = [];

    try {
      for (let epoch = 0; epoch < epochCount; epoch++) {
        random.shuffle(order);
        let lossSum = 0;
        let batchCount = 0;
        // The last partial batch is dropped so that batch statistics
        // (balance, independence) always see batchSize rows.
        // NOTE: batches are uniform samples, so with many identities and few
        // impressions each, a batch contains few same-label pairs and the
        // supervised pull-together term gets little signal.
        for (let start = 0; start + batchSize <= rowCount; start += batchSize) {
          const batchInputs = new Float32Array(batchSize * p);
          const batchLabels = labels === undefined ? undefined : new Int32Array(batchSize);
          for (let i = 0; i < batchSize; i++) {
            const row = order[start + i];
            batchInputs.set(inputs.subarray(row * p, (row + 1) * p), i * p);
            if (batchLabels !== undefined && labels !== undefined) {
              batchLabels[i] = labels[row];
            }
          }

          const x = tf.tensor2d(batchInputs, [batchSize, p]);
          const sameLabel = batchLabels === undefined ? undefined : sameLabelMask(batchLabels);
          const cost = optimizer.minimize(() => this.objective(x, sameLabel), true, variables);
          x.dispose();
          sameLabel?.dispose();
          if (cost !== null) {
            lossSum += (await cost.data())[0];
            cost.dispose();
          }
          batchCount++;
        }
        lossHistory.push(lossSum / Math.max(1, batchCount));
        options.logger?.debug({ kind: this.kind, codeLengthBits: this.codeLengthBits, epoch, loss: lossHistory.at(-1) }, 'deep hashing epoch finished');
      }
    } finally {
      optimizer.dispose();
    }
    return lossHistory;
  }

  /** Computes the training objective on one batch. `sameLabel` is the m x m same-label mask, given only for supervised-dh. */
  private objective(x: tf.Tensor2D, sameLabel: tf.Tensor2D | undefined): tf.Scalar {
    const weights = this.lossWeights;
    const bits = this.codeLengthBits;
    const rowCount = x.shape[0];
    const h = this.forward(x);
    const b = tf.sign(h);

    const quantization = tf.mean(tf.square(tf.sub(b, h)));
    const bitMeans = tf.mean(h, 0);
    const balance = tf.mean(tf.square(bitMeans));
    const gram = tf.div(tf.matMul(h, h, true, false), rowCount);
    const independence = tf.div(tf.sum(tf.square(tf.sub(gram, tf.eye(bits)))), bits * bits);
    const variance = tf.mean(tf.sub(tf.mean(tf.square(h), 0), tf.square(bitMeans)));
    const weightNorm = tf.addN(this.requireModel('train').layers.flatMap((layer) => [tf.sum(tf.square(layer.weights)), tf.sum(tf.square(layer.bias))]));

    let total = tf.addN([
      tf.mul(weights.quantization, quantization),
      tf.mul(weights.balance, balance),
      tf.mul(weights.independence, independence),
      tf.mul(-weights.variance, variance),
      tf.mul(weights.weightDecay, weightNorm),
    ]);

    if (sameLabel !== undefined) {
      // Squared distances ‖h_i - h_j‖² = ‖h_i‖² + ‖h_j‖² - 2 h_i·h_j lie in [0, 4·bits].
      const squaredNorms = tf.sum(tf.square(h), 1, true);
      const distances = tf.div(tf.sub(tf.add(squaredNorms, tf.transpose(squaredNorms)), tf.mul(2, tf.matMul(h, h, false, true))), 4 * bits);
      const offDiagonal = tf.sub(tf.onesLike(sameLabel), tf.eye(rowCount));
      const samePairs = tf.mul(sameLabel, offDiagonal);
      const differentPairs = tf.sub(offDiagonal, samePairs);
      const within = tf.div(tf.sum(tf.mul(distances, samePairs)), tf.maximum(tf.sum(samePairs), 1));
      const between = tf.div(tf.sum(tf.mul(distances, differentPairs)), tf.maximum(tf.sum(differentPairs), 1));
      const separationRatio = this.options.separationRatio ?? 1;
      total = tf.add(total, tf.mul(weights.supervision, tf.sub(within, tf.mul(separationRatio, between))));
    }
    return total as tf.Scalar;
  }

  private forward(x: tf.Tensor2D): tf.Tensor2D {
    let activation: tf.Tensor2D = x;
    for (const layer of this.requireModel('encode').layers) {
      activation = tf.tanh(tf.add(tf.matMul(activation, layer.weights), layer.bias)) as tf.Tensor2D;
    }
    return activation;
  }

  async encode(features: FeatureMatrix): Promise<PackedCodes> {
    const model = this.requireModel('encode');
    assertColumnCount(features, model.inputDimension);
    assertFiniteFeatures(features, 'features to encode');

    const p = model.principalCount;
    const projected = projectCentered(features, model.means, model.directions, p);
    const outputs = new Float32Array(features.rowCount * this.codeLengthBits);
    for (let start = 0; start < features.rowCount; start += ENCODE_BATCH_ROWS) {
      const end = Math.min(features.rowCount, start + ENCODE_BATCH_ROWS);
      const batch = Float32Array.from(projected.subarray(start * p, end * p), (value) => value * model.inputScale);
      const h = tf.tidy(() => this.forward(tf.tensor2d(batch, [end - start, p])));
      outputs.set(await h.data(), start * this.codeLengthBits);
      h.dispose();
    }
    return packSigns(outputs, features.rowCount, this.codeLengthBits);
  }

  save(): SavedHasher {
    const model = this.requireModel('save');
    return savedHasher(this, model.inputDimension, {
      principalCount: model.principalCount,
      inputScale: model.inputScale,
      means: encodeArray(model.means),
      directions: encodeArray(model.directions),
      layerSizes: [model.principalCount, ...model.layers.map((layer) => layer.bias.shape[0])],
      layers: model.layers.map((layer) => ({
        weights: encodeArray(layer.weights.dataSync() as Float32Array),
        bias: encodeArray(layer.bias.dataSync() as Float32Array),
      })),
    });
  }

  /** Replaces the model with one read from a SavedHasher of the same kind. */
  restore(saved: SavedHasher): void {
    const parameters = saved.parameters;
    const layerSizes = parameters.layerSizes;
    const savedLayers = parameters.layers;
    if (!Array.isArray(layerSizes) || !Array.isArray(savedLayers) || savedLayers.length !== layerSizes.length - 1) {
      throw new UserInputError(`saved ${this.kind} hasher has no consistent layerSizes and layers. The file is corrupt or from another tool`);
    }
    const layers = savedLayers.map((savedLayer, index) => {
      if (typeof savedLayer !== 'object' || savedLayer === null || Array.isArray(savedLayer) || 'base64' in savedLayer) {
        throw new UserInputError(`saved ${this.kind} hasher layer ${index} is not an object of weights and bias. The file is corrupt`);
      }
      const inputSize = Number(layerSizes[index]);
      const outputSize = Number(layerSizes[index + 1]);
      const weights = Float32Array.from(decodeArray(savedLayer.weights, `layers[${index}].weights`));
      const bias = Float32Array.from(decodeArray(savedLayer.bias, `layers[${index}].bias`));
      return {
        weights: tf.variable(tf.tensor2d(weights, [inputSize, outputSize])),
        bias: tf.variable(tf.tensor1d(bias)),
      };
    });

    this.disposeModel();
    this.model = {
      inputDimension: saved.inputDimension,
      principalCount: savedNumber(parameters, 'principalCount'),
      inputScale: savedNumber(parameters, 'inputScale'),
      means: Float64Array.from(decodeArray(parameters.means, 'means')),
      directions: Float64Array.from(decodeArray(parameters.directions, 'directions')),
      layers,
    };
  }

  /** Frees the tfjs variables. The hasher is untrained afterwards. */
  dispose(): void {
    this.disposeModel();
  }

  private disposeModel(): void {
    for (const layer of this.model?.layers ?? []) {
      layer.weights.dispose();
      layer.bias.dispose();
    }
    this.model = undefined;
  }

  private requireModel(action: string): DeepModel {
    if (this.model === undefined) {
      throw untrainedError(this.kind, action);
    }
    return this.model;
  }
}

function validatePositiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new UserInputError(`invalid ${name} ${value}: expected a positive integer`);
  }
}

function validateLabels(labels: ArrayLike<number> | undefined, rowCount: number): Int32Array {
  if (labels === undefined) {
    throw new UserInputError('supervised-dh needs a label per training row: pass train(features, { labels }) with identity or class ids');
  }
  if (labels.length !== rowCount) {
    throw new UserInputError(`supervised-dh got ${labels.length} labels for ${rowCount} training rows. Pass exactly one label per row`);
  }
  const values = Int32Array.from(labels);
  if (values.some((value, index) => value !== labels[index])) {
    throw new UserInputError('supervised-dh labels must be integers that fit in 32 bits. Map identity strings to integer ids first');
  }
  return values;
}

function sameLabelMask(labels: Int32Array): tf.Tensor2D {
  const m = labels.length;
  const mask = new Float32Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      mask[i * m + j] = labels[i] === labels[j] ? 1 : 0;
    }
  }
  return tf.tensor2d(mask, [m, m]);
}

/** Glorot-uniform weights and zero biases drawn from the seeded generator. */
function glorotLayers(layerSizes: number[], random: SeededRandom): DenseLayer[] {
  const layers: DenseLayer[] = [];
  for (let index = 0; index + 1 < layerSizes.length; index++) {
    const [inputSize, outputSize] = [layerSizes[index], layerSizes[index + 1]];
    const limit = Math.sqrt(6 / (inputSize + outputSize));
    const weights = Float32Array.from({ length: inputSize * outputSize }, () => (2 * random.nextUniform() - 1) * limit);
    layers.push({ weights: tf.variable(tf.tensor2d(weights, [inputSize, outputSize])), bias: tf.variable(tf.zeros([outputSize])) });
  }
  return layers;
}

/**
 * Hidden layers start at WARM_START_HIDDEN_GAIN·I plus small noise, and the
 * top layer at the ITQ projection (top `bits` principal directions of the
 * last hidden activations times the ITQ rotation), so sign(H) starts close
 * to ITQ's codes.
 */
function warmStartLayers(inputs: Float64Array, rowCount: number, layerSizes: number[], random: SeededRandom): DenseLayer[] {
  const width = layerSizes[0];
  const bits = layerSizes[layerSizes.length - 1];
  const hiddenCount = layerSizes.length - 2;
  const noiseScale = 0.01;

  let activations = inputs;
  const layers: DenseLayer[] = [];
  for (let index = 0; index < hiddenCount; index++) {
    const weights = new Float32Array(width * width);
    for (let i = 0; i < weights.length; i++) {
      weights[i] = noiseScale * random.nextGaussian() / Math.sqrt(width);
    }
    for (let i = 0; i < width; i++) {
      weights[i * width + i] += WARM_START_HIDDEN_GAIN;
    }
    layers.push({ weights: tf.variable(tf.tensor2d(weights, [width, width])), bias: tf.variable(tf.zeros([width])) });
    activations = applyTanhLayer(activations, rowCount, weights, width);
  }

  const projection = itqProjection(activations, rowCount, width, bits, random);
  const topWeights = Float32Array.from(projection, (value) => value * WARM_START_OUTPUT_GAIN);
  const means = new Float64Array(width);
  for (let row = 0; row < rowCount; row++) {
    for (let i = 0; i < width; i++) {
      means[i] += activations[row * width + i] / rowCount;
    }
  }
  const offset = multiply(means, projection, 1, width, bits);
  const topBias = Float32Array.from(offset, (value) => -value * WARM_START_OUTPUT_GAIN);
  layers.push({ weights: tf.variable(tf.tensor2d(topWeights, [width, bits])), bias: tf.variable(tf.tensor1d(topBias)) });
  return layers;
}

function applyTanhLayer(inputs: Float64Array, rowCount: number, weights: Float32Array, width: number): Float64Array {
  const outputs = multiply(inputs, weights, rowCount, width, width);
  return outputs.map((value) => Math.tanh(value));
}

/** Returns the `width x bits` ITQ projection (PCA directions times rotation, 50 iterations), scaled so the first principal component has unit standard deviation. */
function itqProjection(activations: Float64Array, rowCount: number, width: number, bits: number, random: SeededRandom): Float64Array {
  const matrix = { rowCount, columnCount: width, data: Float32Array.from(activations) };
  const pca = principalComponents(matrix, bits);
  const projected = projectCentered(matrix, pca.means, pca.directions, bits);
  const { rotation } = iterativeQuantization(projected, rowCount, bits, 50, random);
  const scale = 1 / Math.sqrt(Math.max(pca.variances[0], Number.MIN_VALUE));
  return multiply(pca.directions, rotation, width, bits, bits).map((value) => value * scale);
}
