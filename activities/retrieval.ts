import { Context } from '@temporalio/activity';
import { UserInputError } from '../src/config/errors';
import { readPreparedManifest, readPreparedShard, readPreparedImages } from '../src/datasets/manifest';
import type { PreparedImage } from '../src/datasets/shards';
import { bytesPerCode } from '../src/hashing/codes';
import { getCodeShard } from '../src/hashing/code-shards';
import { createHasher, deserializeHasher, serializeHasher } from '../src/hashing/create-hasher';
import type { HasherKind } from '../src/hashing/hasher';
import { bitStatistics, evaluateRetrieval, type RetrievalReport } from '../src/hashing/metrics';
import { activateIndexVersion, buildIndex } from '../src/index/index-store';
import type { HashingConfig, IndexConfig } from '../src/pipeline/config';
import { featureSettingsOf, grayImageOf, loadFeatureEncoder, type EncoderSettings, type FeatureEncoder, type SensorModelRef } from '../src/pipeline/feature-encoder';
import { readModelVersion } from '../src/pipeline/query-encoder';
import { encodePreparedImages, putPreparedImageCodes } from '../src/pipeline/gallery-codes';
import { runCachedStage } from '../src/pipeline/stage-cache';
import { fitTrainingNormalization } from '../src/pipeline/within-class';
import { applyWithinClassNormalization, saveWithinClassNormalization } from '../src/hashing/within-class-normalization';
import type { ObjectStore } from '../src/storage';
import type { ActivityDependencies } from './dependencies';
import { failFastOnUserInput } from './failures';

/** Bumped whenever a stage below changes what it writes, so cached outputs are not reused. */
const CODE_VERSIONS = { hashing: 2, encode: 2, index: 1, evaluate: 1 } as const;

export interface TrainedHasher {
  kind: HasherKind;
  codeLengthBits: number;
  /** Object key of the serialized hasher. */
  key: string;
  trainingRows: number;
  durationMs: number;
  /** Objective per epoch or iteration; empty for hashers without iterations. */
  lossHistory: number[];
}

export interface HashingStageOutput {
  /** Stage key of the training run, recorded in codes and indexes as the model version. */
  modelVersion: string;
  hashers: TrainedHasher[];
  /** Alignment and features the hashers were trained on; absent in outputs cached before it was recorded, which used pixels. */
  encoder?: EncoderSettings;
}

/** The trained alignment model that `hashing.alignBeforeEncoding` warps images with. */
export interface AlignmentModelRef {
  /** Stage key of the alignment stage. */
  modelVersion: string;
  modelPrefix: string;
}

export interface HasherEvaluation {
  kind: string;
  codeLengthBits: number;
  report: RetrievalReport;
  /** Largest distance of any bit's share of ones from 0.5 over the evaluation gallery. */
  bitBalanceMaxDeviation: number;
}

export interface StageOutcome<T> {
  cached: boolean;
  key: string;
  detail: string;
  output: T;
}

export interface TrackingContext {
  experimentId: string;
  parentRunId: string;
}

/** Assigns each distinct identity a dense number, in first-seen order, for the metrics' label arrays. */
function identityNumbers(images: PreparedImage[], numbers = new Map<string, number>()): Int32Array {
  return Int32Array.from(images, (image) => {
    let number = numbers.get(image.identity);
    if (number === undefined) {
      number = numbers.size;
      numbers.set(image.identity, number);
    }
    return number;
  });
}

/** File name, in the hashing stage's folder, of the within-class normalization of the model's features. */
const WITHIN_CLASS_NORMALIZATION_FILE = 'within-class-normalization.json';

function codeFileName(kind: string, codeLengthBits: number): string {
  return `hashers/${kind}-${codeLengthBits}.json`;
}

/** Runs `work` with the loaded feature chain and releases its alignment model afterwards. */
async function withFeatureEncoder<T>(store: ObjectStore, settings: EncoderSettings, work: (encoder: FeatureEncoder) => Promise<T>): Promise<T> {
  const encoder = await loadFeatureEncoder(store, settings);
  try {
    return await work(encoder);
  } finally {
    encoder.dispose();
  }
}

/** Builds the encoder settings of a hashing stage from its config and, when aligning before encoding, the alignment model. */
function encoderSettings(hashing: HashingConfig, alignment: AlignmentModelRef | undefined, sensorModel: SensorModelRef | undefined): EncoderSettings {
  const features = featureSettingsOf(hashing, sensorModel);
  if (hashing.alignBeforeEncoding !== true) return { features };
  if (alignment === undefined) {
    throw new UserInputError('hashing.alignBeforeEncoding is true but no trained alignment model was passed to the hashing stage; add an alignment section to the run config');
  }
  return { features, alignment: { modelVersion: alignment.modelVersion, modelPrefix: alignment.modelPrefix } };
}

/** Activities of the retrieval half of the pipeline: train hashers, encode the gallery, build the index, evaluate. */
export function createRetrievalActivities(deps: ActivityDependencies) {
  const { store, tracking, logger } = deps;

  return {
    /**
     * Trains every configured hasher at every configured code length on the
     * hashing-train fingers, and saves each one. Heartbeats after each hasher.
     */
    async trainHashers(input: {
      preparedManifestKey: string;
      hashing: HashingConfig;
      seed: number;
      /** Required when `hashing.alignBeforeEncoding` is true. */
      alignment?: AlignmentModelRef;
      /** Required when `hashing.features.kind` is `sensor-embedding`: the classifier of the configured variant. */
      sensorModel?: SensorModelRef;
      tracking?: TrackingContext;
    }): Promise<StageOutcome<HashingStageOutput>> {
      return failFastOnUserInput(async () => {
        const encoder = encoderSettings(input.hashing, input.alignment, input.sensorModel);
        // The alignment stage key joins the inputs only when images are aligned, so keys of runs without alignment stay as they were.
        const inputs: Record<string, string> = { prepared: input.preparedManifestKey };
        if (encoder.alignment !== undefined) inputs.alignment = encoder.alignment.modelVersion;
        if (encoder.features.kind === 'sensor-embedding') inputs.sensorModel = encoder.features.sensorModel.modelVersion;
        const keyInput = { stage: 'hashing', codeVersion: CODE_VERSIONS.hashing, config: { hashing: input.hashing, seed: input.seed }, inputs };
        const result = await runCachedStage(store, keyInput, async (prefix) => {
          const trainingImages = input.hashing.trainOn === 'gallery' ? { retrievalRole: 'gallery' as const } : { hashingSplit: 'train' as const };
          const images = await readPreparedImages(store, input.preparedManifestKey, trainingImages);
          const labels = identityNumbers(images);
          const normalizationSettings = input.hashing.withinClassNormalization;
          let recordedEncoder: EncoderSettings = encoder;
          const features = await withFeatureEncoder(store, encoder, async (chain) => {
            const aligned = chain.align(images.map(grayImageOf));
            const raw = chain.featuresOf(aligned);
            if (normalizationSettings === undefined) return raw;
            const { classes, copiesPerImage, regularization, exponent } = normalizationSettings;
            const normalization = fitTrainingNormalization({
              classes,
              images: aligned,
              features: raw,
              identities: labels,
              copiesPerImage,
              seed: input.seed,
              options: { regularization, exponent },
              extract: (copies) => chain.featuresOf(copies),
            });
            const key = prefix + WITHIN_CLASS_NORMALIZATION_FILE;
            await store.put(key, JSON.stringify(saveWithinClassNormalization(normalization)), { contentType: 'application/json' });
            recordedEncoder = { ...encoder, withinClassNormalizationKey: key };
            logger.info({ classes: normalizationSettings.classes, rows: raw.rowCount, dimension: normalization.dimension }, 'within-class normalization fitted');
            return applyWithinClassNormalization(raw, normalization);
          });
          const hashers: TrainedHasher[] = [];
          const combinations = input.hashing.kinds.flatMap((kind) => input.hashing.codeLengthsBits.map((codeLengthBits) => ({ kind, codeLengthBits })));

          for (const [index, { kind, codeLengthBits }] of combinations.entries()) {
            Context.current().heartbeat({ done: index, total: combinations.length, hasher: `${kind}-${codeLengthBits}` });
            const hasher = createHasher(kind, { codeLengthBits, seed: input.seed, epochCount: input.hashing.epochs });
            const report = await hasher.train(features, { labels, logger });
            const key = prefix + codeFileName(kind, codeLengthBits);
            await store.put(key, serializeHasher(hasher), { contentType: 'application/json' });
            hashers.push({ kind, codeLengthBits, key, trainingRows: report.trainingRowCount, durationMs: report.durationMs, lossHistory: report.lossHistory });
            logger.info({ kind, codeLengthBits, rows: report.trainingRowCount, durationMs: report.durationMs }, 'hasher trained');

            if (input.tracking !== undefined) {
              const run = await tracking.createRun({
                experimentId: input.tracking.experimentId,
                parentRunId: input.tracking.parentRunId,
                runName: `hashing-${kind}-${codeLengthBits}`,
                tags: { 'whorl.stage': 'hashing', 'whorl.hasher': kind, 'whorl.code_length_bits': String(codeLengthBits) },
              });
              await tracking.logBatch(run.runId, {
                params: {
                  kind,
                  codeLengthBits,
                  features: JSON.stringify(encoder.features),
                  alignment: encoder.alignment?.modelVersion ?? 'none',
                  withinClassNormalization: normalizationSettings === undefined ? 'none' : JSON.stringify(normalizationSettings),
                  trainingRows: report.trainingRowCount,
                  seed: input.seed,
                },
                metrics: [...report.lossHistory.map((value, step) => ({ key: 'loss', value, step })), { key: 'train_duration_ms', value: report.durationMs }],
              });
              await tracking.endRun(run.runId);
            }
          }
          return { hashers, modelVersion: '', encoder: recordedEncoder };
        });
        const output = { ...result.output, modelVersion: result.key };
        return { cached: result.cached, key: result.key, detail: `${output.hashers.length} hashers trained`, output };
      });
    },

    /** Lists the prepared shards, so the workflow can encode them in parallel. */
    async listPreparedShards(input: { preparedManifestKey: string }): Promise<Array<{ key: string; sha256: string; rows: number }>> {
      const manifest = await readPreparedManifest(store, input.preparedManifestKey);
      return manifest.shards.map((shard) => ({ key: shard.key, sha256: shard.sha256, rows: shard.rows }));
    },

    /**
     * Encodes the gallery images of one prepared shard into a Parquet code
     * shard. Cached per shard, so a rerun or a nightly re-index only encodes
     * shards it has not seen.
     */
    async encodeGalleryShard(input: {
      preparedManifestKey: string;
      shard: { key: string; sha256: string };
      hasherKey: string;
      /** Ignored: the feature settings come from the model version. Workflows started before that still send it. */
      featureSizePx?: number;
      modelVersion: string;
    }): Promise<StageOutcome<{ codeShardKey: string; codes: number }>> {
      return failFastOnUserInput(async () => {
        const { encoder } = await readModelVersion(store, input.modelVersion);
        const keyInput = {
          stage: 'encode',
          codeVersion: CODE_VERSIONS.encode,
          config: { encoder },
          inputs: { shard: input.shard.sha256, hasher: input.hasherKey, modelVersion: input.modelVersion },
        };
        const result = await runCachedStage(store, keyInput, async (prefix) => {
          const manifest = await readPreparedManifest(store, input.preparedManifestKey);
          const shardInfo = manifest.shards.find((shard) => shard.key === input.shard.key);
          if (shardInfo === undefined) throw new Error(`prepared shard ${input.shard.key} is not listed in ${input.preparedManifestKey}`);
          const gallery = (await readPreparedShard(store, shardInfo)).filter((image) => image.retrievalRole === 'gallery');
          const hasher = deserializeHasher(await store.get(input.hasherKey));
          const codes = await withFeatureEncoder(store, encoder, (chain) => encodePreparedImages(hasher, chain, gallery));
          const codeShardKey = `${prefix}codes.parquet`;
          await putPreparedImageCodes(store, codeShardKey, gallery, codes, input.modelVersion);
          Context.current().heartbeat({ done: gallery.length, total: gallery.length });
          return { codeShardKey, codes: gallery.length };
        });
        return { cached: result.cached, key: result.key, detail: `${result.output.codes} codes`, output: result.output };
      });
    },

    /** Builds the sharded multi-index hash table from code shards and publishes it as the next index version. */
    async buildGalleryIndex(input: {
      codeShardKeys: string[];
      index: IndexConfig;
      codeLengthBits: number;
      modelVersion: string;
    }): Promise<StageOutcome<{ indexName: string; version: number; codes: number }>> {
      return failFastOnUserInput(async () => {
        const sources: Array<{ key: string; sha256: string }> = [];
        for (const key of input.codeShardKeys) sources.push({ key, sha256: (await store.head(key))?.sha256 ?? '' });
        const keyInput = { stage: 'index', codeVersion: CODE_VERSIONS.index, config: input.index, inputs: Object.fromEntries(sources.map((source) => [source.key, source.sha256])) };

        const result = await runCachedStage(store, keyInput, async () => {
          const rowBytes = bytesPerCode(input.codeLengthBits);
          const parts: Uint8Array[] = [];
          const labels: string[] = [];
          for (const source of sources) {
            const shard = await getCodeShard(store, source.key);
            parts.push(shard.codes.data);
            shard.ids.forEach((id, row) => labels.push(JSON.stringify({ id, identity: shard.identities[row], sensor: shard.sensors[row], dataset: shard.datasets[row] })));
          }
          const codes = new Uint8Array(labels.length * rowBytes);
          let offset = 0;
          for (const part of parts) {
            codes.set(part, offset);
            offset += part.byteLength;
          }
          const published = await buildIndex(store, {
            name: input.index.name,
            codeLengthBits: input.codeLengthBits,
            codes,
            labels,
            shardCount: input.index.shardCount,
            modelVersion: input.modelVersion,
            sourceCodeShards: sources,
          });
          return { indexName: input.index.name, version: published.version, codes: labels.length };
        });
        const { output } = result;
        // A cached index may no longer be current when another run published to the same name since.
        const reactivated = result.cached && (await activateIndexVersion(store, output.indexName, output.version));
        const detail = `index ${output.indexName} v${output.version}${reactivated ? ' (made current again)' : ''}, ${output.codes} codes`;
        return { cached: result.cached, key: result.key, detail, output };
      });
    },

    /**
     * Evaluates every trained hasher on the hashing-eval fingers: their probe
     * impressions are queries against their gallery impressions. Logs one
     * MLflow run per hasher and returns the table rows.
     */
    async evaluateHashers(input: {
      preparedManifestKey: string;
      hashing: HashingStageOutput;
      /** Pixel grid side of hashing outputs that record no encoder settings. */
      featureSizePx: number;
      tracking?: TrackingContext;
    }): Promise<StageOutcome<HasherEvaluation[]>> {
      return failFastOnUserInput(async () => {
        const encoder: EncoderSettings = input.hashing.encoder ?? { features: { kind: 'pixels', sizePx: input.featureSizePx } };
        const keyInput = {
          stage: 'evaluate',
          codeVersion: CODE_VERSIONS.evaluate,
          config: { encoder },
          inputs: { prepared: input.preparedManifestKey, modelVersion: input.hashing.modelVersion },
        };
        const result = await runCachedStage(store, keyInput, async () => {
          const evaluation = await readPreparedImages(store, input.preparedManifestKey, { hashingSplit: 'eval' });
          const gallery = evaluation.filter((image) => image.retrievalRole === 'gallery');
          const probes = evaluation.filter((image) => image.retrievalRole === 'probe');
          const identities = new Map<string, number>();
          const galleryLabels = identityNumbers(gallery, identities);
          const probeLabels = identityNumbers(probes, identities);
          const { galleryFeatures, probeFeatures } = await withFeatureEncoder(store, encoder, async (chain) => ({
            galleryFeatures: chain.encodeFeatures(gallery.map(grayImageOf)),
            probeFeatures: chain.encodeFeatures(probes.map(grayImageOf)),
          }));

          const rows: HasherEvaluation[] = [];
          for (const [index, trained] of input.hashing.hashers.entries()) {
            Context.current().heartbeat({ done: index, total: input.hashing.hashers.length });
            const hasher = deserializeHasher(await store.get(trained.key));
            const database = await hasher.encode(galleryFeatures);
            const queries = await hasher.encode(probeFeatures);
            const report = evaluateRetrieval({ queries, database, queryLabels: probeLabels, databaseLabels: galleryLabels });
            const bits = bitStatistics(database);
            const bitBalanceMaxDeviation = Math.max(...Array.from(bits.onesFraction, (share) => Math.abs(share - 0.5)));
            rows.push({ kind: trained.kind, codeLengthBits: trained.codeLengthBits, report, bitBalanceMaxDeviation });

            if (input.tracking !== undefined) {
              const run = await tracking.createRun({
                experimentId: input.tracking.experimentId,
                parentRunId: input.tracking.parentRunId,
                runName: `retrieval-${trained.kind}-${trained.codeLengthBits}`,
                tags: { 'whorl.stage': 'retrieval', 'whorl.hasher': trained.kind, 'whorl.code_length_bits': String(trained.codeLengthBits) },
              });
              await tracking.logBatch(run.runId, {
                params: { kind: trained.kind, codeLengthBits: trained.codeLengthBits, probes: probes.length, gallery: gallery.length },
                metrics: [
                  { key: 'mAP', value: report.meanAveragePrecision },
                  { key: 'rank1', value: report.rank1IdentificationRate },
                  ...report.hitRateByPenetration.map((point) => ({ key: `hit_rate_at_${Math.round(point.penetrationRate * 100)}pct`, value: point.hitRate })),
                ],
              });
              await tracking.endRun(run.runId);
            }
          }
          return rows;
        });
        const best = [...result.output].sort((a, b) => b.report.meanAveragePrecision - a.report.meanAveragePrecision)[0];
        const detail = best === undefined ? 'no hashers' : `best mAP ${best.report.meanAveragePrecision.toFixed(3)} (${best.kind}, ${best.codeLengthBits} bits)`;
        return { cached: result.cached, key: result.key, detail, output: result.output };
      });
    },
  };
}

export type RetrievalActivities = ReturnType<typeof createRetrievalActivities>;
