import { z } from 'zod';
import { DEFAULT_MAX_PIXELS } from '../imaging/limits';
import { FIT_MODES } from '../imaging/preprocess';

/** Settings of the synthetic generator when a source has layout `synthetic`. */
export const syntheticSourceSchema = z
  .object({
    fingers: z.number().int().positive().max(100_000).default(20),
    sensors: z.number().int().positive().max(8).default(3),
    impressionsPerFinger: z.number().int().positive().max(32).default(4),
  })
  .strict();

/**
 * One data set to prepare. `root` is a local folder and `storePrefix` a key
 * prefix in the run's object store. A source sets exactly one of them,
 * except a synthetic source, which sets neither.
 */
export const datasetSourceSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, starting with a letter or digit'),
    layout: z.enum(['auto', 'fvc', 'iitk', 'iitd-molf', 'manifest', 'synthetic']).default('auto'),
    root: z.string().min(1).optional(),
    storePrefix: z.string().optional(),
    /** Data set name recorded in labels; each layout has a default. */
    dataset: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).optional(),
    /** CSV manifest for the manifest layout: relative to the source root, or absolute. */
    manifest: z.string().min(1).optional(),
    synthetic: syntheticSourceSchema.optional(),
  })
  .strict()
  .superRefine((source, context) => {
    const locations = [source.root, source.storePrefix].filter((value) => value !== undefined).length;
    if (source.layout === 'synthetic') {
      if (locations > 0) context.addIssue({ code: 'custom', path: ['root'], message: 'a synthetic source generates its images, so it takes neither root nor storePrefix' });
    } else if (locations !== 1) {
      context.addIssue({ code: 'custom', path: ['root'], message: 'set exactly one of root (a local folder) or storePrefix (an object-store prefix)' });
    }
  });

export const splitSettingsSchema = z
  .object({
    sensorTrainFraction: z.number().min(0).max(1).default(0.1),
    galleryImpressionsPerFinger: z.number().int().positive().default(1),
    hashingEvalFraction: z.number().min(0).max(1).default(0.2),
  })
  .strict();

/** The `data` section of a run config. */
export const dataConfigSchema = z
  .object({
    sources: z.array(datasetSourceSchema).min(1),
    /** Side of the square prepared images; 96 suits CPU runs, 224 the paper-sized networks. */
    imageSizePx: z.number().int().min(16).max(1024).default(96),
    /** `pad` and `stretch` fill the square, and `fixed-scale` scales every image by imageSizePx / fixedScaleReferenceSidePx. */
    fit: z.enum(FIT_MODES).default('pad'),
    /** `fixed-scale` only: the source side that spans the whole square (default 640). Optional, so other configs keep their content hashes. */
    fixedScaleReferenceSidePx: z.number().int().min(16).max(8192).optional(),
    /** `pad` and `fixed-scale` only: gray level 0–255 of the canvas around each image (default 255, white). Optional, so other configs keep their content hashes. */
    canvasGray: z.number().int().min(0).max(255).optional(),
    variant: z.enum(['full', 'central-patch-on-white']).default('full'),
    normalization: z.enum(['percentile-stretch', 'none']).default('percentile-stretch'),
    splits: splitSettingsSchema.default({ sensorTrainFraction: 0.1, galleryImpressionsPerFinger: 1, hashingEvalFraction: 0.2 }),
    rowsPerShard: z.number().int().positive().max(100_000).default(1024),
    maxImagePixels: z.number().int().positive().default(DEFAULT_MAX_PIXELS),
    maxFileBytes: z.number().int().positive().default(64 * 1024 * 1024),
    outputPrefix: z.string().regex(/^([A-Za-z0-9._-]+\/)+$/, 'a key prefix ending in "/", such as "prepared/"').default('prepared/'),
  })
  .strict()
  .superRefine((data, context) => {
    if (data.fixedScaleReferenceSidePx !== undefined && data.fit !== 'fixed-scale') {
      context.addIssue({ code: 'custom', path: ['fixedScaleReferenceSidePx'], message: `applies only to fit: fixed-scale, but fit is ${data.fit}. Remove it or set fit: fixed-scale` });
    }
    if (data.canvasGray !== undefined && data.fit === 'stretch') {
      context.addIssue({ code: 'custom', path: ['canvasGray'], message: 'applies only to fit: pad or fixed-scale, but fit is stretch, which leaves no canvas. Remove it or change fit' });
    }
    const seen = new Set<string>();
    data.sources.forEach((source, index) => {
      if (seen.has(source.name)) context.addIssue({ code: 'custom', path: ['sources', index, 'name'], message: `duplicate source name "${source.name}"; names must be unique` });
      seen.add(source.name);
    });
  });

export type DatasetSourceConfig = z.infer<typeof datasetSourceSchema>;
export type DataConfig = z.infer<typeof dataConfigSchema>;
/** Everything except the source list: how every source is prepared. */
export type PreparationSettings = Omit<DataConfig, 'sources'>;
