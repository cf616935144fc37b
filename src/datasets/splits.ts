import { createHash } from 'node:crypto';
import { comparePaths } from './source-files';

export type SensorSplit = 'train' | 'test';
export type RetrievalRole = 'gallery' | 'probe';
export type HashingSplit = 'train' | 'eval';

export interface SplitAssignment {
  /** Sensor-classification split: per sensor, a seeded `sensorTrainFraction` of images train and the rest test. */
  split: SensorSplit;
  /** Retrieval role: per finger, `galleryImpressionsPerFinger` impressions are enrolled and the rest are probes. */
  retrievalRole: RetrievalRole;
  /** Hashing-network split: whole fingers go to train or eval, so the two share no identity. */
  hashingSplit: HashingSplit;
}

export interface SplitOptions {
  seed: number;
  /** Fraction of each sensor's images in the train split; 0.1 in the sensor-classification protocol. */
  sensorTrainFraction: number;
  galleryImpressionsPerFinger: number;
  /** Fraction of each data set's fingers held out for evaluating the hashing network. */
  hashingEvalFraction: number;
}

export interface SplitInput {
  id: string;
  dataset: string;
  sensor: string;
  identity: string;
}

/**
 * Computes a seeded sort key, the SHA-256 of seed, purpose and key. Sorting
 * by it is a shuffle that depends only on the seed and the key, not on
 * input order or on which other records exist.
 */
function orderKey(seed: number, purpose: string, key: string): string {
  return createHash('sha256').update(`${seed}\0${purpose}\0${key}`).digest('hex');
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}

/**
 * Returns how many of `count` items take the first part, which is the
 * rounded fraction. When count ≥ 2 and the fraction lies strictly between
 * 0 and 1, the result is clamped to [1, count − 1] so neither part is empty.
 */
export function firstPartCount(count: number, fraction: number): number {
  const rounded = Math.round(count * fraction);
  if (count < 2 || fraction <= 0 || fraction >= 1) return Math.min(count, rounded);
  return Math.min(count - 1, Math.max(1, rounded));
}

function shuffled<T extends { id: string }>(items: T[], seed: number, purpose: string, keyOf: (item: T) => string = (item) => item.id): T[] {
  return items
    .map((item) => ({ item, key: orderKey(seed, purpose, keyOf(item)) }))
    .sort((a, b) => comparePaths(a.key, b.key))
    .map(({ item }) => item);
}

/** Assigns the three splits to every record, deterministically for a seed. */
export function assignSplits(records: SplitInput[], options: SplitOptions): Map<string, SplitAssignment> {
  const sensorSplit = new Map<string, SensorSplit>();
  for (const group of groupBy(records, (record) => record.sensor).values()) {
    const ordered = shuffled(group, options.seed, 'sensor-split');
    const trainCount = firstPartCount(ordered.length, options.sensorTrainFraction);
    ordered.forEach((record, index) => sensorSplit.set(record.id, index < trainCount ? 'train' : 'test'));
  }

  const retrievalRole = new Map<string, RetrievalRole>();
  for (const group of groupBy(records, (record) => record.identity).values()) {
    const ordered = shuffled(group, options.seed, 'gallery-probe');
    const galleryCount = Math.min(ordered.length, Math.max(1, options.galleryImpressionsPerFinger));
    ordered.forEach((record, index) => retrievalRole.set(record.id, index < galleryCount ? 'gallery' : 'probe'));
  }

  const hashingSplitOfIdentity = new Map<string, HashingSplit>();
  const identities = [...groupBy(records, (record) => record.identity).entries()].map(([identity, group]) => ({ id: identity, dataset: group[0].dataset }));
  for (const group of groupBy(identities, (identity) => identity.dataset).values()) {
    const ordered = shuffled(group, options.seed, 'hashing-split');
    const evalCount = firstPartCount(ordered.length, options.hashingEvalFraction);
    ordered.forEach((identity, index) => hashingSplitOfIdentity.set(identity.id, index < evalCount ? 'eval' : 'train'));
  }

  const assignments = new Map<string, SplitAssignment>();
  for (const record of records) {
    assignments.set(record.id, {
      split: sensorSplit.get(record.id) as SensorSplit,
      retrievalRole: retrievalRole.get(record.id) as RetrievalRole,
      hashingSplit: hashingSplitOfIdentity.get(record.identity) as HashingSplit,
    });
  }
  return assignments;
}
