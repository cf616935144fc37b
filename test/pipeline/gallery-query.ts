import { readFile } from 'node:fs/promises';
import { readPreparedImages } from '../../src/datasets/manifest';
import { encodeQueryImage, loadEncoderChain } from '../../src/pipeline/query-encoder';
import { ShardedSearcher } from '../../src/search/sharded-searcher';
import type { ObjectStore } from '../../src/storage';

/** What searching a gallery image's source file against its own index found. */
export interface GalleryQueryResult {
  galleryId: string;
  /** Id in the label of the nearest code. */
  nearestId: string;
  distance: number;
  /** Whether the encoder chain aligned the query before taking features. */
  aligned: boolean;
  timingsMs: Record<string, number>;
}

/**
 * Encodes the source file of the first gallery image of a prepared data set
 * with an index's model version, as `whorl search --image` does, and returns
 * the nearest code of the index.
 */
export async function queryFirstGalleryImage(
  store: ObjectStore,
  options: { manifestKey: string; modelVersion: string; indexName: string; codeLengthBits: number },
): Promise<GalleryQueryResult> {
  const [galleryImage] = await readPreparedImages(store, options.manifestKey, { retrievalRole: 'gallery' });
  const chain = await loadEncoderChain(store, options.modelVersion, options.codeLengthBits);
  const searcher = new ShardedSearcher({ store, indexName: options.indexName });
  try {
    const encoded = await encodeQueryImage(chain, await readFile(galleryImage.sourceKey));
    await searcher.refresh();
    const result = await searcher.search(encoded.code, 1);
    return {
      galleryId: galleryImage.id,
      nearestId: (JSON.parse(result.labels[0][0] ?? '{}') as { id?: string }).id ?? '',
      distance: result.distances[0][0],
      aligned: chain.features.alignment !== undefined,
      timingsMs: encoded.timingsMs,
    };
  } finally {
    chain.features.dispose();
    await searcher.close();
  }
}
