/**
 * The input of the run report: everything one pipeline run measured, as the
 * pipeline's final activity collects it. Every data section is optional, so a
 * run that stopped early still gets a report with the sections it reached,
 * and `stages` records which stage failed or was skipped and why.
 *
 * docs/report-format.md describes each field and the JSON file
 * `reports/<runKey>/run-report.json` that stores it.
 */
export const RUN_REPORT_FORMAT_VERSION = 1;

export type RunStatus = 'succeeded' | 'failed' | 'partial' | 'running' | 'cancelled';

export type StageStatus = 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'running';

/** Report sections that show evaluation data, in page order. */
export const DATA_SECTION_IDS = ['training', 'sensor', 'robustness', 'alignment', 'retrieval', 'codes', 'index'] as const;

export type DataSectionId = (typeof DATA_SECTION_IDS)[number];

export interface RunReport {
  formatVersion: typeof RUN_REPORT_FORMAT_VERSION;
  /** Key of the run in object storage: the report lives under `reports/<runKey>/`. */
  runKey: string;
  title?: string;
  status: RunStatus;
  /** ISO 8601 timestamps. */
  startedAt: string;
  finishedAt?: string;
  config: RunConfigRecord;
  versions: VersionRecord;
  tracking?: TrackingRecord;
  stages: StageRecord[];
  training?: TrainingHistory[];
  sensorClassification?: SensorClassification;
  robustness?: RobustnessCurve[];
  alignment?: AlignmentEvaluation;
  retrieval?: RetrievalEvaluation;
  codeQuality?: CodeQuality[];
  index?: IndexSummary;
  quarantine?: QuarantinedItem[];
}

/** The resolved run config, as the pipeline used it. */
export interface RunConfigRecord {
  /** Config name, such as `demo`. */
  name: string;
  /** Path or object key the config was read from. */
  source?: string;
  values: Record<string, unknown>;
}

export interface VersionRecord {
  /** Code version, such as a git commit. */
  code: string;
  /** tfjs backend that ran the networks: `tensorflow`, `cpu`, `wasm`. */
  backend: string;
  models: ModelVersion[];
  index?: { name: string; version: string; manifestKey?: string };
}

export interface ModelVersion {
  /** Pipeline stage that trained the model, such as `sensor-deep`. */
  stage: string;
  /** Content hash of the model's stage. */
  version: string;
  /** Object key or URI of the model files. */
  location?: string;
}

export interface TrackingRecord {
  trackingUri?: string;
  experimentId?: string;
  /** MLflow run that receives the report as an artifact. */
  runId?: string;
}

/** One pipeline stage as the workflow ran it. */
export interface StageRecord {
  /** Stage name, such as `prepare`, `train-sensor-deep`, `build-index`. */
  name: string;
  status: StageStatus;
  startedAt?: string;
  durationMs?: number;
  /** True when the stage reused finished outputs with the same content hash. */
  cacheHit?: boolean;
  /** For a failed, skipped or cancelled stage: the error message or the reason it did not run. */
  reason?: string;
  /** Error class name of a failed stage, such as `UserInputError`. */
  errorType?: string;
  /**
   * Report sections that this stage's output feeds, so a failed or skipped
   * stage is named where its data is missing. When absent, the report
   * matches sections by stage name (see docs/report-format.md).
   */
  sections?: DataSectionId[];
}

/** Per-epoch training history of one network. */
export interface TrainingHistory {
  /** Network name, such as `sensor-shallow`, `sensor-deep`, `alignment`, `hashing`. */
  network: string;
  epochs: EpochMetrics[];
}

export interface EpochMetrics {
  /** 1-based epoch number. */
  epoch: number;
  trainLoss: number;
  validationLoss?: number;
  /** Accuracy as a fraction in [0, 1]; absent for networks without one (alignment). */
  trainAccuracy?: number;
  validationAccuracy?: number;
}

/** Sensor classification on the test split, one entry per network variant. */
export interface SensorClassification {
  /** Sensor labels, in the order of the confusion matrix rows and columns. */
  sensors: string[];
  variants: SensorVariantResult[];
}

export interface SensorVariantResult {
  /** Variant name, such as `shallow` or `deep`. */
  variant: string;
  /** Network architecture, such as `VGG-19 variant`. */
  network?: string;
  /** Correct classification rate over all test images, a fraction in [0, 1]. */
  overallCcr: number;
  /** Correct classification rate per sensor label, a fraction in [0, 1]. */
  ccrPerSensor: Record<string, number>;
  /** Image counts: row = true sensor, column = predicted sensor, both in `sensors` order. */
  confusionMatrix: number[][];
}

/** Correct classification rate of one variant under increasing perturbation. */
export interface RobustnessCurve {
  variant: string;
  perturbation: 'rotation' | 'occlusion' | 'noise';
  /** `level` is degrees for rotation and percent for occlusion and noise; `ccr` is a fraction. */
  points: Array<{ level: number; ccr: number }>;
}

export interface AlignmentEvaluation {
  /** Mean distance between transformed and true grid points per test pair, in pixels, before alignment. */
  gridErrorBeforePx: number[];
  /** The same distances after the alignment network's transform. */
  gridErrorAfterPx: number[];
  /** A few aligned pairs drawn over each other, as PNG bytes. */
  overlays: AlignmentOverlay[];
}

export interface AlignmentOverlay {
  /** File-name-safe name, such as `pair-003`. */
  name: string;
  caption: string;
  png: Uint8Array;
}

/** Retrieval quality on the probe split, per hasher and code length. */
export interface RetrievalEvaluation {
  results: RetrievalResult[];
}

export interface RetrievalResult {
  /** Hasher name: `DH`, `LSH`, `SBLSH`, `PCAH`, `ITQ`, `SH`. */
  hasher: string;
  codeLengthBits: number;
  /** Mean average precision, a fraction in [0, 1]. */
  meanAveragePrecision: number;
  /** Share of probes whose top-ranked gallery entry has the probe's identity, a fraction. */
  rank1IdentificationRate?: number;
  /** Precision at k, keyed by k, such as `{ "10": 0.82 }`. */
  precisionAtK: Record<string, number>;
  precisionRecall: Array<{ recall: number; precision: number }>;
  /** Share of probes whose identity is found, against the share of the gallery searched; both fractions. */
  hitRateByPenetration: Array<{ penetrationRate: number; hitRate: number }>;
}

/** Statistics of the gallery's binary codes from one hasher. */
export interface CodeQuality {
  hasher: string;
  codeLengthBits: number;
  /** Fraction of codes with each bit set, one value per bit; 0.5 is balanced. */
  bitBalance: number[];
  /** Pearson correlation between bits, a codeLengthBits × codeLengthBits matrix. */
  bitCorrelation: number[][];
}

export interface IndexSummary {
  name: string;
  version: string;
  kind: string;
  codeCount: number;
  codeLengthBits: number;
  shards: Array<{ name: string; codeCount: number; sizeBytes: number }>;
  /** Measured latency of single queries, in milliseconds. */
  queryLatencyMs: number[];
  topK?: number;
}

/** An input the pipeline set aside instead of failing the run. */
export interface QuarantinedItem {
  /** Data source, such as `fvc2002-db1`. */
  source: string;
  /** Path or object key of the item. */
  item: string;
  reason: string;
}
