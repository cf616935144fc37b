import { readPreparedManifest } from '../datasets/manifest';
import { UserInputError } from '../config/errors';
import { deserializeHasher } from '../hashing/create-hasher';
import type { Hasher } from '../hashing/hasher';
import { decodeImage, preprocessImage, type GrayImage, type PreprocessOptions } from '../imaging';
import type { EncodeQuery } from '../search/search-service';
import type { ObjectStore } from '../storage';
import type { HashingConfig } from './config';
import { featureSettingsOf, loadFeatureEncoder, type EncoderSettings, type FeatureEncoder } from './feature-encoder';
import { stagePrefix, type StageKeyInput } from './stage-cache';

/** The record a hashing stage wrote about one model version. */
export interface ModelVersionRecord {
  modelVersion: string;
  /** Prepared data set the hashers trained on; the pipeline's gallery images are in it too. */
  preparedManifestKey: string;
  hashing: HashingConfig;
  hashers: Array<{ kind: string; codeLengthBits: number; key: string }>;
  encoder: EncoderSettings;
}

/** Reads the stage record of model version `modelVersion` (a hashing stage key). */
export async function readModelVersion(store: ObjectStore, modelVersion: string): Promise<ModelVersionRecord> {
  const prefix = stagePrefix('hashing', modelVersion);
  const resultInfo = await store.head(`${prefix}stage-result.json`);
  if (resultInfo === undefined) {
    throw new UserInputError(`model version ${modelVersion} not found: no ${prefix}stage-result.json in ${store.location}; the index was built by another store or the stage outputs were deleted`);
  }
  const record = JSON.parse(Buffer.from(await store.get(`${prefix}stage-result.json`)).toString('utf8')) as {
    keyInput: StageKeyInput & { config: { hashing: HashingConfig } };
    output: { hashers: Array<{ kind: string; codeLengthBits: number; key: string }>; encoder?: EncoderSettings };
  };
  const hashing = record.keyInput.config.hashing;
  return {
    modelVersion,
    preparedManifestKey: record.keyInput.inputs.prepared,
    hashing,
    hashers: record.output.hashers,
    // Records written before the encoder settings were stored come from pixel-feature runs without alignment.
    encoder: record.output.encoder ?? { features: featureSettingsOf(hashing) },
  };
}

/**
 * The encoder chain of one trained model version: the preprocessing its
 * training data went through, the optional alignment, the features and the
 * hasher. Queries use it through createQueryEncoder, and re-indexing uses it
 * too, so both are encoded exactly like the gallery.
 */
export interface EncoderChain {
  modelVersion: string;
  preprocessing: PreprocessOptions;
  maxImagePixels: number;
  /** Prepared data set that trained the model version. */
  preparedManifestKey: string;
  features: FeatureEncoder;
  hasher: Hasher;
}

/** Loads the chain that produced codes of `codeLengthBits` under model version `modelVersion` (a hashing stage key). */
export async function loadEncoderChain(store: ObjectStore, modelVersion: string, codeLengthBits: number): Promise<EncoderChain> {
  const record = await readModelVersion(store, modelVersion);
  const { hashing } = record;
  const trained = record.hashers.find((hasher) => hasher.kind === hashing.indexed.kind && hasher.codeLengthBits === codeLengthBits);
  if (trained === undefined) {
    throw new UserInputError(`model version ${modelVersion} has no ${hashing.indexed.kind} hasher with ${codeLengthBits}-bit codes`);
  }
  const manifest = await readPreparedManifest(store, record.preparedManifestKey);
  const hasher = deserializeHasher(await store.get(trained.key));
  return {
    modelVersion,
    preprocessing: manifest.settings,
    maxImagePixels: manifest.settings.maxImagePixels,
    preparedManifestKey: record.preparedManifestKey,
    features: await loadFeatureEncoder(store, record.encoder),
    hasher,
  };
}

/**
 * Decodes, preprocesses, aligns (when the model version does) and hashes one
 * query image with a loaded chain. Returns the preprocessed image too, which
 * re-ranking compares with gallery images.
 */
export async function encodeQueryImage(chain: EncoderChain, bytes: Uint8Array): Promise<{ code: Uint8Array; image: GrayImage; timingsMs: Record<string, number> }> {
  const started = performance.now();
  const decoded = decodeImage(bytes, { maxPixels: chain.maxImagePixels });
  const decodedAt = performance.now();
  const prepared = preprocessImage(decoded, chain.preprocessing);
  const preprocessedAt = performance.now();
  const [aligned] = chain.features.align([prepared]);
  const alignedAt = performance.now();
  const codes = await chain.hasher.encode(chain.features.featuresOf([aligned]));
  const hashedAt = performance.now();
  const timingsMs: Record<string, number> = { decode: decodedAt - started, preprocess: preprocessedAt - decodedAt };
  if (chain.features.alignment !== undefined) timingsMs.align = alignedAt - preprocessedAt;
  timingsMs.hash = hashedAt - alignedAt;
  return { code: codes.data.slice(0, codes.bytesPerCode), image: prepared, timingsMs };
}

/**
 * Returns an EncodeQuery for the search service and CLI. Chains are loaded
 * once per model version and code length, then reused.
 */
export function createQueryEncoder(store: ObjectStore): EncodeQuery {
  const chains = new Map<string, Promise<EncoderChain>>();
  return async (image, context) => {
    if (context.modelVersion === null) {
      throw new UserInputError('the index records no model version, so an image cannot be encoded like its codes; query it by code instead');
    }
    const cacheKey = `${context.modelVersion}/${context.codeLengthBits}`;
    let chain = chains.get(cacheKey);
    if (chain === undefined) {
      chain = loadEncoderChain(store, context.modelVersion, context.codeLengthBits);
      chains.set(cacheKey, chain);
      chain.catch(() => chains.delete(cacheKey));
    }
    return encodeQueryImage(await chain, image.bytes);
  };
}
