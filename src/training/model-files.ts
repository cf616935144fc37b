import * as tf from '@tensorflow/tfjs';
import type { ObjectStore } from '../storage';

/** File names of a tfjs LayersModel in object storage, as `tf.loadLayersModel` expects them over HTTP. */
export const MODEL_JSON_FILE = 'model.json';
export const MODEL_WEIGHTS_FILE = 'weights.bin';
/** File name of an optimizer's state (iterations and moment accumulators) inside a checkpoint. */
export const OPTIMIZER_STATE_FILE = 'optimizer.json';
export const OPTIMIZER_WEIGHTS_FILE = 'optimizer.bin';

function concatWeightData(data: tf.io.WeightData): Uint8Array {
  const buffers = Array.isArray(data) ? data : [data];
  return new Uint8Array(tf.io.concatenateArrayBuffers(buffers));
}

/** Serializes a model's topology and weights to two files: `model.json` and `weights.bin`. */
export async function modelToFiles(model: tf.LayersModel): Promise<Record<string, Uint8Array>> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (saved) => {
      artifacts = saved;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (artifacts?.weightData === undefined || artifacts.weightSpecs === undefined) {
    throw new Error(`model ${model.name} saved no weights`);
  }

  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [MODEL_WEIGHTS_FILE], weights: artifacts.weightSpecs }],
  };
  return {
    [MODEL_JSON_FILE]: Buffer.from(JSON.stringify(modelJson)),
    [MODEL_WEIGHTS_FILE]: concatWeightData(artifacts.weightData),
  };
}

/** Rebuilds a model from the files that `modelToFiles` returned. Custom layers must be registered first. */
export async function modelFromFiles(files: Record<string, Uint8Array>): Promise<tf.LayersModel> {
  const modelJsonBytes = files[MODEL_JSON_FILE];
  const weights = files[MODEL_WEIGHTS_FILE];
  if (modelJsonBytes === undefined || weights === undefined) {
    throw new Error(`model files incomplete: expected ${MODEL_JSON_FILE} and ${MODEL_WEIGHTS_FILE}, got ${Object.keys(files).join(', ') || 'none'}`);
  }
  const modelJson = JSON.parse(Buffer.from(modelJsonBytes).toString('utf8')) as tf.io.ModelJSON;
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
}

/** Writes a model under `prefix` (such as `models/sensor/<hash>/`): weights first, `model.json` last. */
export async function saveModelToStore(model: tf.LayersModel, store: ObjectStore, prefix: string): Promise<void> {
  const files = await modelToFiles(model);
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  await store.put(base + MODEL_WEIGHTS_FILE, files[MODEL_WEIGHTS_FILE], { contentType: 'application/octet-stream' });
  await store.put(base + MODEL_JSON_FILE, files[MODEL_JSON_FILE], { contentType: 'application/json' });
}

/** Loads a model that `saveModelToStore` wrote under `prefix`. */
export async function loadModelFromStore(store: ObjectStore, prefix: string): Promise<tf.LayersModel> {
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return modelFromFiles({
    [MODEL_JSON_FILE]: await store.get(base + MODEL_JSON_FILE),
    [MODEL_WEIGHTS_FILE]: await store.get(base + MODEL_WEIGHTS_FILE),
  });
}

/**
 * Serializes an optimizer's state. tfjs optimizers create their
 * accumulators on the first step, so before it this returns only the
 * iteration count.
 */
export async function optimizerToFiles(optimizer: tf.Optimizer): Promise<Record<string, Uint8Array>> {
  const weights = await optimizer.getWeights();
  const { data, specs } = await tf.io.encodeWeights(weights);
  return {
    [OPTIMIZER_STATE_FILE]: Buffer.from(JSON.stringify({ className: optimizer.getClassName(), specs })),
    [OPTIMIZER_WEIGHTS_FILE]: new Uint8Array(data),
  };
}

/** Restores the state that `optimizerToFiles` returned into an optimizer of the same class. */
export async function optimizerFromFiles(optimizer: tf.Optimizer, files: Record<string, Uint8Array>): Promise<void> {
  const stateBytes = files[OPTIMIZER_STATE_FILE];
  const data = files[OPTIMIZER_WEIGHTS_FILE];
  if (stateBytes === undefined || data === undefined) {
    throw new Error(`optimizer files incomplete: expected ${OPTIMIZER_STATE_FILE} and ${OPTIMIZER_WEIGHTS_FILE}`);
  }
  const state = JSON.parse(Buffer.from(stateBytes).toString('utf8')) as { className: string; specs: tf.io.WeightsManifestEntry[] };
  if (state.className !== optimizer.getClassName()) {
    throw new Error(`optimizer state was saved from ${state.className}, but the optimizer to restore is ${optimizer.getClassName()}`);
  }
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const decoded = tf.io.decodeWeights(buffer, state.specs);
  await optimizer.setWeights(state.specs.map((spec) => ({ name: spec.name, tensor: decoded[spec.name] })));
}
