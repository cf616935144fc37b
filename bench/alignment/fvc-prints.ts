import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImpressionPair } from '../../src/alignment';
import { decodeImage, type GrayImage } from '../../src/imaging';

/** FVC B sets read by the alignment benchmarks, relative to the data sets folder. */
export const DATABASES = ['fvc2000/DB1_B', 'fvc2000/DB2_B', 'fvc2002/DB1_B', 'fvc2002/DB2_B', 'fvc2004/DB2_B', 'fvc2004/DB4_B'];

/** Fingers 101–107 of every database train and fingers 108–110 evaluate, so no evaluated finger is seen in training. */
export const FIRST_EVALUATION_FINGER = 108;

export interface Print {
  database: string;
  finger: number;
  impression: number;
  image: GrayImage;
}

/** Decodes every `<finger>_<impression>.tif` of DATABASES under `root`. */
export function loadPrints(root: string): Print[] {
  const prints: Print[] = [];
  for (const database of DATABASES) {
    for (const name of readdirSync(join(root, database)).sort()) {
      const match = /^(\d+)_(\d+)\.tif$/.exec(name);
      if (match === null) continue;
      prints.push({ database, finger: Number(match[1]), impression: Number(match[2]), image: decodeImage(readFileSync(join(root, database, name))) });
    }
  }
  return prints;
}

/** Pairs impression 1 of each held-out finger with its impressions 2–8. */
export function heldOutImpressionPairs(evaluationPrints: Print[]): ImpressionPair[] {
  const pairs: ImpressionPair[] = [];
  for (const query of evaluationPrints.filter((print) => print.impression === 1)) {
    for (const candidate of evaluationPrints.filter((print) => print.database === query.database && print.finger === query.finger && print.impression !== 1)) {
      pairs.push({ id: `${query.database}/${query.finger}_1-${candidate.impression}`, query: query.image, candidate: candidate.image });
    }
  }
  return pairs;
}
