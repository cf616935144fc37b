import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { UserInputError } from './errors';
import { closestName, knownKeysAt } from './suggest';
import { dataConfigSchema } from '../datasets/config';
import { alignmentStageConfigSchema, hashingConfigSchema, indexConfigSchema, reindexConfigSchema, sensorStageConfigSchema } from '../pipeline/config';

/**
 * Schema of a YAML run config. Objects are strict, so a misspelt key fails
 * validation instead of being ignored. Stages add their own sections here as
 * they land.
 */
export const runConfigSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, starting with a letter or digit'),
    seed: z.number().int().nonnegative().default(0),
    queues: z
      .object({
        gpu: z.string().min(1).default('whorl-gpu'),
        cpu: z.string().min(1).default('whorl-cpu'),
      })
      .strict()
      .default({ gpu: 'whorl-gpu', cpu: 'whorl-cpu' }),
    storage: z
      .object({
        kind: z.enum(['s3', 'filesystem']).default('s3'),
        /** Root folder of the filesystem store; used only when kind is filesystem. */
        root: z.string().min(1).optional(),
        /** An empty key prefix, accepted for older configs. Every run writes its keys at the top of the bucket or folder. */
        prefix: z.literal('', { error: 'is not supported: runs write their keys at the top of the bucket. Remove it, and keep runs apart with their own bucket (WHORL_S3_BUCKET) or filesystem root' }).optional(),
      })
      .strict()
      .default({ kind: 's3' }),
    tracking: z
      .object({
        experiment: z.string().min(1).default('whorl'),
      })
      .strict()
      .default({ experiment: 'whorl' }),
    /** Data sets to prepare and how; see src/datasets/config.ts. */
    data: dataConfigSchema.optional(),
    /** Hashers to train and compare, and the one whose codes are indexed; see src/pipeline/config.ts. */
    hashing: hashingConfigSchema.optional(),
    /** Name and sharding of the published gallery index. */
    index: indexConfigSchema.optional(),
    /** Sensor classifiers to train and evaluate; the pipeline skips the sensor stages when absent. */
    sensor: sensorStageConfigSchema.optional(),
    /** Alignment network to train and evaluate; the pipeline skips the alignment stage when absent. */
    alignment: alignmentStageConfigSchema.optional(),
    /** Nightly re-indexing of a gallery into an existing index; see src/pipeline/config.ts. */
    reindex: reindexConfigSchema.optional(),
    /** Heartbeat timeouts: how long a silent activity may run before Temporal retries it on another worker. */
    timeouts: z
      .object({
        /**
         * For network training stages, which heartbeat once per batch. It must also cover the alignment
         * evaluation after the last epoch, which sends no heartbeat; 10 s was too short for the demo on 2 loaded cores.
         */
        trainingHeartbeatSeconds: z.number().int().min(5).max(86_400).default(600),
      })
      .strict()
      .default({ trainingHeartbeatSeconds: 600 }),
    tensors: z
      .object({
        backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
        threads: z.number().int().positive().optional(),
      })
      .strict()
      .default({ backend: 'auto' }),
  })
  .strict()
  .superRefine((config, context) => {
    if (config.storage.kind === 'filesystem' && config.storage.root === undefined) {
      context.addIssue({ code: 'custom', path: ['storage', 'root'], message: 'required when storage.kind is "filesystem"' });
    }
    if (config.hashing?.alignBeforeEncoding === true && config.alignment === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['hashing', 'alignBeforeEncoding'],
        message: 'needs an alignment section, because the alignment stage trains the network that warps each image; add "alignment: { preset: cpu }" or set alignBeforeEncoding to false',
      });
    }
    const features = config.hashing?.features;
    if (features?.kind === 'orientation' && config.data !== undefined && config.data.imageSizePx < 3 * features.gridCells) {
      context.addIssue({
        code: 'custom',
        path: ['hashing', 'features', 'gridCells'],
        message: `must be at most a third of data.imageSizePx (${config.data.imageSizePx}), so each cell spans at least 3 px of gradients; lower gridCells or raise data.imageSizePx`,
      });
    }
    if (features?.kind === 'sensor-embedding' && !(config.sensor?.variants ?? []).includes(features.variant)) {
      context.addIssue({
        code: 'custom',
        path: ['hashing', 'features', 'variant'],
        message: `needs the ${features.variant} sensor classifier, which the sensor section must train; add "sensor: { variants: [${features.variant}] }" or pick another feature kind`,
      });
    }
    if (features?.kind === 'orientation-multiscale' && config.data !== undefined) {
      const imageSizePx = config.data.imageSizePx;
      features.grids.forEach((gridCells, index) => {
        if (imageSizePx >= 3 * gridCells) return;
        context.addIssue({
          code: 'custom',
          path: ['hashing', 'features', 'grids', index],
          message: `must be at most a third of data.imageSizePx (${imageSizePx}), so each cell spans at least 3 px of gradients; lower the grid or raise data.imageSizePx`,
        });
      });
    }
  });

export type RunConfig = z.infer<typeof runConfigSchema>;

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const keyPath = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  let value: unknown = input;
  for (const key of issue.path) {
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  }
  // The value of an unknown-key issue is the whole enclosing section, and the message already names the key.
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(runConfigSchema, issue.path);
    const hints = issue.keys.flatMap((key) => {
      const suggestion = closestName(key, known);
      if (suggestion === undefined) return [];
      return issue.keys.length === 1 ? [`"${suggestion}"`] : [`"${suggestion}" for "${key}"`];
    });
    const advice = hints.length > 0 ? `did you mean ${hints.join(', ')}?` : 'check its spelling against configs/demo.yaml and the Configuration section of the README';
    return `  ${keyPath}: ${issue.message}; ${advice}`;
  }
  // A key written without a value (`data:` alone on its line) reads as null in YAML.
  if (issue.code === 'invalid_type' && (value === null || value === undefined)) {
    const fix = value === null ? 'the key has no value; fill it in as configs/demo.yaml does, or remove the key' : 'add it as configs/demo.yaml does';
    return `  ${keyPath}: ${issue.message} (got ${value === null ? 'an empty value' : 'missing'}); ${fix}`;
  }
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  const limit = 200;
  return `  ${keyPath}: ${issue.message} (got ${shown.length > limit ? `${shown.slice(0, limit)}…` : shown})`;
}

/** Validates a parsed config object; `source` names it in error messages. */
export function parseRunConfig(input: unknown, source: string): RunConfig {
  const result = runConfigSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => describeIssue(issue, input));
    throw new UserInputError(`invalid run config ${source}:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** Reads, parses and validates a YAML run config file. */
export function loadRunConfig(path: string): RunConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserInputError(`cannot read run config ${path}: ${(error as Error).message}; pass an existing YAML file such as configs/demo.yaml`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    if (error instanceof YAMLParseError) {
      throw new UserInputError(`invalid YAML in run config ${path}: ${error.message}`);
    }
    throw error;
  }
  return parseRunConfig(parsed, path);
}
