import { UserInputError } from '../config/errors';
import { POPCOUNT_BY_BYTE, unpackBits, type PackedCodes } from './codes';

/*
 * Retrieval metrics over Hamming rankings.
 *
 * Ranking and ties: database entries are ordered by Hamming distance to the
 * query, ascending, and entries at equal distance by database index,
 * ascending. The order is therefore deterministic and independent of the
 * platform's sort.
 *
 * Relevance: a database entry is relevant to a query when their labels are
 * equal (same class, or same finger identity). Queries without any relevant
 * entry are left out of every per-query average (mAP, precision@k, radius
 * precision, hit rates) and counted in `queriesWithoutRelevant`.
 */

/** Returns the Hamming distance from query `queryIndex` to every database code. */
export function hammingDistancesToDatabase(queries: PackedCodes, queryIndex: number, database: PackedCodes): Uint16Array {
  assertComparable(queries, database);
  const codeBytes = database.bytesPerCode;
  const queryOffset = queryIndex * codeBytes;
  const distances = new Uint16Array(database.count);
  for (let entry = 0; entry < database.count; entry++) {
    const entryOffset = entry * codeBytes;
    let distance = 0;
    for (let byte = 0; byte < codeBytes; byte++) {
      distance += POPCOUNT_BY_BYTE[queries.data[queryOffset + byte] ^ database.data[entryOffset + byte]];
    }
    distances[entry] = distance;
  }
  return distances;
}

/**
 * Returns database indices ordered by distance, then by index (a stable
 * counting sort over distances 0..maximumDistance).
 */
export function rankByDistance(distances: ArrayLike<number>, maximumDistance: number): Int32Array {
  const counts = new Int32Array(maximumDistance + 2);
  for (let i = 0; i < distances.length; i++) {
    counts[distances[i] + 1]++;
  }
  for (let distance = 1; distance < counts.length; distance++) {
    counts[distance] += counts[distance - 1];
  }
  const order = new Int32Array(distances.length);
  for (let i = 0; i < distances.length; i++) {
    order[counts[distances[i]]++] = i;
  }
  return order;
}

/** Returns average precision of a ranked list of relevance flags: the mean of precision@k over the ranks k of relevant entries; 0 when none is relevant. */
export function averagePrecision(relevantInRankOrder: ArrayLike<boolean>): number {
  let relevantSeen = 0;
  let precisionSum = 0;
  for (let rank = 0; rank < relevantInRankOrder.length; rank++) {
    if (relevantInRankOrder[rank]) {
      relevantSeen++;
      precisionSum += relevantSeen / (rank + 1);
    }
  }
  return relevantSeen === 0 ? 0 : precisionSum / relevantSeen;
}

export interface RetrievalEvaluationInput {
  queries: PackedCodes;
  database: PackedCodes;
  queryLabels: ArrayLike<number>;
  databaseLabels: ArrayLike<number>;
  /** Cut-offs for precision@k. Default [10, 100, 1000], clipped to the database size. */
  precisionCutoffs?: number[];
  /** Radius for precision within a Hamming ball. Default 2. */
  hammingRadius?: number;
  /** Shares of the database searched for hit rate. Default [0.01, 0.05, 0.1]. */
  penetrationRates?: number[];
}

export interface PrecisionRecallPoint {
  /** Entries with distance <= hammingRadius are retrieved. */
  hammingRadius: number;
  precision: number;
  recall: number;
}

export interface RetrievalReport {
  queryCount: number;
  queriesWithoutRelevant: number;
  /** Mean over queries of average precision over the full Hamming ranking. */
  meanAveragePrecision: number;
  precisionAtK: { k: number; precision: number }[];
  /**
   * Mean over queries of precision among entries within `hammingRadius`. A
   * query that retrieves nothing within the radius scores 0, the convention
   * of Weiss et al. (spectral hashing) and Gong and Lazebnik (ITQ).
   */
  precisionWithinRadius: { hammingRadius: number; precision: number };
  /**
   * Precision and recall of Hamming-ball retrieval for every radius
   * 0..codeLengthBits, pooled over queries: precision = relevant retrieved /
   * retrieved (1 when nothing is retrieved), recall = relevant retrieved / relevant.
   */
  precisionRecallCurve: PrecisionRecallPoint[];
  /**
   * Share of queries whose first relevant entry lies within the first
   * ceil(rate · databaseSize) ranks: hit rate against penetration rate.
   */
  hitRateByPenetration: { penetrationRate: number; hitRate: number }[];
  /** Share of queries whose top-ranked entry is relevant. */
  rank1IdentificationRate: number;
}

/** Evaluates Hamming ranking retrieval. See the file header for ranking and relevance rules. */
export function evaluateRetrieval(input: RetrievalEvaluationInput): RetrievalReport {
  const { queries, database, queryLabels, databaseLabels } = input;
  assertComparable(queries, database);
  if (queryLabels.length !== queries.count || databaseLabels.length !== database.count) {
    throw new UserInputError(
      `label counts do not match code counts: ${queryLabels.length} query labels for ${queries.count} queries, ` +
        `${databaseLabels.length} database labels for ${database.count} entries`,
    );
  }
  if (database.count === 0) {
    throw new UserInputError('cannot evaluate retrieval against an empty database: encode at least one database entry');
  }

  const bits = queries.codeLengthBits;
  const cutoffs = (input.precisionCutoffs ?? [10, 100, 1000]).map((k) => Math.min(k, database.count));
  const radius = input.hammingRadius ?? 2;
  const penetrationRates = input.penetrationRates ?? [0.01, 0.05, 0.1];
  const penetrationRanks = penetrationRates.map((rate) => Math.max(1, Math.ceil(rate * database.count)));
  const cutoffOrder = cutoffs.map((k, index) => ({ k, index })).sort((a, b) => a.k - b.k);

  let evaluatedQueries = 0;
  let averagePrecisionSum = 0;
  const precisionAtKSums = new Float64Array(cutoffs.length);
  let radiusPrecisionSum = 0;
  const hitCounts = new Float64Array(penetrationRates.length);
  let rank1Hits = 0;
  const retrievedByDistance = new Float64Array(bits + 1);
  const relevantRetrievedByDistance = new Float64Array(bits + 1);
  let totalRelevant = 0;

  for (let query = 0; query < queries.count; query++) {
    const distances = hammingDistancesToDatabase(queries, query, database);
    const order = rankByDistance(distances, bits);
    const label = queryLabels[query];

    let relevantCount = 0;
    for (let entry = 0; entry < database.count; entry++) {
      if (databaseLabels[entry] === label) {
        relevantCount++;
        relevantRetrievedByDistance[distances[entry]]++;
      }
      retrievedByDistance[distances[entry]]++;
    }
    totalRelevant += relevantCount;
    if (relevantCount === 0) {
      continue;
    }
    evaluatedQueries++;

    let relevantSeen = 0;
    let precisionSum = 0;
    let firstRelevantRank = 0;
    let cutoffIndex = 0;
    let radiusRetrieved = 0;
    let radiusRelevant = 0;
    for (let rank = 1; rank <= order.length; rank++) {
      const entry = order[rank - 1];
      const isRelevant = databaseLabels[entry] === label;
      if (isRelevant) {
        relevantSeen++;
        precisionSum += relevantSeen / rank;
        if (firstRelevantRank === 0) {
          firstRelevantRank = rank;
        }
      }
      if (distances[entry] <= radius) {
        radiusRetrieved++;
        radiusRelevant += isRelevant ? 1 : 0;
      }
      while (cutoffIndex < cutoffOrder.length && cutoffOrder[cutoffIndex].k === rank) {
        precisionAtKSums[cutoffOrder[cutoffIndex].index] += relevantSeen / rank;
        cutoffIndex++;
      }
    }

    averagePrecisionSum += precisionSum / relevantCount;
    radiusPrecisionSum += radiusRetrieved === 0 ? 0 : radiusRelevant / radiusRetrieved;
    rank1Hits += firstRelevantRank === 1 ? 1 : 0;
    penetrationRanks.forEach((maximumRank, index) => {
      hitCounts[index] += firstRelevantRank <= maximumRank ? 1 : 0;
    });
  }

  const perQuery = (sum: number): number => (evaluatedQueries === 0 ? 0 : sum / evaluatedQueries);
  const precisionRecallCurve: PrecisionRecallPoint[] = [];
  let retrieved = 0;
  let relevantRetrieved = 0;
  for (let distance = 0; distance <= bits; distance++) {
    retrieved += retrievedByDistance[distance];
    relevantRetrieved += relevantRetrievedByDistance[distance];
    precisionRecallCurve.push({
      hammingRadius: distance,
      precision: retrieved === 0 ? 1 : relevantRetrieved / retrieved,
      recall: totalRelevant === 0 ? 0 : relevantRetrieved / totalRelevant,
    });
  }

  return {
    queryCount: queries.count,
    queriesWithoutRelevant: queries.count - evaluatedQueries,
    meanAveragePrecision: perQuery(averagePrecisionSum),
    precisionAtK: cutoffs.map((k, index) => ({ k, precision: perQuery(precisionAtKSums[index]) })),
    precisionWithinRadius: { hammingRadius: radius, precision: perQuery(radiusPrecisionSum) },
    precisionRecallCurve,
    hitRateByPenetration: penetrationRates.map((penetrationRate, index) => ({ penetrationRate, hitRate: perQuery(hitCounts[index]) })),
    rank1IdentificationRate: perQuery(rank1Hits),
  };
}

export interface BitStatistics {
  /** Share of codes with bit `j` set, per bit. */
  onesFraction: Float64Array;
  /** Mean over bits of |onesFraction - 0.5|; 0 for perfectly balanced bits. */
  meanBalanceError: number;
  /** `bits x bits` row-major Pearson correlation of bits; 0 where a bit is constant. */
  correlation: Float64Array;
  /** Mean |correlation| over pairs of distinct bits. */
  meanAbsoluteCorrelation: number;
}

/** Measures how balanced and how correlated the bits of a code set are. */
export function bitStatistics(codes: PackedCodes): BitStatistics {
  const bits = codes.codeLengthBits;
  const n = codes.count;
  if (n === 0) {
    throw new UserInputError('cannot compute bit statistics of zero codes: encode at least one row');
  }
  const values = unpackBits(codes);
  const onesFraction = new Float64Array(bits);
  for (let row = 0; row < n; row++) {
    for (let bit = 0; bit < bits; bit++) {
      onesFraction[bit] += values[row * bits + bit];
    }
  }
  onesFraction.forEach((count, bit) => {
    onesFraction[bit] = count / n;
  });

  const jointOnes = new Float64Array(bits * bits);
  for (let row = 0; row < n; row++) {
    const offset = row * bits;
    for (let i = 0; i < bits; i++) {
      if (values[offset + i] === 0) {
        continue;
      }
      for (let j = 0; j < bits; j++) {
        jointOnes[i * bits + j] += values[offset + j];
      }
    }
  }

  const correlation = new Float64Array(bits * bits);
  let absoluteSum = 0;
  for (let i = 0; i < bits; i++) {
    for (let j = 0; j < bits; j++) {
      const pi = onesFraction[i];
      const pj = onesFraction[j];
      const denominator = Math.sqrt(pi * (1 - pi) * pj * (1 - pj));
      const raw = denominator === 0 ? 0 : (jointOnes[i * bits + j] / n - pi * pj) / denominator;
      // Rounding can push a correlation just past ±1 (on the diagonal, say), so clamp it to its range.
      const value = Math.max(-1, Math.min(1, raw));
      correlation[i * bits + j] = value;
      if (i !== j) {
        absoluteSum += Math.abs(value);
      }
    }
  }

  let balanceErrorSum = 0;
  onesFraction.forEach((fraction) => {
    balanceErrorSum += Math.abs(fraction - 0.5);
  });
  return {
    onesFraction,
    meanBalanceError: balanceErrorSum / bits,
    correlation,
    meanAbsoluteCorrelation: bits < 2 ? 0 : absoluteSum / (bits * (bits - 1)),
  };
}

function assertComparable(queries: PackedCodes, database: PackedCodes): void {
  if (queries.codeLengthBits !== database.codeLengthBits) {
    throw new UserInputError(
      `query codes have ${queries.codeLengthBits} bits but database codes have ${database.codeLengthBits}. Encode both with the same hasher`,
    );
  }
}
