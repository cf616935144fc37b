import { strict as assert } from 'node:assert';
import { packBits } from '../../src/hashing/codes';
import { evaluateRetrieval } from '../../src/hashing/metrics';
import { parseRunReportJson, retrievalResultFromReport, serializeRunReport, stageRecordFromTracked, type TrackedStage } from '../../src/reports';
import { fixtureRunReport } from './fixtures';

/** Packs one code per label, its bits set from the label with one bit in eight flipped, so retrieval is good but not perfect. */
function labelledCodes(labels: number[], codeLengthBits: number, flipSeed: number) {
  const bits = labels.flatMap((label, row) =>
    Array.from({ length: codeLengthBits }, (_, bit) => {
      const clean = (label >> bit % 4) & 1;
      return (row * 31 + bit * 7 + flipSeed) % 8 === 0 ? 1 - clean : clean;
    }),
  );
  return packBits(bits, labels.length, codeLengthBits);
}

describe('report adapters', () => {
  it('converts a retrieval evaluation into a valid result', () => {
    const galleryLabels = Array.from({ length: 40 }, (_, index) => index % 8);
    const probeLabels = Array.from({ length: 16 }, (_, index) => index % 8);
    const report = evaluateRetrieval({
      queries: labelledCodes(probeLabels, 16, 3),
      database: labelledCodes(galleryLabels, 16, 5),
      queryLabels: probeLabels,
      databaseLabels: galleryLabels,
    });

    const result = retrievalResultFromReport({ hasher: 'ITQ', codeLengthBits: 16, report });

    assert.equal(result.meanAveragePrecision, report.meanAveragePrecision);
    assert.equal(result.rank1IdentificationRate, report.rank1IdentificationRate);
    assert.deepEqual(Object.keys(result.precisionAtK), [...new Set(report.precisionAtK.map((entry) => String(entry.k)))]);
    assert.equal(result.precisionRecall.length, report.precisionRecallCurve.length);
    for (let index = 1; index < result.precisionRecall.length; index++) {
      assert.ok(result.precisionRecall[index].recall >= result.precisionRecall[index - 1].recall, 'points not ordered by recall');
    }
    const runReport = { ...fixtureRunReport(), retrieval: { results: [result] } };
    assert.deepEqual(parseRunReportJson(serializeRunReport(runReport), 'adapted').retrieval, { results: [result] });
  });

  const stageCases: Array<{ tracked: TrackedStage; expected: Record<string, unknown> }> = [
    { tracked: { stage: 'prepare', status: 'cached', startedAtMs: 0, finishedAtMs: 1500 }, expected: { name: 'prepare', status: 'succeeded', cacheHit: true, durationMs: 1500, startedAt: '1970-01-01T00:00:00.000Z' } },
    { tracked: { stage: 'hashing', status: 'done' }, expected: { name: 'hashing', status: 'succeeded', cacheHit: false } },
    { tracked: { stage: 'index', status: 'failed', detail: 'shard 3 upload timed out' }, expected: { name: 'index', status: 'failed', reason: 'shard 3 upload timed out' } },
    { tracked: { stage: 'evaluate', status: 'pending' }, expected: { name: 'evaluate', status: 'skipped', reason: 'the run ended before this stage started' } },
    { tracked: { stage: 'encode', status: 'running', startedAtMs: 1000 }, expected: { name: 'encode', status: 'running', startedAt: '1970-01-01T00:00:01.000Z' } },
  ];
  for (const { tracked, expected } of stageCases) {
    it(`maps a ${tracked.status} stage`, () => {
      assert.deepEqual(stageRecordFromTracked(tracked), expected);
    });
  }

  it('keeps the sections and error type given', () => {
    const record = stageRecordFromTracked({ stage: 'index', status: 'failed', detail: 'x' }, { sections: ['index', 'retrieval'], errorType: 'TimeoutError' });
    assert.deepEqual(record.sections, ['index', 'retrieval']);
    assert.equal(record.errorType, 'TimeoutError');
  });
});
