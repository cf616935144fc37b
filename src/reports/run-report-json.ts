import { z } from 'zod';
import { UserInputError } from '../config/errors';
import { DATA_SECTION_IDS, RUN_REPORT_FORMAT_VERSION, type RunReport } from './run-report';

const fraction = z.number().min(0).max(1);
const isoTimestamp = z.iso.datetime({ offset: true });
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64 text');
const fileNameSafe = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit');

const stageSchema = z
  .object({
    name: z.string().min(1),
    status: z.enum(['succeeded', 'failed', 'skipped', 'cancelled', 'running']),
    startedAt: isoTimestamp.optional(),
    durationMs: z.number().nonnegative().optional(),
    cacheHit: z.boolean().optional(),
    reason: z.string().optional(),
    errorType: z.string().optional(),
    sections: z.array(z.enum(DATA_SECTION_IDS)).optional(),
  })
  .strict();

const trainingSchema = z
  .object({
    network: z.string().min(1),
    epochs: z.array(
      z
        .object({
          epoch: z.number().int().positive(),
          trainLoss: z.number(),
          validationLoss: z.number().optional(),
          trainAccuracy: fraction.optional(),
          validationAccuracy: fraction.optional(),
        })
        .strict(),
    ),
  })
  .strict();

const sensorSchema = z
  .object({
    sensors: z.array(z.string().min(1)).min(1),
    variants: z.array(
      z
        .object({
          variant: z.string().min(1),
          network: z.string().optional(),
          overallCcr: fraction,
          ccrPerSensor: z.record(z.string(), fraction),
          confusionMatrix: z.array(z.array(z.number().int().nonnegative())),
        })
        .strict(),
    ),
  })
  .strict()
  .superRefine((value, context) => {
    const size = value.sensors.length;
    value.variants.forEach((variant, index) => {
      const square = variant.confusionMatrix.length === size && variant.confusionMatrix.every((row) => row.length === size);
      if (!square) {
        context.addIssue({ code: 'custom', path: ['variants', index, 'confusionMatrix'], message: `expected a ${size}×${size} matrix, one row and column per sensor` });
      }
    });
  });

const robustnessSchema = z
  .object({
    variant: z.string().min(1),
    perturbation: z.enum(['rotation', 'occlusion', 'noise']),
    points: z.array(z.object({ level: z.number(), ccr: fraction }).strict()),
  })
  .strict();

const alignmentSchema = z
  .object({
    gridErrorBeforePx: z.array(z.number().nonnegative()),
    gridErrorAfterPx: z.array(z.number().nonnegative()),
    overlays: z.array(
      z
        .object({
          name: fileNameSafe,
          caption: z.string(),
          png: base64.transform((text) => new Uint8Array(Buffer.from(text, 'base64'))),
        })
        .strict(),
    ),
  })
  .strict();

const retrievalSchema = z
  .object({
    results: z.array(
      z
        .object({
          hasher: z.string().min(1),
          codeLengthBits: z.number().int().positive(),
          meanAveragePrecision: fraction,
          rank1IdentificationRate: fraction.optional(),
          precisionAtK: z.record(z.string().regex(/^[1-9][0-9]*$/, 'a positive integer k'), fraction),
          precisionRecall: z.array(z.object({ recall: fraction, precision: fraction }).strict()),
          hitRateByPenetration: z.array(z.object({ penetrationRate: fraction, hitRate: fraction }).strict()),
        })
        .strict(),
    ),
  })
  .strict();

const codeQualitySchema = z
  .object({
    hasher: z.string().min(1),
    codeLengthBits: z.number().int().positive(),
    bitBalance: z.array(fraction),
    bitCorrelation: z.array(z.array(z.number().min(-1).max(1))),
  })
  .strict()
  .superRefine((value, context) => {
    const bits = value.codeLengthBits;
    if (value.bitBalance.length !== bits) {
      context.addIssue({ code: 'custom', path: ['bitBalance'], message: `expected ${bits} values, one per bit, got ${value.bitBalance.length}` });
    }
    if (value.bitCorrelation.length !== bits || value.bitCorrelation.some((row) => row.length !== bits)) {
      context.addIssue({ code: 'custom', path: ['bitCorrelation'], message: `expected a ${bits}×${bits} matrix` });
    }
  });

const indexSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().min(1),
    kind: z.string().min(1),
    codeCount: z.number().int().nonnegative(),
    codeLengthBits: z.number().int().positive(),
    shards: z.array(z.object({ name: z.string().min(1), codeCount: z.number().int().nonnegative(), sizeBytes: z.number().int().nonnegative() }).strict()),
    queryLatencyMs: z.array(z.number().nonnegative()),
    topK: z.number().int().positive().optional(),
  })
  .strict();

/** Schema of `run-report.json`: a RunReport with overlay PNGs as base64 text. */
export const runReportSchema = z
  .object({
    formatVersion: z.literal(RUN_REPORT_FORMAT_VERSION),
    runKey: fileNameSafe,
    title: z.string().optional(),
    status: z.enum(['succeeded', 'failed', 'partial', 'running', 'cancelled']),
    startedAt: isoTimestamp,
    finishedAt: isoTimestamp.optional(),
    config: z.object({ name: z.string().min(1), source: z.string().optional(), values: z.record(z.string(), z.unknown()) }).strict(),
    versions: z
      .object({
        code: z.string().min(1),
        backend: z.string().min(1),
        models: z.array(z.object({ stage: z.string().min(1), version: z.string().min(1), location: z.string().optional() }).strict()),
        index: z.object({ name: z.string().min(1), version: z.string().min(1), manifestKey: z.string().optional() }).strict().optional(),
      })
      .strict(),
    tracking: z.object({ trackingUri: z.string().optional(), experimentId: z.string().optional(), runId: z.string().optional() }).strict().optional(),
    stages: z.array(stageSchema),
    training: z.array(trainingSchema).optional(),
    sensorClassification: sensorSchema.optional(),
    robustness: z.array(robustnessSchema).optional(),
    alignment: alignmentSchema.optional(),
    retrieval: retrievalSchema.optional(),
    codeQuality: z.array(codeQualitySchema).optional(),
    index: indexSchema.optional(),
    quarantine: z.array(z.object({ source: z.string(), item: z.string(), reason: z.string() }).strict()).optional(),
  })
  .strict();

function describeIssue(issue: z.core.$ZodIssue): string {
  const keyPath = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  return `  ${keyPath}: ${issue.message}`;
}

/**
 * Validates a parsed run report and decodes its overlay PNGs. `source` names
 * the input in error messages, which list every invalid field.
 */
export function parseRunReport(input: unknown, source: string): RunReport {
  const result = runReportSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.slice(0, 20).map(describeIssue);
    const more = result.error.issues.length > 20 ? `\n  … and ${result.error.issues.length - 20} more` : '';
    throw new UserInputError(`invalid run report ${source}:\n${lines.join('\n')}${more}`);
  }
  const report: RunReport = result.data;
  return report;
}

/** Parses the text of `run-report.json`; raises UserInputError on invalid JSON or fields. */
export function parseRunReportJson(text: string, source: string): RunReport {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new UserInputError(`invalid run report ${source}: not JSON (${(error as Error).message})`);
  }
  return parseRunReport(input, source);
}

/** Serializes a run report to the JSON text of `run-report.json`, with overlay PNGs as base64. */
export function serializeRunReport(report: RunReport): string {
  const alignment =
    report.alignment === undefined
      ? undefined
      : {
          ...report.alignment,
          overlays: report.alignment.overlays.map((overlay) => ({ ...overlay, png: Buffer.from(overlay.png).toString('base64') })),
        };
  return `${JSON.stringify({ ...report, alignment }, null, 2)}\n`;
}
