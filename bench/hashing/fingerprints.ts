/**
 * Fingerprint retrieval benchmark: every whorl hasher at several code
 * lengths on the FVC B-set samples, with and without alignment.
 *
 *   npx tsx bench/hashing/fingerprints.ts --datasets ../shared/datasets \
 *     --alignment-store /tmp/whorl-alignment-final/store \
 *     --alignment-prefix models/alignment/bench-cpu-seed7/ --json /tmp/whorl-bench/fingerprints.json
 *
 * Protocol:
 * - Evaluation identities: the 60 fingers of FVC2000 DB1_B/DB2_B, FVC2002
 *   DB1_B/DB2_B and FVC2004 DB2_B/DB4_B (identity = dataset, database and
 *   finger), 8 impressions each. The sourceafis samples are not read because
 *   they repeat FVC2002 prints under other names.
 * - Gallery and probes: for each finger, a seeded choice of 4 impressions
 *   forms the gallery and the other 4 are probes, so every probe's finger is
 *   in the gallery.
 * - Training (--train-on, a comma-separated list): `synthetic` (default)
 *   trains every hasher on synthetic fingers from src/datasets/synthetic,
 *   so no evaluation identity is in any training set, and supervised-dh
 *   uses their finger labels. `gallery` trains on the gallery prints, the
 *   database being indexed, and `both` on the two together. Probes never
 *   enter training. With gallery prints, supervised-dh uses the gallery
 *   identity labels and its rows read "supervised-dh (gallery labels)".
 * - Features: each print is centred unscaled on a white square canvas (the
 *   canvas alignToReference uses) and resized to --canvas px. With alignment
 *   the print is first warped onto its database's reference (synthetic
 *   prints onto the global reference) by alignToReference. `--features
 *   orientation` (default) takes the ridge orientation field on a grid of
 *   --feature-size cells per side (see orientationFieldFeatures),
 *   `--features orientation-multiscale` the orientation fields on each grid
 *   of --orientation-grids (default 8,16; see multiScaleOrientationFeatures),
 *   `--features gabor` the Gabor filter-bank energy on a --feature-size grid
 *   (see gaborEnergyFeatures), and `--features pixels` the area-averaged
 *   pixels of pixelFeatures.
 * - `--rerank K` adds, after each hasher row, a row whose rankings reorder
 *   each probe's first K Hamming candidates by the alignment model's pairwise
 *   match score (see bench/hashing/rerank.ts).
 * - `--reference global` warps every print onto the global reference, as the
 *   pipeline's hashing.alignBeforeEncoding does, in place of its database's.
 * - `--within-class identity|augmented|identity-augmented` fits a
 *   within-class covariance normalization on the gallery and applies it to
 *   every feature row before hashing. Its classes are the gallery identity
 *   labels, shifted and rotated copies of each print, or both (see
 *   fitTrainingNormalization). Its rows read "+ WCCN (mode)". Without an aligned setting or
 *   re-ranking, the alignment model is not read.
 * - `--hasher-seeds` lists the seeds of every hasher (default 0). With more
 *   than one, each hasher row repeats per seed and its method ends in
 *   "seed N", to measure the spread between seeds.
 * - Each hasher × code length × alignment setting is one MLflow run in the
 *   experiment whorl-fingerprint-bench, unless --no-tracking is given.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type * as tf from '@tensorflow/tfjs';
import { alignToReference, centerOnCanvas, commonCanvasSidePx, loadAlignmentModel, type AlignmentReferences } from '../../src/alignment';
import { loadEnvironment } from '../../src/config/environment';
import { UserInputError } from '../../src/config/errors';
import { generateMasterFingerprint, renderImpression, sampleImpressionPose, SENSOR_PROFILES } from '../../src/datasets/synthetic';
import type { PreparedImage } from '../../src/datasets/shards';
import type { PackedCodes } from '../../src/hashing/codes';
import { createHasher, type HasherOptionsByKind } from '../../src/hashing/create-hasher';
import { createFeatureMatrix, type FeatureMatrix } from '../../src/hashing/feature-matrix';
import { HASHER_KINDS, type HasherKind } from '../../src/hashing/hasher';
import { bitStatistics, evaluateRetrieval, hammingDistancesToDatabase, rankByDistance } from '../../src/hashing/metrics';
import { SeededRandom } from '../../src/hashing/random';
import { createRandom, normalizeIntensity, resizeImage, type GrayImage } from '../../src/imaging';
import { createLogger } from '../../src/logging';
import { pixelFeatures } from '../../src/pipeline/features';
import { FilesystemStore } from '../../src/storage';
import { initializeTensorBackend } from '../../src/tensors';
import { MlflowClient } from '../../src/tracking';
import { FIRST_EVALUATION_FINGER, loadPrints, type Print } from '../alignment/fvc-prints';
import { orientationFieldFeatures } from '../../src/pipeline/orientation-features';
import { gaborEnergyFeatures } from '../../src/pipeline/gabor-features';
import { multiScaleOrientationFeatures } from '../../src/pipeline/multiscale-orientation-features';
import { rerankedRankings, scoreRankings } from './rerank';
import { parseWithinClassMode, type WithinClassMode } from './within-class';
import { fitTrainingNormalization } from '../../src/pipeline/within-class';
import { applyWithinClassNormalization, DEFAULT_WITHIN_CLASS_NORMALIZATION } from '../../src/hashing/within-class-normalization';

const EXPERIMENT = 'whorl-fingerprint-bench';
const GALLERY_IMPRESSIONS_PER_FINGER = 4;
const TOP_K = 10;
const PENETRATION_RATES = [0.01, 0.05, 0.1];

interface Sample {
  /** Key of the alignment reference: an FVC database such as `fvc2002/DB1_B`, or undefined for the global reference. */
  database: string | undefined;
  label: number;
  image: GrayImage;
}

const FEATURE_KINDS = ['pixels', 'orientation', 'orientation-multiscale', 'gabor'] as const;

type FeatureKind = (typeof FEATURE_KINDS)[number];

/** Filter orientations and wavelength of `--features gabor`, sized for a 192-px canvas, where FVC ridge periods are about 3–6 px. */
const GABOR_ORIENTATION_COUNT = 8;
const GABOR_WAVELENGTH_PX = 4;

interface FeatureSpec {
  features: FeatureKind;
  canvasPx: number;
  /** Side of the pixel grid, or cells per side of the orientation or Gabor grid. */
  featureSizePx: number;
  /** Cells per side of each orientation grid of `orientation-multiscale`. */
  orientationGrids: number[];
}

function describeFeatures(spec: FeatureSpec): string {
  const canvas = `of a ${spec.canvasPx}px canvas, centred, unit L2`;
  const grid = `${spec.featureSizePx}x${spec.featureSizePx}`;
  switch (spec.features) {
    case 'pixels':
      return `pixels ${grid} ${canvas}`;
    case 'orientation':
      return `orientation field ${grid} cells ${canvas}`;
    case 'orientation-multiscale':
      return `orientation fields ${spec.orientationGrids.map((cells) => `${cells}x${cells}`).join(' + ')} cells ${canvas}`;
    case 'gabor':
      return `Gabor energy ${grid} cells, ${GABOR_ORIENTATION_COUNT} orientations, wavelength ${GABOR_WAVELENGTH_PX}px ${canvas}`;
  }
}

/** Computes the feature matrix that `spec.features` names from prepared canvases. */
function extractFeatures(prepared: GrayImage[], spec: FeatureSpec): FeatureMatrix {
  switch (spec.features) {
    case 'orientation':
      return orientationFieldFeatures(prepared, spec.featureSizePx);
    case 'orientation-multiscale':
      return multiScaleOrientationFeatures(prepared, spec.orientationGrids);
    case 'gabor':
      return gaborEnergyFeatures(prepared, { gridCells: spec.featureSizePx, orientationCount: GABOR_ORIENTATION_COUNT, wavelengthsPx: [GABOR_WAVELENGTH_PX] });
    case 'pixels': {
      // pixelFeatures reads only width, height and pixels of a prepared image.
      const asPrepared = prepared.map((image) => ({ width: image.widthPx, height: image.heightPx, pixels: image.pixels }) as unknown as PreparedImage);
      return pixelFeatures(asPrepared, spec.featureSizePx);
    }
  }
}

interface ResultRow {
  method: string;
  alignment: boolean;
  codeLengthBits: number | undefined;
  meanAveragePrecision: number;
  rank1: number;
  hitRateByPenetration: number[];
  topKHitRate: number;
  /** Top-10 hit rate over probes of fingers 108–110 only, which the alignment network never saw. */
  topKHitRateHeldOut: number;
  meanBalanceError: number | undefined;
  meanAbsoluteCorrelation: number | undefined;
  trainSeconds: number | undefined;
  mlflowRunId: string | undefined;
  /** Seed of a hasher row; undefined for the reference rows. */
  hasherSeed?: number;
  /** Training set of a hasher row; undefined for the reference rows. */
  training?: { source: TrainingSource; rowCount: number; description: string };
}

function parseOptions(): {
  datasets: string;
  alignmentStore: string;
  alignmentPrefix: string;
  alignment: ('off' | 'on')[];
  bits: number[];
  hashers: HasherKind[];
  features: FeatureKind;
  orientationGrids: number[];
  canvasPx: number;
  featureSizePx: number;
  syntheticFingers: number;
  syntheticImpressions: number;
  epochs: number;
  seed: number;
  json: string | undefined;
  tracking: boolean;
  rerank: number;
  reference: 'database' | 'global';
  trainOn: TrainingSource[];
  withinClass: WithinClassMode;
  withinClassCopies: number;
  withinClassRegularization: number;
  withinClassExponent: number;
  hasherSeeds: number[];
} {
  const { values } = parseArgs({
    options: {
      datasets: { type: 'string', default: '../shared/datasets' },
      'alignment-store': { type: 'string', default: '/tmp/whorl-alignment-final/store' },
      'alignment-prefix': { type: 'string', default: 'models/alignment/bench-cpu-seed7/' },
      alignment: { type: 'string', default: 'off,on' },
      bits: { type: 'string', default: '16,32,64' },
      hashers: { type: 'string', default: HASHER_KINDS.join(',') },
      features: { type: 'string', default: 'orientation' },
      'orientation-grids': { type: 'string', default: '8,16' },
      canvas: { type: 'string' },
      'feature-size': { type: 'string' },
      'synthetic-fingers': { type: 'string', default: '160' },
      'synthetic-impressions': { type: 'string', default: '6' },
      epochs: { type: 'string', default: '10' },
      seed: { type: 'string', default: '7' },
      json: { type: 'string' },
      'no-tracking': { type: 'boolean', default: false },
      rerank: { type: 'string', default: '0' },
      reference: { type: 'string', default: 'database' },
      'train-on': { type: 'string', default: 'synthetic' },
      'within-class': { type: 'string', default: 'none' },
      'within-class-copies': { type: 'string', default: '4' },
      'within-class-regularization': { type: 'string', default: String(DEFAULT_WITHIN_CLASS_NORMALIZATION.regularization) },
      'within-class-exponent': { type: 'string', default: String(DEFAULT_WITHIN_CLASS_NORMALIZATION.exponent) },
      'hasher-seeds': { type: 'string', default: '0' },
    },
  });
  const integer = (name: string, text: string, minimum: number): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < minimum) throw new UserInputError(`--${name} must be an integer of at least ${minimum}, but got "${text}"`);
    return value;
  };
  // The fit checks the ranges of the within-class options, so the flags are only checked to be numbers here.
  const finite = (name: string, text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new UserInputError(`--${name} must be a number, but got "${text}"`);
    return value;
  };
  const alignment = values.alignment.split(',').map((setting) => {
    if (setting !== 'off' && setting !== 'on') throw new UserInputError(`--alignment takes off, on or off,on, but got "${values.alignment}"`);
    return setting;
  });
  const hashers = values.hashers.split(',').map((kind) => {
    if (!(HASHER_KINDS as readonly string[]).includes(kind)) throw new UserInputError(`unknown hasher "${kind}" in --hashers: expected some of ${HASHER_KINDS.join(', ')}`);
    return kind as HasherKind;
  });
  const features = values.features as FeatureKind;
  if (!FEATURE_KINDS.includes(features)) throw new UserInputError(`--features takes one of ${FEATURE_KINDS.join(', ')}, but got "${values.features}"`);
  return {
    datasets: values.datasets,
    features,
    orientationGrids: values['orientation-grids'].split(',').map((text) => integer('orientation-grids', text, 1)),
    canvasPx: integer('canvas', values.canvas ?? (features === 'pixels' ? '64' : '192'), 8),
    alignmentStore: values['alignment-store'],
    alignmentPrefix: values['alignment-prefix'],
    alignment,
    bits: values.bits.split(',').map((text) => integer('bits', text, 1)),
    hashers,
    featureSizePx: integer('feature-size', values['feature-size'] ?? (features === 'pixels' ? '24' : '16'), 2),
    syntheticFingers: integer('synthetic-fingers', values['synthetic-fingers'], 2),
    syntheticImpressions: integer('synthetic-impressions', values['synthetic-impressions'], 2),
    epochs: integer('epochs', values.epochs, 1),
    seed: integer('seed', values.seed, 0),
    json: values.json,
    tracking: !values['no-tracking'],
    rerank: integer('rerank', values.rerank, 0),
    reference: parseReference(values.reference),
    trainOn: parseTrainingSources(values['train-on']),
    withinClass: parseWithinClassMode(values['within-class']),
    withinClassCopies: integer('within-class-copies', values['within-class-copies'], 1),
    withinClassRegularization: finite('within-class-regularization', values['within-class-regularization']),
    withinClassExponent: finite('within-class-exponent', values['within-class-exponent']),
    hasherSeeds: values['hasher-seeds'].split(',').map((text) => integer('hasher-seeds', text, 0)),
  };
}

/**
 * Source of the hashers' training rows. `synthetic`: the rendered
 * synthetic fingers only. `gallery`: the gallery prints being indexed, the
 * usual protocol of unsupervised hashing papers, where the database is the
 * training set. `both`: the two together. Probes never enter training.
 */
type TrainingSource = 'synthetic' | 'gallery' | 'both';

const TRAINING_SOURCES: readonly TrainingSource[] = ['synthetic', 'gallery', 'both'];

function parseTrainingSources(text: string): TrainingSource[] {
  return text.split(',').map((source) => {
    if (!(TRAINING_SOURCES as readonly string[]).includes(source)) {
      throw new UserInputError(`unknown training source "${source}" in --train-on: expected a comma-separated list of ${TRAINING_SOURCES.join(', ')}`);
    }
    return source as TrainingSource;
  });
}

interface TrainingSet {
  source: TrainingSource;
  features: FeatureMatrix;
  /**
   * Finger label of each row, read only by supervised-dh. Gallery rows carry
   * the gallery identity labels, which are known at enrolment. In `both`
   * they are offset past the synthetic labels, so the two never share a finger.
   */
  labels: Int32Array;
  description: string;
}

/** Stacks the feature rows of the chosen source(s) into one training set. */
function buildTrainingSet(
  source: TrainingSource,
  synthetic: { features: FeatureMatrix; labels: Int32Array; description: string } | undefined,
  gallery: { features: FeatureMatrix; labels: Int32Array },
): TrainingSet {
  const galleryDescription = `FVC gallery ${gallery.features.rowCount} prints`;
  if (source === 'gallery') return { source, features: gallery.features, labels: gallery.labels, description: galleryDescription };
  if (synthetic === undefined) throw new Error(`training source ${source} needs the synthetic prints, but none were rendered`);
  if (source === 'synthetic') return { source, features: synthetic.features, labels: synthetic.labels, description: synthetic.description };

  const { columnCount } = gallery.features;
  const rowCount = synthetic.features.rowCount + gallery.features.rowCount;
  const data = new Float32Array(rowCount * columnCount);
  data.set(synthetic.features.data, 0);
  data.set(gallery.features.data, synthetic.features.data.length);
  const labelOffset = Math.max(...synthetic.labels) + 1;
  const labels = Int32Array.from({ length: rowCount }, (_, row) =>
    row < synthetic.labels.length ? synthetic.labels[row] : gallery.labels[row - synthetic.labels.length] + labelOffset,
  );
  return { source, features: createFeatureMatrix(data, rowCount, columnCount), labels, description: `${synthetic.description} + ${galleryDescription}` };
}

/**
 * Method name of a hasher row. supervised-dh trained with gallery rows uses
 * the gallery identity labels, so its rows are named apart from the
 * unsupervised ones.
 */
function hasherRowMethod(kind: HasherKind, source: TrainingSource): string {
  return kind === 'supervised-dh' && source !== 'synthetic' ? 'supervised-dh (gallery labels)' : kind;
}

function parseReference(text: string): 'database' | 'global' {
  if (text !== 'database' && text !== 'global') throw new UserInputError(`--reference takes database or global, but got "${text}"`);
  return text;
}

/** Returns references in which every database maps to the global reference. */
function globalReferenceOnly(references: AlignmentReferences): AlignmentReferences {
  const bySensor = Object.fromEntries(Object.keys(references.bySensor).map((database) => [database, references.global]));
  return { global: references.global, bySensor };
}

/** Renders `fingerCount` synthetic fingers, cycling over the simulated sensors, with the finger index as label. */
function renderSyntheticFingers(fingerCount: number, impressionsPerFinger: number, seed: number): Sample[] {
  const samples: Sample[] = [];
  for (let finger = 0; finger < fingerCount; finger++) {
    const fingerSeed = `${seed}/fingerprint-bench/finger-${finger}`;
    const master = generateMasterFingerprint(fingerSeed);
    const profile = SENSOR_PROFILES[finger % SENSOR_PROFILES.length];
    for (let impression = 0; impression < impressionsPerFinger; impression++) {
      const random = createRandom(`${fingerSeed}/impression-${impression}`);
      samples.push({ database: undefined, label: finger, image: renderImpression(master, profile, sampleImpressionPose(random), random) });
    }
  }
  return samples;
}

/** Chooses a seeded set of gallery impressions per finger. The other impressions are probes. */
function splitGalleryProbes(prints: Print[], seed: number): { gallery: Print[]; probes: Print[] } {
  const random = new SeededRandom(seed);
  const gallery: Print[] = [];
  const probes: Print[] = [];
  const fingers = [...new Set(prints.map((print) => `${print.database}/${print.finger}`))];
  for (const finger of fingers) {
    const impressions = prints.filter((print) => `${print.database}/${print.finger}` === finger).sort((a, b) => a.impression - b.impression);
    const order = random.shuffle(Int32Array.from(impressions, (_, index) => index));
    order.forEach((index, position) => (position < GALLERY_IMPRESSIONS_PER_FINGER ? gallery : probes).push(impressions[index]));
  }
  return { gallery, probes };
}

/**
 * Turns samples into pixel or orientation features. Without a model, each image is only
 * centred on the canvas alignToReference would use, so the aligned and
 * unaligned features differ by the warp alone.
 */
function sampleFeatures(
  samples: Sample[],
  spec: FeatureSpec,
  references: AlignmentReferences | undefined,
  model: tf.LayersModel | undefined,
): { features: FeatureMatrix; prepared: GrayImage[]; warpsApplied: number } {
  const prepared: GrayImage[] = new Array<GrayImage>(samples.length);
  let warpsApplied = 0;
  const groups = new Map<string | undefined, number[]>();
  samples.forEach((sample, index) => groups.set(sample.database, [...(groups.get(sample.database) ?? []), index]));
  for (const [database, indices] of groups) {
    // Without an alignment model the references only size the canvas; each FVC reference has its database's image size.
    let reference: GrayImage | undefined;
    if (references !== undefined) {
      reference = database === undefined ? references.global : references.bySensor[database];
      if (reference === undefined) throw new UserInputError(`the alignment model has no reference for database ${database}`);
    }
    const images = indices.map((index) => normalizeIntensity(samples[index].image));
    if (model === undefined || reference === undefined) {
      images.forEach((image, position) => {
        const canvas = centerOnCanvas(image, commonCanvasSidePx(reference === undefined ? [image] : [image, reference]));
        prepared[indices[position]] = resizeImage(canvas, { widthPx: spec.canvasPx, heightPx: spec.canvasPx });
      });
    } else {
      alignToReference(model, reference, images, { outputSizePx: spec.canvasPx }).forEach((aligned, position) => {
        prepared[indices[position]] = aligned.image;
        warpsApplied += aligned.transformApplied ? 1 : 0;
      });
    }
  }
  return { features: extractFeatures(prepared, spec), prepared, warpsApplied };
}

/** Share of probes whose finger appears among the first `k` ranked gallery entries (Hamming ranking, ties by gallery index). */
function topKHitRate(probes: PackedCodes, gallery: PackedCodes, probeLabels: Int32Array, galleryLabels: Int32Array, probeRows: number[], k: number): number {
  let hits = 0;
  for (const probe of probeRows) {
    const order = rankByDistance(hammingDistancesToDatabase(probes, probe, gallery), gallery.codeLengthBits);
    for (let rank = 0; rank < Math.min(k, order.length); rank++) {
      if (galleryLabels[order[rank]] === probeLabels[probe]) {
        hits++;
        break;
      }
    }
  }
  return probeRows.length === 0 ? 0 : hits / probeRows.length;
}

/**
 * Scores the unhashed features by Euclidean distance (ties by gallery index),
 * the reference that the binary codes of these features are compared with.
 */
function scoreFeatures(probes: FeatureMatrix, gallery: FeatureMatrix, probeLabels: Int32Array, galleryLabels: Int32Array, heldOutRows: number[]): Omit<ResultRow, 'method' | 'alignment'> {
  const penetrationRanks = PENETRATION_RATES.map((rate) => Math.max(1, Math.ceil(rate * gallery.rowCount)));
  let averagePrecisionSum = 0;
  let rank1 = 0;
  const hits = new Float64Array(PENETRATION_RATES.length);
  let topK = 0;
  let topKHeldOut = 0;
  const dimension = gallery.columnCount;
  for (let probe = 0; probe < probes.rowCount; probe++) {
    const distances = Array.from({ length: gallery.rowCount }, (_, entry) => {
      let sum = 0;
      for (let column = 0; column < dimension; column++) {
        const difference = probes.data[probe * dimension + column] - gallery.data[entry * dimension + column];
        sum += difference * difference;
      }
      return { entry, sum };
    });
    distances.sort((a, b) => a.sum - b.sum || a.entry - b.entry);
    let relevantSeen = 0;
    let precisionSum = 0;
    let firstRank = 0;
    distances.forEach(({ entry }, index) => {
      if (galleryLabels[entry] !== probeLabels[probe]) return;
      relevantSeen++;
      precisionSum += relevantSeen / (index + 1);
      if (firstRank === 0) firstRank = index + 1;
    });
    averagePrecisionSum += precisionSum / relevantSeen;
    rank1 += firstRank === 1 ? 1 : 0;
    penetrationRanks.forEach((maximumRank, index) => (hits[index] += firstRank <= maximumRank ? 1 : 0));
    topK += firstRank <= TOP_K ? 1 : 0;
    topKHeldOut += firstRank <= TOP_K && heldOutRows.includes(probe) ? 1 : 0;
  }
  const count = probes.rowCount;
  return {
    codeLengthBits: undefined,
    meanAveragePrecision: averagePrecisionSum / count,
    rank1: rank1 / count,
    hitRateByPenetration: Array.from(hits, (value) => value / count),
    topKHitRate: topK / count,
    topKHitRateHeldOut: heldOutRows.length === 0 ? 0 : topKHeldOut / heldOutRows.length,
    meanBalanceError: undefined,
    meanAbsoluteCorrelation: undefined,
    trainSeconds: undefined,
    mlflowRunId: undefined,
  };
}

/**
 * Expected hit rates of a ranker that uses only each print's database. It
 * ranks the gallery entries of the probe's database first, in random order. With
 * n gallery entries in the database, r of them of the probe's finger, a hit
 * within k ranks has probability 1 − C(n − r, k) / C(n, k).
 */
function scoreDatabaseChance(gallery: Print[], probes: Print[], galleryLabels: Int32Array, probeLabels: Int32Array, heldOutRows: number[]): Omit<ResultRow, 'method' | 'alignment'> {
  const hitProbability = (probe: number, k: number): number => {
    const n = gallery.filter((print) => print.database === probes[probe].database).length;
    const r = galleryLabels.filter((label) => label === probeLabels[probe]).length;
    let missProbability = 1;
    for (let i = 0; i < Math.min(k, n); i++) missProbability *= Math.max(0, n - r - i) / (n - i);
    return 1 - missProbability;
  };
  const meanOver = (rows: number[], k: number): number => (rows.length === 0 ? 0 : rows.reduce((sum, probe) => sum + hitProbability(probe, k), 0) / rows.length);
  const allRows = probes.map((_, index) => index);
  return {
    codeLengthBits: undefined,
    meanAveragePrecision: Number.NaN,
    rank1: meanOver(allRows, 1),
    hitRateByPenetration: PENETRATION_RATES.map((rate) => meanOver(allRows, Math.max(1, Math.ceil(rate * gallery.length)))),
    topKHitRate: meanOver(allRows, TOP_K),
    topKHitRateHeldOut: meanOver(heldOutRows, TOP_K),
    meanBalanceError: undefined,
    meanAbsoluteCorrelation: undefined,
    trainSeconds: undefined,
    mlflowRunId: undefined,
  };
}

function hasherOptions(kind: HasherKind, codeLengthBits: number, epochs: number, seed: number): HasherOptionsByKind[HasherKind] {
  if (kind === 'dh' || kind === 'supervised-dh') return { codeLengthBits, seed, epochCount: epochs };
  return { codeLengthBits, seed };
}

function formatTable(rows: ResultRow[]): string {
  const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;
  const lines = [
    `| method | alignment | training | bits | mAP | rank-1 | hit@1% | hit@5% | hit@10% | top-${TOP_K} | top-${TOP_K} fingers 108–110 |`,
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.method} | ${row.alignment ? 'on' : 'off'} | ${row.training?.source ?? '–'} | ${row.codeLengthBits ?? 'float'} | ${Number.isNaN(row.meanAveragePrecision) ? '–' : row.meanAveragePrecision.toFixed(4)} | ${percent(row.rank1)} | ` +
        `${row.hitRateByPenetration.map(percent).join(' | ')} | ${percent(row.topKHitRate)} | ${percent(row.topKHitRateHeldOut)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions();
  const logger = createLogger('bench-fingerprints');
  await initializeTensorBackend({ logger });
  const startedAt = Date.now();

  const prints = loadPrints(options.datasets);
  const { gallery, probes } = splitGalleryProbes(prints, options.seed);
  const identities = [...new Set(prints.map((print) => `${print.database}/${print.finger}`))];
  const labelOf = (print: Print): number => identities.indexOf(`${print.database}/${print.finger}`);
  const galleryLabels = Int32Array.from(gallery, labelOf);
  const probeLabels = Int32Array.from(probes, labelOf);
  const heldOutRows = probes.flatMap((print, index) => (print.finger >= FIRST_EVALUATION_FINGER ? [index] : []));
  logger.info({ identities: identities.length, gallery: gallery.length, probes: probes.length }, 'split FVC prints');

  const needsSynthetic = options.trainOn.some((source) => source !== 'gallery');
  const synthetic = needsSynthetic ? renderSyntheticFingers(options.syntheticFingers, options.syntheticImpressions, options.seed) : [];
  const syntheticLabels = Int32Array.from(synthetic, (sample) => sample.label);
  const syntheticDescription = `synthetic ${options.syntheticFingers} fingers x ${options.syntheticImpressions} impressions`;
  logger.info({ fingers: needsSynthetic ? options.syntheticFingers : 0, images: synthetic.length, seconds: (Date.now() - startedAt) / 1000 }, 'rendered synthetic training fingers');

  // The alignment model is read only when some row needs it: aligned features or re-ranking.
  const needsModel = options.alignment.includes('on') || options.rerank > 0;
  const loaded = needsModel ? await loadAlignmentModel(new FilesystemStore(options.alignmentStore), options.alignmentPrefix) : undefined;
  const model = loaded?.model;
  let references: AlignmentReferences | undefined;
  if (loaded !== undefined) references = options.reference === 'global' ? globalReferenceOnly(loaded.references) : loaded.references;
  const toSample = (print: Print): Sample => ({ database: print.database, label: labelOf(print), image: print.image });

  const probeImages = probes.map((print) => normalizeIntensity(print.image));
  const galleryImages = gallery.map((print) => normalizeIntensity(print.image));

  const rows: ResultRow[] = [{ method: 'chance, database known', alignment: false, ...scoreDatabaseChance(gallery, probes, galleryLabels, probeLabels, heldOutRows) }];
  for (const setting of options.alignment) {
    const aligned = setting === 'on';
    const alignmentModel = aligned ? model : undefined;
    const train = needsSynthetic ? sampleFeatures(synthetic, options, references, alignmentModel) : undefined;
    const galleryFeatures = sampleFeatures(gallery.map(toSample), options, references, alignmentModel);
    const probeFeatures = sampleFeatures(probes.map(toSample), options, references, alignmentModel);
    if (options.withinClass !== 'none') {
      const normalization = fitTrainingNormalization({
        classes: options.withinClass,
        images: galleryFeatures.prepared,
        features: galleryFeatures.features,
        identities: galleryLabels,
        copiesPerImage: options.withinClassCopies,
        seed: options.seed,
        options: { regularization: options.withinClassRegularization, exponent: options.withinClassExponent },
        extract: (images) => extractFeatures(images, options),
      });
      for (const set of [train, galleryFeatures, probeFeatures]) {
        if (set !== undefined) set.features = applyWithinClassNormalization(set.features, normalization);
      }
      logger.info({ withinClass: options.withinClass, seconds: (Date.now() - startedAt) / 1000 }, 'fitted within-class normalization on the gallery');
    }
    const warpsApplied = (train?.warpsApplied ?? 0) + galleryFeatures.warpsApplied + probeFeatures.warpsApplied;
    logger.info({ alignment: setting, warpsApplied, seconds: (Date.now() - startedAt) / 1000 }, 'extracted features');
    const syntheticSet = train === undefined ? undefined : { features: train.features, labels: syntheticLabels, description: syntheticDescription };

    const normalized = options.withinClass === 'none' ? '' : ` + WCCN (${options.withinClass})`;
    rows.push({ method: `float features (Euclidean)${normalized}`, alignment: aligned, ...scoreFeatures(probeFeatures.features, galleryFeatures.features, probeLabels, galleryLabels, heldOutRows) });

    for (const trainingSet of options.trainOn.map((source) => buildTrainingSet(source, syntheticSet, { features: galleryFeatures.features, labels: galleryLabels }))) {
      for (const kind of options.hashers) {
        for (const codeLengthBits of options.bits) {
          for (const hasherSeed of options.hasherSeeds) {
            const hasher = createHasher(kind, hasherOptions(kind, codeLengthBits, options.epochs, hasherSeed));
            const trainStartedAt = Date.now();
            await hasher.train(trainingSet.features, { labels: trainingSet.labels });
            const trainSeconds = (Date.now() - trainStartedAt) / 1000;
            const galleryCodes = await hasher.encode(galleryFeatures.features);
            const probeCodes = await hasher.encode(probeFeatures.features);
            const report = evaluateRetrieval({ queries: probeCodes, database: galleryCodes, queryLabels: probeLabels, databaseLabels: galleryLabels, penetrationRates: PENETRATION_RATES });
            const stats = bitStatistics(galleryCodes);
            const allRows = Array.from({ length: probeCodes.count }, (_, index) => index);
            const row: ResultRow = {
              method: `${hasherRowMethod(kind, trainingSet.source)}${normalized}${options.hasherSeeds.length > 1 ? ` seed ${hasherSeed}` : ''}`,
              hasherSeed,
              alignment: aligned,
              codeLengthBits,
              meanAveragePrecision: report.meanAveragePrecision,
              rank1: report.rank1IdentificationRate,
              hitRateByPenetration: report.hitRateByPenetration.map((entry) => entry.hitRate),
              topKHitRate: topKHitRate(probeCodes, galleryCodes, probeLabels, galleryLabels, allRows, TOP_K),
              topKHitRateHeldOut: topKHitRate(probeCodes, galleryCodes, probeLabels, galleryLabels, heldOutRows, TOP_K),
              meanBalanceError: stats.meanBalanceError,
              meanAbsoluteCorrelation: stats.meanAbsoluteCorrelation,
              trainSeconds,
              mlflowRunId: undefined,
              training: { source: trainingSet.source, rowCount: trainingSet.features.rowCount, description: trainingSet.description },
            };
            rows.push(row);
            logger.info({ hasher: kind, bits: codeLengthBits, alignment: setting, training: trainingSet.source, mAP: row.meanAveragePrecision, topK: row.topKHitRate, balanceError: stats.meanBalanceError, trainSeconds }, 'scored hasher');

            if (options.rerank > 0 && model !== undefined) {
              const rankings = rerankedRankings({ model, probeImages, galleryImages, probeCodes, galleryCodes, depth: options.rerank });
              const scores = scoreRankings({ rankings, probeLabels, galleryLabels, penetrationRates: PENETRATION_RATES, topK: TOP_K, heldOutRows });
              rows.push({ ...row, ...scores, method: `${row.method} + re-rank top ${options.rerank}` });
              logger.info({ hasher: kind, bits: codeLengthBits, alignment: setting, rerank: options.rerank, mAP: scores.meanAveragePrecision, topK: scores.topKHitRate }, 'scored re-ranked hasher');
            }
          }
        }
      }
    }
  }

  console.log(formatTable(rows));
  console.log(`total ${((Date.now() - startedAt) / 1000).toFixed(0)} s before MLflow logging`);
  const writeJson = (): void => {
    if (options.json === undefined) return;
    mkdirSync(dirname(options.json), { recursive: true });
    writeFileSync(options.json, JSON.stringify({ options, rows, totalSeconds: (Date.now() - startedAt) / 1000 }, null, 2));
  };
  writeJson();

  // Runs are logged after scoring, so an unreachable MLflow server fails the logging but keeps the table and the JSON.
  if (options.tracking) {
    const tracking = MlflowClient.fromEnvironment(loadEnvironment());
    const experimentId = await tracking.getOrCreateExperiment(EXPERIMENT);
    for (const row of rows.filter((candidate) => candidate.codeLengthBits !== undefined)) {
      row.mlflowRunId = await logRun(tracking, experimentId, row, options, { gallery: gallery.length, probes: probes.length });
    }
    writeJson();
    logger.info({ experiment: EXPERIMENT, runs: rows.filter((row) => row.mlflowRunId !== undefined).length }, 'logged MLflow runs');
  }
}

/** MLflow run name such as `itq-64-alignment-off`, with `-train-gallery` or `-train-both` for those training sets. */
function runNameOf(row: ResultRow): string {
  const method = row.method.replace(' (gallery labels)', '-gallery-labels').replace(/ \+ WCCN \(([a-z-]+)\)/, '-wccn-$1').replace(/ seed (\d+)/, '-seed-$1').replace(/ \+ re-rank top (\d+)/, '-rerank-$1');
  const training = row.training === undefined || row.training.source === 'synthetic' ? '' : `-train-${row.training.source}`;
  return `${method}-${row.codeLengthBits ?? 'float'}-alignment-${row.alignment ? 'on' : 'off'}${training}`;
}

async function logRun(
  tracking: MlflowClient,
  experimentId: string,
  row: ResultRow,
  options: ReturnType<typeof parseOptions>,
  counts: { gallery: number; probes: number },
): Promise<string> {
  const run = await tracking.createRun({
    experimentId,
    runName: runNameOf(row),
    tags: { 'whorl.kind': 'fingerprint-hashing-bench' },
  });
  const metrics: Record<string, number> = {
    mean_average_precision: row.meanAveragePrecision,
    rank1_identification_rate: row.rank1,
    top10_hit_rate: row.topKHitRate,
    top10_hit_rate_fingers_108_110: row.topKHitRateHeldOut,
    bit_balance_error: row.meanBalanceError ?? Number.NaN,
    bit_mean_abs_correlation: row.meanAbsoluteCorrelation ?? Number.NaN,
    train_seconds: row.trainSeconds ?? Number.NaN,
  };
  PENETRATION_RATES.forEach((rate, index) => (metrics[`hit_rate_penetration_${Math.round(rate * 100)}pct`] = row.hitRateByPenetration[index]));
  await tracking.logBatch(run.runId, {
    params: {
      hasher: row.method,
      code_length_bits: row.codeLengthBits ?? 0,
      alignment: row.alignment ? 'on' : 'off',
      alignment_model: row.alignment ? `${options.alignmentStore}:${options.alignmentPrefix}` : 'none',
      features: describeFeatures(options),
      train_source: row.training?.description ?? 'none',
      train_on: row.training?.source ?? 'none',
      train_rows: row.training?.rowCount ?? 0,
      gallery_rows: counts.gallery,
      probe_rows: counts.probes,
      epochs: row.method.startsWith('dh') || row.method.startsWith('supervised-dh') ? options.epochs : 0,
      seed: options.seed,
      hasher_seed: row.hasherSeed ?? 'none',
      within_class_normalization: options.withinClass === 'none' ? 'none' : `${options.withinClass}, regularization ${options.withinClassRegularization}, exponent ${options.withinClassExponent}`,
    },
    metrics: Object.entries(metrics)
      .filter(([, value]) => Number.isFinite(value))
      .map(([key, value]) => ({ key, value, step: 0 })),
  });
  await tracking.endRun(run.runId, 'FINISHED');
  return run.runId;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
