import { readPreparedManifest } from '../datasets/manifest';
import type { PreparedImage } from '../datasets/shards';
import { UserInputError } from '../config/errors';
import { deserializeHasher } from '../hashing/create-hasher';
import type { Hasher } from '../hashing/hasher';
import { decodeImage, preprocessImage, type PreprocessOptions } from '../imaging';
import type { EncodeQuery } from '../search/search-service';
import type { ObjectStore } from '../storage';
import type { HashingConfig } from './config';
import { pixelFeatures } from './features';
import { stagePrefix, type StageKeyInput } from './stage-cache';

/**
 * The encoder chain of one trained model version: the preprocessing its
 * training data went through, the feature size and the hasher. Queries use
 * it through createQueryEncoder, so they are encoded exactly like the gallery.
 */
export interface EncoderChain {
  modelVersion: string;
  preprocessing: PreprocessOptions;
  maxImagePixels: number;
  featureSizePx: number;
  hasher: Hasher;
}

/** Loads the chain that produced codes of `codeLengthBits` under model version `modelVersion` (a hashing stage key). */
export async function loadEncoderChain(store: ObjectStore, modelVersion: string, codeLengthBits: number): Promise<EncoderChain> {
  const prefix = stagePrefix('hashing', modelVersion);
  const resultInfo = await store.head(`${prefix}stage-result.json`);
  if (resultInfo === undefined) {
    throw new UserInputError(`model version ${modelVersion} not found: no ${prefix}stage-result.json in ${store.location}; the index was built by another store or the stage outputs were deleted`);
  }
  const record = JSON.parse(Buffer.from(await store.get(`${prefix}stage-result.json`)).toString('utf8')) as {
    keyInput: StageKeyInput & { config: { hashing: HashingConfig } };
    output: { hashers: Array<{ kind: string; codeLengthBits: number; key: string }> };
  };
  const hashing = record.keyInput.config.hashing;
  const trained = record.output.hashers.find((hasher) => hasher.kind === hashing.indexed.kind && hasher.codeLengthBits === codeLengthBits);
  if (trained === undefined) {
    throw new UserInputError(`model version ${modelVersion} has no ${hashing.indexed.kind} hasher with ${codeLengthBits}-bit codes`);
  }
  const manifest = await readPreparedManifest(store, record.keyInput.inputs.prepared);
  return {
    modelVersion,
    preprocessing: manifest.settings,
    maxImagePixels: manifest.settings.maxImagePixels,
    featureSizePx: hashing.featureSizePx,
    hasher: deserializeHasher(await store.get(trained.key)),
  };
}

/** Decodes, preprocesses and hashes one query image with a loaded chain. */
export async function encodeQueryImage(chain: EncoderChain, bytes: Uint8Array): Promise<{ code: Uint8Array; timingsMs: Record<string, number> }> {
  const started = performance.now();
  const decoded = decodeImage(bytes, { maxPixels: chain.maxImagePixels });
  const decodedAt = performance.now();
  const prepared = preprocessImage(decoded, chain.preprocessing);
  const preprocessedAt = performance.now();
  // pixelFeatures reads only the pixels and size of a prepared image.
  const image = { pixels: prepared.pixels, width: prepared.widthPx, height: prepared.heightPx } as PreparedImage;
  const codes = await chain.hasher.encode(pixelFeatures([image], chain.featureSizePx));
  const hashedAt = performance.now();
  return {
    code: codes.data.slice(0, codes.bytesPerCode),
    timingsMs: { decode: decodedAt - started, preprocess: preprocessedAt - decodedAt, hash: hashedAt - preprocessedAt },
  };
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
