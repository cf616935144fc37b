import assert from 'node:assert/strict';
import { createPackedCodes } from '../../src/hashing/codes';
import { averagePrecision, bitStatistics, evaluateRetrieval, rankByDistance } from '../../src/hashing/metrics';

const close = (actual: number, expected: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: got ${actual}, expected ${expected}`);
};

const eightBit = (values: number[]) => createPackedCodes(Uint8Array.from(values), values.length, 8);

describe('retrieval metrics', () => {
  // Query 0b0 (label 1). Database distances: 0, 2, 1, 8 with labels 2, 1, 1, 1,
  // so the ranking is entries 0, 2, 1, 3 with relevance F, T, T, T.
  const tiny = {
    queries: eightBit([0b00000000]),
    database: eightBit([0b00000000, 0b00000011, 0b00000001, 0b11111111]),
    queryLabels: [1],
    databaseLabels: [2, 1, 1, 1],
  };

  it('ranks by distance then database index', () => {
    assert.deepEqual(Array.from(rankByDistance([3, 1, 3, 0, 1], 8)), [3, 1, 4, 0, 2]);
  });

  it('computes average precision by hand', () => {
    close(averagePrecision([false, true, true, true]), (1 / 2 + 2 / 3 + 3 / 4) / 3, 'AP');
    close(averagePrecision([true, false, false, true]), (1 + 2 / 4) / 2, 'AP');
    assert.equal(averagePrecision([false, false]), 0);
  });

  it('matches hand-computed values on a tiny ranking', () => {
    const report = evaluateRetrieval({ ...tiny, precisionCutoffs: [1, 2, 3], penetrationRates: [0.25, 0.5] });
    close(report.meanAveragePrecision, (1 / 2 + 2 / 3 + 3 / 4) / 3, 'mAP');
    assert.deepEqual(report.precisionAtK.map((entry) => entry.k), [1, 2, 3]);
    close(report.precisionAtK[0].precision, 0, 'P@1');
    close(report.precisionAtK[1].precision, 1 / 2, 'P@2');
    close(report.precisionAtK[2].precision, 2 / 3, 'P@3');
    close(report.precisionWithinRadius.precision, 2 / 3, 'precision within radius 2');
    close(report.rank1IdentificationRate, 0, 'rank-1');
    close(report.hitRateByPenetration[0].hitRate, 0, 'hit rate at 25%');
    close(report.hitRateByPenetration[1].hitRate, 1, 'hit rate at 50%');
  });

  it('builds the precision-recall curve by radius', () => {
    const curve = evaluateRetrieval(tiny).precisionRecallCurve;
    assert.equal(curve.length, 9);
    close(curve[0].precision, 0, 'precision at r=0');
    close(curve[0].recall, 0, 'recall at r=0');
    close(curve[1].precision, 1 / 2, 'precision at r=1');
    close(curve[1].recall, 1 / 3, 'recall at r=1');
    close(curve[2].precision, 2 / 3, 'precision at r=2');
    close(curve[2].recall, 2 / 3, 'recall at r=2');
    close(curve[8].precision, 3 / 4, 'precision at r=8');
    close(curve[8].recall, 1, 'recall at r=8');
  });

  it('breaks distance ties by database index', () => {
    const tied = { queries: eightBit([0]), database: eightBit([0b01, 0b10]), queryLabels: [1] };
    close(evaluateRetrieval({ ...tied, databaseLabels: [0, 1] }).meanAveragePrecision, 1 / 2, 'relevant entry second');
    close(evaluateRetrieval({ ...tied, databaseLabels: [1, 0] }).meanAveragePrecision, 1, 'relevant entry first');
  });

  it('averages over queries and skips queries without relevant entries', () => {
    const report = evaluateRetrieval({
      queries: eightBit([0b0, 0b11111111, 0b0]),
      database: eightBit([0b0, 0b11111111]),
      queryLabels: [1, 1, 7],
      databaseLabels: [1, 0],
      precisionCutoffs: [1],
    });
    assert.equal(report.queriesWithoutRelevant, 1);
    // Query 0 ranks its relevant entry first (AP 1); query 1 ranks it second (AP 1/2).
    close(report.meanAveragePrecision, 3 / 4, 'mAP');
    close(report.precisionAtK[0].precision, 1 / 2, 'P@1');
    close(report.precisionWithinRadius.precision, 1 / 2, 'radius precision');
  });

  it('scores an empty Hamming ball as zero precision', () => {
    const report = evaluateRetrieval({ queries: eightBit([0]), database: eightBit([0b111]), queryLabels: [1], databaseLabels: [1] });
    close(report.precisionWithinRadius.precision, 0, 'radius precision');
    close(report.meanAveragePrecision, 1, 'mAP');
  });

  it('rejects codes of different lengths', () => {
    assert.throws(
      () => evaluateRetrieval({ ...tiny, queries: createPackedCodes(new Uint8Array(2), 1, 16) }),
      /16 bits but database codes have 8/,
    );
  });
});

describe('bit statistics', () => {
  it('measures balance and correlation by hand', () => {
    // Bit 0: 1,1,0,0. Bit 1: 0,1,0,1 (independent of bit 0). Bit 2 equals bit 0.
    const stats = bitStatistics(createPackedCodes(Uint8Array.of(0b101, 0b111, 0b000, 0b010), 4, 3));
    assert.deepEqual(Array.from(stats.onesFraction), [0.5, 0.5, 0.5]);
    close(stats.meanBalanceError, 0, 'balance error');
    close(stats.correlation[0 * 3 + 1], 0, 'corr(0, 1)');
    close(stats.correlation[0 * 3 + 2], 1, 'corr(0, 2)');
    close(stats.correlation[1 * 3 + 1], 1, 'corr(1, 1)');
    close(stats.meanAbsoluteCorrelation, 2 / 6, 'mean |corr|');
  });

  it('reports a constant bit as unbalanced and uncorrelated', () => {
    const stats = bitStatistics(createPackedCodes(Uint8Array.of(0b01, 0b11, 0b01), 3, 2));
    close(stats.onesFraction[0], 1, 'ones in bit 0');
    close(stats.meanBalanceError, (0.5 + Math.abs(2 / 3 - 0.5)) / 2, 'balance error');
    close(stats.correlation[0 * 2 + 1], 0, 'corr(0, 1)');
  });
});
