import { z } from 'zod';
import { HASHER_KINDS } from '../hashing/hasher';
import { DEFAULT_WITHIN_CLASS_NORMALIZATION } from '../hashing/within-class-normalization';
import { activeFrameOnlyOptions, type FrameOnlyOption } from '../sensors/frame-options';

/** Code lengths that both the hashers and the Hamming index support. */
export const INDEXABLE_CODE_LENGTHS_BITS = [32, 64, 128] as const;

/**
 * Classes whose within-class covariance `hashing.withinClassNormalization`
 * shrinks: `identity` (the training impressions of each finger), `augmented`
 * (each training print with randomly shifted and rotated copies of itself,
 * no labels needed) and `identity-augmented` (the copies of all impressions
 * of one finger together).
 */
export const WITHIN_CLASS_CLASSES = ['identity', 'augmented', 'identity-augmented'] as const;

/** Sensor-classifier variants: `shallow` is the VGG-19 variant, `deep` the ResNet50 variant. */
export const SENSOR_VARIANTS = ['shallow', 'deep'] as const;

/** The `hashing` section of a run config: which hashers to train and compare, and which one to index. */
export const hashingConfigSchema = z
  .object({
    kinds: z.array(z.enum(HASHER_KINDS)).min(1).default(['dh', 'itq', 'lsh']),
    codeLengthsBits: z
      .array(z.union([z.literal(16), z.literal(32), z.literal(48), z.literal(64), z.literal(128)]))
      .min(1)
      .default([32, 64]),
    /** Side of the square that prepared images are averaged down to for `pixels` features; features have side² values. */
    featureSizePx: z.number().int().min(4).max(128).default(32),
    /**
     * Features the hashers take. `pixels` (the default when absent) averages
     * each image down to featureSizePx × featureSizePx cells. `orientation`
     * takes the ridge orientation field on a gridCells × gridCells grid, which
     * needs prepared images that resolve the ridges (about 192 px for 500 dpi prints).
     * `orientation-multiscale` joins the fields of several grids, such as 8 and 16 cells.
     * `sensor-embedding` takes the penultimate layer of the pipeline's trained
     * sensor classifier (`variant`, which the sensor section must train).
     */
    features: z
      .discriminatedUnion(
        'kind',
        [
          z.object({ kind: z.literal('pixels') }).strict(),
          z.object({ kind: z.literal('orientation'), gridCells: z.number().int().min(2).max(64).default(16) }).strict(),
          z
            .object({
              kind: z.literal('orientation-multiscale'),
              grids: z.array(z.number().int().min(2).max(64)).min(1).max(4).default([8, 16]),
            })
            .strict(),
          z.object({ kind: z.literal('sensor-embedding'), variant: z.enum(SENSOR_VARIANTS).default('deep') }).strict(),
        ],
        { error: 'expected kind "pixels", "orientation", "orientation-multiscale" or "sensor-embedding"' },
      )
      .optional(),
    /**
     * Images the hashers train on. `train-fingers` (the default when absent)
     * takes every image of the fingers in the hashing train split, so the
     * evaluation fingers stay unseen. `gallery` takes the gallery images of
     * every finger, the data being indexed, as hashing papers train on the
     * database. Evaluation probes stay out, but the gallery prints of their
     * fingers are in. Supervised hashers then learn from the gallery's identities.
     */
    trainOn: z.enum(['train-fingers', 'gallery']).optional(),
    /**
     * Warp every image onto the alignment model's global reference before its
     * features are taken, in training, gallery encoding, re-indexing and
     * queries. Needs the run config's `alignment` section.
     */
    alignBeforeEncoding: z.boolean().optional(),
    /**
     * Within-class covariance normalization of the features before hashing:
     * a linear map, fitted on the training rows, that shrinks the directions
     * in which prints of one class differ. `classes` picks the classes:
     * `identity` (the impressions of each finger), `augmented` (each print
     * with copiesPerImage randomly shifted and rotated copies, no labels
     * needed) or `identity-augmented` (the copies of all impressions of one
     * finger). Regularization adds that multiple of the mean within-class
     * variance to the diagonal, and exponent 0.5 whitens fully while 0 changes nothing.
     */
    withinClassNormalization: z
      .object({
        classes: z.enum(WITHIN_CLASS_CLASSES).default('identity-augmented'),
        copiesPerImage: z.number().int().min(1).max(32).default(4),
        regularization: z.number().positive().max(1000).default(DEFAULT_WITHIN_CLASS_NORMALIZATION.regularization),
        exponent: z.number().min(0).max(0.5).default(DEFAULT_WITHIN_CLASS_NORMALIZATION.exponent),
      })
      .strict()
      .optional(),
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

/**
 * The gallery folder or object-store prefix that nightly re-indexing reads.
 * `name` prefixes image ids (`<name>/<path>`), so it must stay the same
 * between runs for the index to recognise images it already contains.
 */
export const reindexGallerySchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, starting with a letter or digit').default('gallery'),
    layout: z.enum(['auto', 'fvc', 'iitk', 'iitd-molf', 'manifest']).default('auto'),
    root: z.string().min(1).optional(),
    storePrefix: z.string().min(1).optional(),
    dataset: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).optional(),
    /** CSV manifest for the manifest layout: relative to the gallery root, or absolute. */
    manifest: z.string().min(1).optional(),
  })
  .strict()
  .refine((gallery) => (gallery.root === undefined) !== (gallery.storePrefix === undefined), {
    path: ['root'],
    message: 'set exactly one of root (a local folder) or storePrefix (an object-store prefix)',
  });

/** The `reindex` section: which index nightly re-indexing extends, from which gallery, and when it compacts. */
export const reindexConfigSchema = z
  .object({
    index: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit'),
    gallery: reindexGallerySchema,
    /** Compact the index into base shards once it has more delta segments than this. */
    compactAfterDeltas: z.number().int().nonnegative().max(1000).default(8),
  })
  .strict();

export type ReindexGalleryConfig = z.infer<typeof reindexGallerySchema>;
export type ReindexConfig = z.infer<typeof reindexConfigSchema>;


/** How to fix each frame-only augmentation option set without `keepFrame: true`. */
const FRAME_ONLY_OPTION_MESSAGES: Record<FrameOnlyOption, string> = {
  maxFrameRotationDegrees: 'applies only with keepFrame: true. Set keepFrame: true, or use maxRotationDegrees to turn the whole image',
  maxContrast: 'applies only with keepFrame: true, because outside the frame it would change the canvas. Set keepFrame: true, or remove maxContrast',
};

/**
 * The `sensor` section: which sensor classifiers the pipeline trains and
 * evaluates. Fields left out keep the values of the `size` preset
 * (CPU_SENSOR_TRAINING or PAPER_SENSOR_TRAINING in src/sensors/train.ts).
 */
export const sensorStageConfigSchema = z
  .object({
    variants: z.array(z.enum(SENSOR_VARIANTS)).min(1).default(['shallow', 'deep']),
    /** Training preset: `cpu` (64-pixel gray input, quarter widths) or `paper` (224-pixel RGB input, published widths). */
    size: z.enum(['cpu', 'paper']).default('cpu'),
    epochs: z.number().int().positive().max(1000).optional(),
    batchSize: z.number().int().positive().max(1024).optional(),
    /**
     * `whole` resizes each prepared image to the model input.
     * `whole-and-frame` stacks on it the image's frame, its foreground box
     * against the canvas, stretched to the model input. `patches` cuts
     * crops of the model input size from the prepared image without
     * resizing, and classifies an image by averaging the softmax of a grid of
     * crops. `patches-and-whole` also stacks the resized whole image on each
     * crop. The patch modes need prepared images (data.imageSizePx) at least
     * as large as inputSizePx, and the frame view gains from prepared images
     * larger than the model input.
     */
    input: z.enum(['whole', 'whole-and-frame', 'patches', 'patches-and-whole']).optional(),
    /** Side of the square model input, in pixels; the crop side in the patch modes. */
    inputSizePx: z.number().int().min(16).max(512).optional(),
    /** Patch modes: random crops taken from each training image per epoch. */
    trainPatchesPerImage: z.number().int().positive().max(1000).optional(),
    /** Patch modes: an image is classified from a grid of testPatchGrid × testPatchGrid crops. */
    testPatchGrid: z.number().int().positive().max(16).optional(),
    widthMultiplier: z.number().positive().max(4).optional(),
    learningRate: z.number().positive().max(1).optional(),
    /** `constant`, or `cosine` to decay the rate to 0 over training. */
    learningRateSchedule: z.enum(['constant', 'cosine']).optional(),
    /**
     * Random changes of each training image (`augmentImage` in
     * src/sensors/train.ts). Fields left out keep the preset's values.
     * `keepFrame` moves only the content inside the image's frame, and
     * `maxFrameRotationDegrees` then turns the whole image by up to that
     * angle. `maxContrast` (with keepFrame) scales the content's contrast
     * against white by a factor from 1/maxContrast to maxContrast, and
     * `maxGamma` draws a gamma from 1/maxGamma to maxGamma (1 for none).
     */
    augmentation: z
      .object({
        maxRotationDegrees: z.number().min(0).max(180).optional(),
        maxShiftPx: z.number().int().min(0).max(512).optional(),
        maxGamma: z.number().min(1).max(16).optional(),
        keepFrame: z.boolean().optional(),
        maxFrameRotationDegrees: z.number().min(0).max(180).optional(),
        maxContrast: z.number().min(1).max(16).optional(),
      })
      .strict()
      .optional(),
    /** Evaluate the test split under rotation, occlusion and noise as well; off for a quick run. */
    robustness: z.boolean().default(true),
  })
  .strict()
  .superRefine((sensor, context) => {
    if (new Set(sensor.variants).size !== sensor.variants.length) {
      context.addIssue({ code: 'custom', path: ['variants'], message: 'must not list a variant twice' });
    }
    const augmentation = sensor.augmentation;
    if (augmentation === undefined || augmentation.keepFrame === true) return;
    for (const option of activeFrameOnlyOptions(augmentation)) {
      context.addIssue({ code: 'custom', path: ['augmentation', option], message: FRAME_ONLY_OPTION_MESSAGES[option] });
    }
  });

/** The `alignment` section: training of the affine alignment network on synthetic warps of the training fingers. */
export const alignmentStageConfigSchema = z
  .object({
    /** Network size: `cpu` (64-pixel input) or `paper` (240-pixel input, VGG-16 features). */
    preset: z.enum(['cpu', 'paper']).default('cpu'),
    epochs: z.number().int().positive().max(1000).default(10),
    batchesPerEpoch: z.number().int().positive().max(100_000).default(20),
    /** Synthetic pairs per training step. */
    batchSize: z.number().int().positive().max(1024).default(16),
    /** Adam learning rate. */
    learningRate: z.number().positive().max(1).default(0.001),
    /** Held-out synthetic pairs whose grid-point error the report shows before and after alignment. */
    evaluationPairCount: z.number().int().positive().max(10_000).default(256),
    /** Real impression pairs of held-out fingers for the correlation figures. */
    maxImpressionPairs: z.number().int().positive().max(10_000).default(200),
    /** `per-sensor` stores one reference frame per sensor beside the global one. */
    referenceMode: z.enum(['global', 'per-sensor']).default('global'),
    /** Evaluation pairs drawn as before/after overlays in the report. */
    overlays: z.number().int().min(0).max(16).default(4),
  })
  .strict();

export type SensorStageConfig = z.infer<typeof sensorStageConfigSchema>;
export type AlignmentStageConfig = z.infer<typeof alignmentStageConfigSchema>;
