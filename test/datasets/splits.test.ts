import assert from 'node:assert/strict';
import { assignSplits, firstPartCount, type SplitInput, type SplitOptions } from '../../src/datasets';

function makeRecords(): SplitInput[] {
  const records: SplitInput[] = [];
  for (const [sensor, fingers] of [['sensor-a', 10], ['sensor-b', 25], ['sensor-c', 3]] as const) {
    for (let finger = 0; finger < fingers; finger++) {
      for (let impression = 1; impression <= 8; impression++) {
        records.push({ id: `${sensor}/${finger}_${impression}`, dataset: sensor, sensor, identity: `${sensor}/${finger}` });
      }
    }
  }
  return records;
}

const options: SplitOptions = { seed: 1, sensorTrainFraction: 0.1, galleryImpressionsPerFinger: 2, hashingEvalFraction: 0.2 };

describe('assignSplits', () => {
  const records = makeRecords();

  it('repeats for the same seed regardless of order', () => {
    const first = assignSplits(records, options);
    const second = assignSplits([...records].reverse(), options);
    assert.deepEqual([...first.entries()].sort(), [...second.entries()].sort());
  });

  it('changes with the seed', () => {
    const first = assignSplits(records, options);
    const other = assignSplits(records, { ...options, seed: 2 });
    const differing = records.filter((record) => first.get(record.id)?.split !== other.get(record.id)?.split);
    assert.ok(differing.length > 0);
  });

  it('trains on 10% of each sensor', () => {
    const splits = assignSplits(records, options);
    for (const [sensor, total] of [['sensor-a', 80], ['sensor-b', 200], ['sensor-c', 24]] as const) {
      const train = records.filter((record) => record.sensor === sensor && splits.get(record.id)?.split === 'train').length;
      assert.equal(train, Math.round(total * 0.1), sensor);
    }
  });

  it('enrolls the configured impressions per finger', () => {
    const splits = assignSplits(records, options);
    const galleryByIdentity = new Map<string, number>();
    for (const record of records) {
      if (splits.get(record.id)?.retrievalRole === 'gallery') galleryByIdentity.set(record.identity, (galleryByIdentity.get(record.identity) ?? 0) + 1);
    }
    assert.equal(galleryByIdentity.size, 38);
    assert.ok([...galleryByIdentity.values()].every((count) => count === 2));
  });

  it('keeps hashing splits finger-disjoint', () => {
    const splits = assignSplits(records, options);
    const splitOfIdentity = new Map<string, Set<string>>();
    for (const record of records) {
      const set = splitOfIdentity.get(record.identity) ?? new Set<string>();
      set.add(splits.get(record.id)?.hashingSplit as string);
      splitOfIdentity.set(record.identity, set);
    }
    assert.ok([...splitOfIdentity.values()].every((set) => set.size === 1));
    const evalFingers = [...splitOfIdentity.values()].filter((set) => set.has('eval')).length;
    assert.equal(evalFingers, 2 + 5 + 1);
  });

  it('firstPartCount leaves neither part empty', () => {
    assert.equal(firstPartCount(2, 0.1), 1);
    assert.equal(firstPartCount(5, 0.99), 4);
    assert.equal(firstPartCount(1, 0.1), 0);
    assert.equal(firstPartCount(10, 0), 0);
    assert.equal(firstPartCount(100, 0.1), 10);
  });
});
