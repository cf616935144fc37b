import { strict as assert } from 'node:assert';
import { UserInputError } from '../../src/config/errors';
import { comparisonRows, comparisonTable, findSensorRunPairs, selectPairs } from '../../src/sensors';
import type { Run } from '../../src/tracking';

function fakeRun(options: { id: string; variant: string; pair?: string; dataVariant?: string; startMs: number; ccr?: number }): Run {
  return {
    info: { runId: options.id, experimentId: '1', runName: options.id, status: 'FINISHED', artifactUri: 's3://x', startTimeMs: options.startMs },
    params: { parameter_count: '1234', 'tensors.backend': 'tensorflow' },
    tags: {
      'whorl.stage': 'sensor',
      'whorl.variant': options.variant,
      ...(options.pair !== undefined ? { 'whorl.pair': options.pair } : {}),
      ...(options.dataVariant !== undefined ? { 'whorl.data_variant': options.dataVariant } : {}),
    },
    metrics: { ccr: options.ccr ?? 0.9, 'ccr.sensor-a': 1, 'robustness.rotation_15': 0.5, 'robustness.rotation_2': 0.8, 'robustness.noise_0.01': 0.7, training_time_ms: 12_300 },
  };
}

describe('sensor run comparison', () => {
  it('pairs newest shallow and deep runs', () => {
    const pairs = findSensorRunPairs([
      fakeRun({ id: 'old-shallow', variant: 'shallow', pair: 'p1', startMs: 1 }),
      fakeRun({ id: 'new-shallow', variant: 'shallow', pair: 'p1', startMs: 5 }),
      fakeRun({ id: 'deep', variant: 'deep', pair: 'p1', startMs: 3 }),
      fakeRun({ id: 'lonely', variant: 'deep', pair: 'p2', startMs: 9 }),
      fakeRun({ id: 'untagged', variant: 'deep', startMs: 9 }),
    ]);
    assert.equal(pairs.length, 1);
    assert.equal(pairs[0].shallow.info.runId, 'new-shallow');
    assert.equal(pairs[0].deep.info.runId, 'deep');
    assert.equal(pairs[0].dataVariant, 'full');
  });

  it('keeps data variants apart', () => {
    const pairs = findSensorRunPairs([
      fakeRun({ id: 's1', variant: 'shallow', pair: 'p', startMs: 1 }),
      fakeRun({ id: 'd1', variant: 'deep', pair: 'p', startMs: 2 }),
      fakeRun({ id: 's2', variant: 'shallow', pair: 'p', dataVariant: 'central-patch-on-white', startMs: 3 }),
      fakeRun({ id: 'd2', variant: 'deep', pair: 'p', dataVariant: 'central-patch-on-white', startMs: 4 }),
    ]);
    assert.deepEqual(
      pairs.map((pair) => pair.dataVariant),
      ['central-patch-on-white', 'full'],
    );
  });

  it('rows show CCR, robustness and costs', () => {
    const [pair] = findSensorRunPairs([
      fakeRun({ id: 's', variant: 'shallow', pair: 'p', startMs: 1, ccr: 0.995 }),
      fakeRun({ id: 'd', variant: 'deep', pair: 'p', startMs: 2, ccr: 0.9 }),
    ]);
    const rows = comparisonRows(pair);
    const byQuantity = Object.fromEntries(rows.map((row) => [row.quantity, row]));
    assert.equal(byQuantity['CCR (aggregate)'].shallow, '99.50%');
    assert.equal(byQuantity['CCR (aggregate)'].deep, '90.00%');
    assert.equal(byQuantity['CCR sensor-a'].shallow, '100.00%');
    assert.equal(byQuantity['rotation 15°'].deepValue, 0.5);
    assert.equal(byQuantity.parameters.shallow, '1,234');
    assert.equal(byQuantity['training time'].deep, '12.3 s');
    assert.equal(byQuantity['tensor backend'].shallow, 'tensorflow');
    assert.deepEqual(
      rows.filter((row) => /^(rotation|noise)/.test(row.quantity)).map((row) => row.quantity),
      ['rotation 2°', 'rotation 15°', 'noise 0.01%'],
    );
    assert.match(comparisonTable(rows), /^quantity +shallow \(VGG-19 variant\) +deep \(ResNet50 variant\)$/m);
  });

  it('rejects unknown pair key', () => {
    const pairs = findSensorRunPairs([fakeRun({ id: 's', variant: 'shallow', pair: 'p', startMs: 1 }), fakeRun({ id: 'd', variant: 'deep', pair: 'p', startMs: 2 })]);
    assert.throws(
      () => selectPairs(pairs, { pairKey: 'missing', limit: 1 }),
      (error: Error) => error instanceof UserInputError && /pairs found: p \(full\)/.test(error.message),
    );
    assert.equal(selectPairs(pairs, { limit: 5 }).length, 1);
  });
});
