import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/**
 * Writes a tiny pipeline config named `name` to a scratch folder and returns
 * its path: 72 synthetic images of two sensors, LSH at 32 bits. The seed also
 * names the task queues, so workers of other runs on the same Temporal server
 * cannot take its activities. Sections in `overrides` replace the defaults.
 */
export function writeTinyPipelineConfig(name: string, seed: number, overrides: Record<string, unknown> = {}): string {
  const config = {
    name,
    seed,
    queues: { gpu: `whorl-gpu-${name}-${seed}`, cpu: `whorl-cpu-${name}-${seed}` },
    tracking: { experiment: 'whorl-tests' },
    data: {
      sources: [{ name: 'synthetic', layout: 'synthetic', synthetic: { fingers: 12, sensors: 2, impressionsPerFinger: 3 } }],
      imageSizePx: 48,
      splits: { galleryImpressionsPerFinger: 1, hashingEvalFraction: 0.34 },
    },
    hashing: { kinds: ['lsh'], codeLengthsBits: [32], featureSizePx: 16, indexed: { kind: 'lsh', codeLengthBits: 32 } },
    index: { name, shardCount: 2 },
    ...overrides,
  };
  const path = join(mkdtempSync(join(tmpdir(), `whorl-${name}-`)), 'run.yaml');
  writeFileSync(path, stringify(config));
  return path;
}
