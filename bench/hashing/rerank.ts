import type * as tf from '@tensorflow/tfjs';
import { pairwiseMatchScores } from '../../src/alignment';
import type { PackedCodes } from '../../src/hashing/codes';
import { averagePrecision, hammingDistancesToDatabase, rankByDistance } from '../../src/hashing/metrics';
import type { GrayImage } from '../../src/imaging';

/**
 * Ranks the gallery for every probe by Hamming distance (ties by gallery
 * index), then reorders the first `depth` entries by the alignment model's
 * pairwise match score, highest first, with ties kept in Hamming order. The
 * entries after `depth` stay in Hamming order.
 */
export function rerankedRankings(input: {
  model: tf.LayersModel;
  probeImages: GrayImage[];
  galleryImages: GrayImage[];
  probeCodes: PackedCodes;
  galleryCodes: PackedCodes;
  depth: number;
}): Int32Array[] {
  const rankings: Int32Array[] = [];
  for (let probe = 0; probe < input.probeCodes.count; probe++) {
    const order = rankByDistance(hammingDistancesToDatabase(input.probeCodes, probe, input.galleryCodes), input.galleryCodes.codeLengthBits);
    const head = Array.from(order.subarray(0, Math.min(input.depth, order.length)));
    const scores = pairwiseMatchScores(
      input.model,
      input.probeImages[probe],
      head.map((entry) => input.galleryImages[entry]),
    );
    const reordered = head.map((entry, position) => ({ entry, position, score: scores[position].score })).sort((a, b) => b.score - a.score || a.position - b.position);
    const ranking = Int32Array.from(order);
    reordered.forEach((item, rank) => (ranking[rank] = item.entry));
    rankings.push(ranking);
  }
  return rankings;
}

/** Computes the retrieval figures of full gallery rankings, one per probe, with the same definitions as the Hamming rows of the table. */
export function scoreRankings(input: {
  rankings: Int32Array[];
  probeLabels: Int32Array;
  galleryLabels: Int32Array;
  penetrationRates: number[];
  topK: number;
  heldOutRows: number[];
}): { meanAveragePrecision: number; rank1: number; hitRateByPenetration: number[]; topKHitRate: number; topKHitRateHeldOut: number } {
  const galleryCount = input.galleryLabels.length;
  const penetrationRanks = input.penetrationRates.map((rate) => Math.max(1, Math.ceil(rate * galleryCount)));
  const firstRanks = input.rankings.map((ranking, probe) => {
    const rank = ranking.findIndex((entry) => input.galleryLabels[entry] === input.probeLabels[probe]);
    return rank < 0 ? Number.POSITIVE_INFINITY : rank + 1;
  });
  const precisions = input.rankings.map((ranking, probe) => averagePrecision(Array.from(ranking, (entry) => input.galleryLabels[entry] === input.probeLabels[probe])));
  const count = Math.max(1, input.rankings.length);
  const shareWithin = (rows: number[], maximumRank: number): number => (rows.length === 0 ? 0 : rows.filter((probe) => firstRanks[probe] <= maximumRank).length / rows.length);
  const allRows = input.rankings.map((_, probe) => probe);
  return {
    meanAveragePrecision: precisions.reduce((sum, value) => sum + value, 0) / count,
    rank1: shareWithin(allRows, 1),
    hitRateByPenetration: penetrationRanks.map((maximumRank) => shareWithin(allRows, maximumRank)),
    topKHitRate: shareWithin(allRows, input.topK),
    topKHitRateHeldOut: shareWithin(input.heldOutRows, input.topK),
  };
}
