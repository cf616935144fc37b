import type * as tf from '@tensorflow/tfjs';
import { loadAlignmentModel } from '../alignment/model-store';
import { pairwiseMatchScores } from '../alignment/pipeline';
import { UserInputError } from '../config/errors';
import type { GrayImage } from '../imaging';
import type { PublishedIndex } from '../index/index-store';
import { silentLogger, type Logger } from '../logging';
import { readModelVersion } from '../pipeline/query-encoder';
import type { ObjectStore } from '../storage';
import { galleryManifestKeys, PreparedGalleryImages } from './gallery-images';

/** One Hamming search result. */
export interface HammingMatch {
  id: number;
  label: string | null;
  distance: number;
}

/** A Hamming search result after re-ranking. */
export interface RerankedMatch extends HammingMatch {
  /** Pairwise match score of the alignment model (overlap correlation after alignment), or null when the gallery image was not found. */
  matchScore: number | null;
  /** 1-based rank in the Hamming order before re-ranking. */
  hammingRank: number;
}

/** Re-ranks a query's Hamming matches against the index version they came from. */
export type RerankMatches = (query: GrayImage, matches: HammingMatch[], context: { published: PublishedIndex }) => Promise<RerankedMatch[]>;

/** Largest number of candidates one query may re-rank, because each costs one alignment-network prediction and a warp. */
export const MAX_RERANK_CANDIDATES = 200;

/**
 * Orders matches by match score, highest first, with ties in Hamming order.
 * Matches without a score keep their Hamming order after the scored ones.
 */
export function orderByMatchScore(matches: HammingMatch[], scores: Array<number | null>): RerankedMatch[] {
  const ranked = matches.map((match, index) => ({ ...match, matchScore: scores[index], hammingRank: index + 1 }));
  return ranked.sort((a, b) => {
    if (a.matchScore === null || b.matchScore === null) {
      if (a.matchScore === b.matchScore) return a.hammingRank - b.hammingRank;
      return a.matchScore === null ? 1 : -1;
    }
    return b.matchScore - a.matchScore || a.hammingRank - b.hammingRank;
  });
}

/** Returns the gallery image id in a label written by the pipeline or re-indexing (`{"id": …}` JSON), or undefined. */
function imageIdOf(label: string | null): string | undefined {
  if (label === null) return undefined;
  try {
    const parsed = JSON.parse(label) as { id?: unknown };
    return typeof parsed.id === 'string' ? parsed.id : undefined;
  } catch {
    // Labels written by other tools need not be JSON; such matches cannot be re-ranked.
    return undefined;
  }
}

export interface RerankerOptions {
  /** Alignment model folder to score with, such as `models/alignment/<key>/`; by default the one the model version aligned with. */
  alignmentModelPrefix?: string;
  logger?: Logger;
}

/**
 * Creates a re-ranker that scores each candidate against the query with the
 * alignment model's pairwise match score (pairwiseMatchScores). Gallery
 * images are read by id from the prepared data sets behind the index
 * version, and both images are compared as preprocessed, before any
 * canonical alignment. Models are loaded once per prefix and kept.
 */
export function createReranker(store: ObjectStore, options: RerankerOptions = {}): RerankMatches {
  const logger = options.logger ?? silentLogger;
  const gallery = new PreparedGalleryImages(store);
  const models = new Map<string, Promise<tf.LayersModel>>();

  const modelFor = async (modelVersion: string | null): Promise<tf.LayersModel> => {
    let prefix = options.alignmentModelPrefix;
    if (prefix === undefined && modelVersion !== null) prefix = (await readModelVersion(store, modelVersion)).encoder.alignment?.modelPrefix;
    if (prefix === undefined) {
      throw new UserInputError(
        `model version ${String(modelVersion)} was trained without alignment, so it names no alignment model to re-rank with; pass an alignment model folder such as models/alignment/<key>/ (--alignment-model)`,
      );
    }
    let model = models.get(prefix);
    if (model === undefined) {
      model = loadAlignmentModel(store, prefix).then((loaded) => loaded.model);
      models.set(prefix, model);
      model.catch(() => models.delete(prefix));
    }
    return model;
  };

  return async (query, matches, context) => {
    const { manifest } = context.published;
    if (manifest.modelVersion === null) {
      throw new UserInputError(`index ${manifest.name} records no model version, so its gallery images cannot be found for re-ranking`);
    }
    const model = await modelFor(manifest.modelVersion);
    const trainingManifestKey = (await readModelVersion(store, manifest.modelVersion)).preparedManifestKey;
    const manifestKeys = await galleryManifestKeys(store, manifest, trainingManifestKey);

    const imageIds = matches.map((match) => imageIdOf(match.label));
    const images = await gallery.getImages(manifestKeys, imageIds.filter((id): id is string => id !== undefined));
    const found = imageIds.flatMap((id, index) => (id !== undefined && images.has(id) ? [index] : []));
    if (found.length < matches.length) {
      logger.warn({ index: manifest.name, version: context.published.version, missing: matches.length - found.length }, 'gallery images not found for re-ranking; those matches keep their Hamming order after the scored ones');
    }

    const scored = pairwiseMatchScores(
      model,
      query,
      found.map((index) => images.get(imageIds[index] as string) as GrayImage),
    );
    const scores: Array<number | null> = matches.map(() => null);
    found.forEach((matchIndex, position) => (scores[matchIndex] = scored[position].score));
    return orderByMatchScore(matches, scores);
  };
}
