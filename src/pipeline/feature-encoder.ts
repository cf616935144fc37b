import type * as tf from '@tensorflow/tfjs';
import { alignToReference } from '../alignment/pipeline';
import { loadAlignmentModel } from '../alignment/model-store';
import type { AlignmentReferences } from '../alignment/reference';
import type { PreparedImage } from '../datasets/shards';
import type { FeatureMatrix } from '../hashing/feature-matrix';
import type { SavedParameter } from '../hashing/hasher';
import type { GrayImage } from '../imaging';
import type { ObjectStore } from '../storage';
import type { HashingConfig } from './config';
import { UserInputError } from '../config/errors';
import { applyWithinClassNormalization, loadWithinClassNormalization, type WithinClassNormalization } from '../hashing/within-class-normalization';
import { loadSensorClassifier, type SensorModelVariant } from '../sensors/classifier';
import { penultimateModel, sensorEmbeddingFeatures } from '../sensors/embedding';
import { pixelFeatures } from './features';
import { multiScaleOrientationFeatures } from './multiscale-orientation-features';
import { orientationFieldFeatures } from './orientation-features';

/** Feature extractor of a hashing model, with its size settings resolved. */
export type FeatureSettings =
  | { kind: 'pixels'; sizePx: number }
  | { kind: 'orientation'; gridCells: number }
  | { kind: 'orientation-multiscale'; grids: number[] }
  | { kind: 'sensor-embedding'; variant: SensorModelVariant; sensorModel: SensorModelRef };

/** A trained sensor classifier: its training stage key and the prefix of its files. */
export interface SensorModelRef {
  modelVersion: string;
  modelPrefix: string;
}

/**
 * Everything between a prepared image and a hasher's input. A model version
 * records these settings, so training, gallery encoding, re-indexing and
 * queries all turn images into features the same way.
 */
export interface EncoderSettings {
  features: FeatureSettings;
  /** Alignment model whose global reference every image is warped onto first; absent when alignment before encoding is off. */
  alignment?: { modelVersion: string; modelPrefix: string };
  /** Object key of the within-class normalization applied to the features last. Absent when the hashing config has none. */
  withinClassNormalizationKey?: string;
}

/**
 * Resolves the feature settings of a `hashing` config section; a section
 * without `features` means pixels. Sensor-embedding features need the trained
 * classifier of their variant, which the pipeline's sensor stage passes in.
 */
export function featureSettingsOf(hashing: Pick<HashingConfig, 'featureSizePx' | 'features'>, sensorModel?: SensorModelRef): FeatureSettings {
  const features = hashing.features;
  if (features === undefined || features.kind === 'pixels') return { kind: 'pixels', sizePx: hashing.featureSizePx };
  if (features.kind === 'orientation-multiscale') return { kind: 'orientation-multiscale', grids: features.grids };
  if (features.kind === 'sensor-embedding') {
    if (sensorModel === undefined) {
      throw new UserInputError(`hashing.features.kind is sensor-embedding, but no trained ${features.variant} sensor classifier was passed; add "${features.variant}" to sensor.variants`);
    }
    return { kind: 'sensor-embedding', variant: features.variant, sensorModel };
  }
  return { kind: 'orientation', gridCells: features.gridCells };
}

/** Returns a prepared image's pixels as a GrayImage, sharing the pixel buffer. */
export function grayImageOf(image: Pick<PreparedImage, 'width' | 'height' | 'pixels'>): GrayImage {
  return { widthPx: image.width, heightPx: image.height, pixels: image.pixels };
}

/** Computes the features of already aligned (or unaligned) images; sensor embeddings need a loaded FeatureEncoder instead. */
export function extractFeatures(images: GrayImage[], settings: FeatureSettings): FeatureMatrix {
  if (settings.kind === 'sensor-embedding') throw new Error('sensor-embedding features need the loaded classifier: use FeatureEncoder.featuresOf');
  if (settings.kind === 'orientation') return orientationFieldFeatures(images, settings.gridCells);
  if (settings.kind === 'orientation-multiscale') return multiScaleOrientationFeatures(images, settings.grids);
  return pixelFeatures(
    images.map((image) => ({ width: image.widthPx, height: image.heightPx, pixels: image.pixels })),
    settings.sizePx,
  );
}

/**
 * A loaded feature chain: optional canonical alignment, then feature
 * extraction. Call dispose when done, because the alignment model keeps
 * tensor memory allocated.
 */
export interface FeatureEncoder {
  settings: EncoderSettings;
  /** The alignment model and its references, when the settings name one. */
  alignment?: { model: tf.LayersModel; references: AlignmentReferences };
  /** Warps each image onto the global reference when alignment is on; returns the images unchanged otherwise. */
  align(images: GrayImage[]): GrayImage[];
  /** Aligns the images (when on) and computes their features. */
  encodeFeatures(images: GrayImage[]): FeatureMatrix;
  /** Computes the features of images that `align` already returned, within-class normalized when the settings name a normalization. */
  featuresOf(alignedImages: GrayImage[]): FeatureMatrix;
  dispose(): void;
}

/**
 * Loads the feature chain that `settings` describe. Alignment uses the global
 * reference for every image, never a per-sensor one, because a query image
 * comes without a known sensor and must land in the same frame as the gallery.
 */
export async function loadFeatureEncoder(store: ObjectStore, settings: EncoderSettings): Promise<FeatureEncoder> {
  const loaded = settings.alignment === undefined ? undefined : await loadAlignmentModel(store, settings.alignment.modelPrefix);
  const alignment = loaded === undefined ? undefined : { model: loaded.model, references: loaded.references };

  const align = (images: GrayImage[]): GrayImage[] => {
    if (alignment === undefined || images.length === 0) return images;
    const reference = alignment.references.global;
    // Prepared images are square at the data set's imageSizePx, as the reference is, so the output keeps that size.
    // NOTE: the gallery is aligned in batches and a query alone. Tests found equal features both ways on the
    // tfjs-node CPU backend, but a backend that rounds batched convolutions differently could flip a code bit.
    return alignToReference(alignment.model, reference, images, { outputSizePx: reference.widthPx }).map((aligned) => aligned.image);
  };

  const features = settings.features;
  const sensor = features.kind === 'sensor-embedding' ? await loadSensorClassifier(store, features.sensorModel.modelPrefix) : undefined;
  const embedder = sensor === undefined ? undefined : penultimateModel(sensor);
  const rawFeaturesOf = (alignedImages: GrayImage[]): FeatureMatrix =>
    sensor !== undefined && embedder !== undefined ? sensorEmbeddingFeatures(sensor, embedder, alignedImages) : extractFeatures(alignedImages, features);
  let normalization: WithinClassNormalization | undefined;
  if (settings.withinClassNormalizationKey !== undefined) {
    const saved = JSON.parse(Buffer.from(await store.get(settings.withinClassNormalizationKey)).toString('utf8')) as { [name: string]: SavedParameter };
    normalization = loadWithinClassNormalization(saved);
  }
  const featuresOf = (alignedImages: GrayImage[]): FeatureMatrix => {
    const raw = rawFeaturesOf(alignedImages);
    return normalization === undefined ? raw : applyWithinClassNormalization(raw, normalization);
  };

  return {
    settings,
    alignment,
    align,
    featuresOf,
    encodeFeatures: (images) => featuresOf(align(images)),
    dispose: () => {
      alignment?.model.dispose();
      sensor?.model.dispose();
    },
  };
}
