import { readPreparedManifest, readPreparedShard, type PreparedShardInfo } from '../datasets/manifest';
import type { GrayImage } from '../imaging';
import type { IndexManifest } from '../index/index-store';
import type { ObjectStore } from '../storage';

/** Name of the record beside a re-index code shard that names the prepared data set containing its images. */
const GALLERY_IMAGES_FILE = 'gallery-images.json';

/** Returns the key of the gallery-images record that belongs beside `codeShardKey`. */
export function galleryImagesKey(codeShardKey: string): string {
  return codeShardKey.replace(/[^/]*$/, GALLERY_IMAGES_FILE);
}

/**
 * Lists the prepared data sets that hold the gallery images of an index
 * version: the one that trained its model version (the pipeline encodes its
 * gallery from it) and the one named beside each re-index code shard.
 */
export async function galleryManifestKeys(store: ObjectStore, manifest: Pick<IndexManifest, 'sourceCodeShards'>, trainingManifestKey: string): Promise<string[]> {
  const keys = [trainingManifestKey];
  for (const source of manifest.sourceCodeShards) {
    const recordKey = galleryImagesKey(source.key);
    if ((await store.head(recordKey)) === undefined) continue;
    const record = JSON.parse(Buffer.from(await store.get(recordKey)).toString('utf8')) as { preparedManifestKey: string };
    if (!keys.includes(record.preparedManifestKey)) keys.push(record.preparedManifestKey);
  }
  return keys;
}

/** Decoded prepared shards kept in memory between lookups. */
const CACHED_SHARD_COUNT = 4;

/**
 * Looks gallery images up by image id in prepared data sets in object
 * storage. The first lookup in a data set reads every shard once to learn
 * which shard contains which id. Later lookups read only the shards they need,
 * and the most recent few decoded shards stay cached.
 */
export class PreparedGalleryImages {
  private readonly shardById = new Map<string, Map<string, PreparedShardInfo>>();
  private readonly shards = new Map<string, Map<string, GrayImage>>();

  constructor(private readonly store: ObjectStore) {}

  /** Returns the images of `ids` found in the data sets of `manifestKeys`; ids found in none are left out of the map. */
  async getImages(manifestKeys: string[], ids: string[]): Promise<Map<string, GrayImage>> {
    const found = new Map<string, GrayImage>();
    for (const manifestKey of manifestKeys) {
      const locations = await this.locate(manifestKey);
      const byShard = new Map<PreparedShardInfo, string[]>();
      for (const id of ids) {
        const shard = locations.get(id);
        if (shard === undefined || found.has(id)) continue;
        byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
      }
      for (const [shard, shardIds] of byShard) {
        const images = await this.readShard(shard);
        for (const id of shardIds) {
          const image = images.get(id);
          if (image !== undefined) found.set(id, image);
        }
      }
    }
    return found;
  }

  private async locate(manifestKey: string): Promise<Map<string, PreparedShardInfo>> {
    const known = this.shardById.get(manifestKey);
    if (known !== undefined) return known;
    // NOTE: this reads the whole prepared data set once per process, which is slow for a large gallery.
    // An id-to-shard table written at preparation would avoid it.
    const manifest = await readPreparedManifest(this.store, manifestKey);
    const locations = new Map<string, PreparedShardInfo>();
    for (const shard of manifest.shards) {
      for (const id of (await this.readShard(shard)).keys()) locations.set(id, shard);
    }
    this.shardById.set(manifestKey, locations);
    return locations;
  }

  private async readShard(shard: PreparedShardInfo): Promise<Map<string, GrayImage>> {
    const cached = this.shards.get(shard.key);
    if (cached !== undefined) return cached;
    const images = new Map<string, GrayImage>();
    for (const image of await readPreparedShard(this.store, shard)) images.set(image.id, { widthPx: image.width, heightPx: image.height, pixels: image.pixels });
    this.shards.set(shard.key, images);
    if (this.shards.size > CACHED_SHARD_COUNT) {
      const oldest = this.shards.keys().next().value;
      if (oldest !== undefined) this.shards.delete(oldest);
    }
    return images;
  }
}
