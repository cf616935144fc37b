import type { PreparedImage } from '../datasets/shards';
import { putCodeShard } from '../hashing/code-shards';
import { createPackedCodes, type PackedCodes } from '../hashing/codes';
import type { Hasher } from '../hashing/hasher';
import type { ObjectStore } from '../storage';
import { grayImageOf, type FeatureEncoder } from './feature-encoder';

/** Encodes prepared images into packed codes through a feature chain and a hasher. An empty list gives empty codes. */
export async function encodePreparedImages(hasher: Hasher, features: FeatureEncoder, images: PreparedImage[]): Promise<PackedCodes> {
  if (images.length === 0) return createPackedCodes(new Uint8Array(0), 0, hasher.codeLengthBits);
  return hasher.encode(features.encodeFeatures(images.map(grayImageOf)));
}

/** Writes the codes of prepared images as a code shard under `key`, with each image's id, identity, sensor and data set. */
export async function putPreparedImageCodes(store: ObjectStore, key: string, images: PreparedImage[], codes: PackedCodes, modelVersion: string): Promise<void> {
  await putCodeShard(store, key, {
    ids: images.map((image) => image.id),
    identities: images.map((image) => image.identity),
    sensors: images.map((image) => image.sensor),
    datasets: images.map((image) => image.dataset),
    codes,
    modelVersion,
  });
}
