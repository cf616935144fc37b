import { z } from 'zod';
import { HASHER_KINDS } from '../hashing/hasher';

/** Code lengths that both the hashers and the Hamming index support. */
export const INDEXABLE_CODE_LENGTHS_BITS = [32, 64, 128] as const;

/** The `hashing` section of a run config: which hashers to train and compare, and which one to index. */
export const hashingConfigSchema = z
  .object({
    kinds: z.array(z.enum(HASHER_KINDS)).min(1).default(['dh', 'itq', 'lsh']),
    codeLengthsBits: z
      .array(z.union([z.literal(16), z.literal(32), z.literal(48), z.literal(64), z.literal(128)]))
      .min(1)
      .default([32, 64]),
    /** Side of the square that prepared images are averaged down to before hashing; features have side² values. */
    featureSizePx: z.number().int().min(4).max(128).default(32),
    /** Epochs of the deep hashers. */
    epochs: z.number().int().positive().max(1000).default(30),
    /** The hasher and code length whose codes go into the search index. */
    indexed: z
      .object({
        kind: z.enum(HASHER_KINDS).default('dh'),
        codeLengthBits: z.union([z.literal(32), z.literal(64), z.literal(128)]).default(64),
      })
      .strict()
      .default({ kind: 'dh', codeLengthBits: 64 }),
  })
  .strict()
  .superRefine((hashing, context) => {
    if (!hashing.kinds.includes(hashing.indexed.kind)) {
      context.addIssue({ code: 'custom', path: ['indexed', 'kind'], message: `must be one of the trained kinds (${hashing.kinds.join(', ')})` });
    }
    if (!(hashing.codeLengthsBits as number[]).includes(hashing.indexed.codeLengthBits)) {
      context.addIssue({ code: 'custom', path: ['indexed', 'codeLengthBits'], message: `must be one of the trained code lengths (${hashing.codeLengthsBits.join(', ')})` });
    }
  });

/** The `index` section: where the gallery index is published and how it is sharded. */
export const indexConfigSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit'),
    shardCount: z.number().int().positive().max(256).default(2),
  })
  .strict();

export type HashingConfig = z.infer<typeof hashingConfigSchema>;
export type IndexConfig = z.infer<typeof indexConfigSchema>;
