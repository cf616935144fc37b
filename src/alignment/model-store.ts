import type * as tf from '@tensorflow/tfjs';
import { decodeImage, encodePng, type GrayImage } from '../imaging';
import { registerAlignmentLayers, type AlignmentModelOptions } from '../models/alignment';
import type { ObjectStore } from '../storage';
import { loadModelFromStore, saveModelToStore } from '../training';
import type { AlignmentReferences } from './reference';

/** Name of the file an alignment model folder writes last; readers trust only folders that have it. */
export const ALIGNMENT_MANIFEST_FILE = 'alignment.json';
export const ALIGNMENT_MANIFEST_FORMAT = 'whorl.alignment-model/v1';

export interface AlignmentModelManifest {
  format: typeof ALIGNMENT_MANIFEST_FORMAT;
  modelOptions: AlignmentModelOptions;
  /** Reference PNG file names: `global` and one per sensor. */
  references: { global: string; bySensor: Record<string, string> };
  /** Evaluation figures and training parameters, for readers that do not open MLflow. */
  metrics: Record<string, number>;
  createdAt: string;
}

function referenceFileName(sensor: string): string {
  return `reference-sensor-${encodeURIComponent(sensor)}.png`;
}

/**
 * Writes a trained alignment model under `prefix` (such as
 * `models/alignment/<hash>/`): the tfjs model, the reference images as PNG,
 * then the manifest last.
 */
export async function saveAlignmentModel(
  store: ObjectStore,
  prefix: string,
  contents: { model: tf.LayersModel; modelOptions: AlignmentModelOptions; references: AlignmentReferences; metrics: Record<string, number> },
): Promise<AlignmentModelManifest> {
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  await saveModelToStore(contents.model, store, base);

  const bySensor: Record<string, string> = {};
  await store.put(`${base}reference-global.png`, encodePng(contents.references.global), { contentType: 'image/png' });
  for (const [sensor, image] of Object.entries(contents.references.bySensor)) {
    bySensor[sensor] = referenceFileName(sensor);
    await store.put(base + bySensor[sensor], encodePng(image), { contentType: 'image/png' });
  }

  const manifest: AlignmentModelManifest = {
    format: ALIGNMENT_MANIFEST_FORMAT,
    modelOptions: contents.modelOptions,
    references: { global: 'reference-global.png', bySensor },
    metrics: contents.metrics,
    createdAt: new Date().toISOString(),
  };
  await store.put(base + ALIGNMENT_MANIFEST_FILE, JSON.stringify(manifest, null, 2), { contentType: 'application/json' });
  return manifest;
}

/** Loads what saveAlignmentModel wrote; fails when the manifest is missing, so a half-written folder is never used. */
export async function loadAlignmentModel(store: ObjectStore, prefix: string): Promise<{ model: tf.LayersModel; manifest: AlignmentModelManifest; references: AlignmentReferences }> {
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const manifest = JSON.parse(Buffer.from(await store.get(base + ALIGNMENT_MANIFEST_FILE)).toString('utf8')) as AlignmentModelManifest;
  if (manifest.format !== ALIGNMENT_MANIFEST_FORMAT) {
    throw new Error(`unsupported alignment model format "${String(manifest.format)}" in ${base}: expected ${ALIGNMENT_MANIFEST_FORMAT}`);
  }

  registerAlignmentLayers();
  const model = await loadModelFromStore(store, base);
  const readImage = async (name: string): Promise<GrayImage> => decodeImage(await store.get(base + name));
  const bySensor: Record<string, GrayImage> = {};
  for (const [sensor, name] of Object.entries(manifest.references.bySensor)) bySensor[sensor] = await readImage(name);
  return { model, manifest, references: { global: await readImage(manifest.references.global), bySensor } };
}
