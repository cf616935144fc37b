import * as tf from '@tensorflow/tfjs';
import { encodePng, type GrayImage } from '../imaging';
import { modelInputBatch, type SensorClassifier } from './classifier';

/** Default layers to draw: the last convolution of VGG blocks 1 and 3, and the ends of ResNet stages 2 and 3. */
export const DEFAULT_FEATURE_MAP_LAYERS: Readonly<Record<'shallow' | 'deep', string[]>> = {
  shallow: ['block1_conv2', 'block3_conv4'],
  deep: ['conv2_block3_out', 'conv3_block4_out'],
};

/**
 * Tiles the first `maxChannels` channels of one feature map [height, width,
 * channels] into a gray grid, each channel stretched to 0–255 on its own,
 * with a one-pixel white border between tiles. Small maps are enlarged by an
 * integer factor (nearest neighbour) so each tile is at least
 * `minTileSizePx` wide.
 */
export function tileFeatureMap(featureMap: tf.Tensor3D, maxChannels = 16, minTileSizePx = 64): GrayImage {
  const [mapHeightPx, mapWidthPx, channelCount] = featureMap.shape;
  const zoom = Math.max(1, Math.ceil(minTileSizePx / mapWidthPx));
  const heightPx = mapHeightPx * zoom;
  const widthPx = mapWidthPx * zoom;
  const tileCount = Math.min(maxChannels, channelCount);
  const columns = Math.ceil(Math.sqrt(tileCount));
  const rows = Math.ceil(tileCount / columns);
  const gridWidthPx = columns * (widthPx + 1) - 1;
  const gridHeightPx = rows * (heightPx + 1) - 1;
  const pixels = new Uint8Array(gridWidthPx * gridHeightPx).fill(255);
  const values = featureMap.dataSync();

  for (let channel = 0; channel < tileCount; channel++) {
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (let index = channel; index < values.length; index += channelCount) {
      low = Math.min(low, values[index]);
      high = Math.max(high, values[index]);
    }
    const scale = high > low ? 255 / (high - low) : 0;
    const left = (channel % columns) * (widthPx + 1);
    const top = Math.floor(channel / columns) * (heightPx + 1);
    for (let y = 0; y < heightPx; y++) {
      for (let x = 0; x < widthPx; x++) {
        const value = values[(Math.floor(y / zoom) * mapWidthPx + Math.floor(x / zoom)) * channelCount + channel];
        pixels[(top + y) * gridWidthPx + left + x] = Math.round((value - low) * scale);
      }
    }
  }
  return { widthPx: gridWidthPx, heightPx: gridHeightPx, pixels };
}

/**
 * Renders the activations of the named layers for one prepared image as
 * PNGs, keyed by layer name. A patch-input classifier takes the central crop
 * of the image's crop range, that is a 1 × 1 test grid.
 */
export function renderFeatureMaps(classifier: SensorClassifier, image: GrayImage, layerNames: string[], maxChannels = 16): Record<string, Uint8Array> {
  const known = classifier.model.layers.map((layer) => layer.name);
  const missing = layerNames.filter((name) => !known.includes(name));
  if (missing.length > 0) {
    throw new Error(`unknown layer(s) ${missing.join(', ')} in model ${classifier.model.name}; layers include ${known.slice(0, 8).join(', ')}, …`);
  }

  const outputs = layerNames.map((name) => classifier.model.getLayer(name).output as tf.SymbolicTensor);
  const probe = tf.model({ inputs: classifier.model.inputs, outputs });
  const pngs: Record<string, Uint8Array> = {};
  tf.tidy(() => {
    // In the patch modes a 1 × 1 grid is the central crop.
    const batch = modelInputBatch([image], { ...classifier.metadata, testPatchGrid: 1 });
    const activations = probe.predict(batch);
    const list = Array.isArray(activations) ? activations : [activations];
    list.forEach((activation, index) => {
      pngs[layerNames[index]] = encodePng(tileFeatureMap(activation.squeeze([0]) as tf.Tensor3D, maxChannels));
    });
  });
  return pngs;
}
