export { ShardedSearcher, type ShardedSearcherOptions, type VersionedMatches } from './sharded-searcher';
export {
  createSearchService,
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_MAX_K,
  DEFAULT_MAX_QUERIES_PER_REQUEST,
  DEFAULT_REFRESH_INTERVAL_MS,
  type EncodeQuery,
  type EncodedQuery,
  type QueryImage,
  type SearchService,
  type SearchServiceOptions,
} from './search-service';
export type { LabelledMatches } from './shard-set';
export { createReranker, MAX_RERANK_CANDIDATES, orderByMatchScore, type HammingMatch, type RerankedMatch, type RerankerOptions, type RerankMatches } from './rerank';
export { galleryImagesKey, galleryManifestKeys, PreparedGalleryImages } from './gallery-images';
