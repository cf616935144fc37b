import * as tf from '@tensorflow/tfjs';
import { createGrayImage, normalizeIntensity, pasteImage, resizeImage, WHITE, type GrayImage } from '../imaging';

/**
 * Puts the image centred on a white square canvas of side `canvasSidePx`
 * without scaling it. The canvas must be at least as large as the image.
 */
export function centerOnCanvas(image: GrayImage, canvasSidePx: number): GrayImage {
  if (!Number.isInteger(canvasSidePx) || canvasSidePx < Math.max(image.widthPx, image.heightPx)) {
    throw new RangeError(`expected a canvas side of at least ${Math.max(image.widthPx, image.heightPx)} px for a ${image.widthPx}×${image.heightPx} image, but got ${canvasSidePx}`);
  }
  const canvas = createGrayImage(canvasSidePx, canvasSidePx, WHITE);
  pasteImage(canvas, image, Math.floor((canvasSidePx - image.widthPx) / 2), Math.floor((canvasSidePx - image.heightPx) / 2));
  return canvas;
}

/** Side of the smallest square canvas that contains every image unscaled. */
export function commonCanvasSidePx(images: GrayImage[]): number {
  if (images.length === 0) throw new RangeError('expected at least one image to size a canvas');
  return Math.max(...images.map((image) => Math.max(image.widthPx, image.heightPx)));
}

/**
 * Prepares one image for the alignment network: centre it unscaled on a
 * white canvas, stretch its intensities (1st to 99th percentile) and resize
 * the canvas to sizePx × sizePx. Images that share a canvas side keep the
 * same pixels per unit of length, so a pair of different sizes is scaled
 * consistently and the network gets the true relative scale.
 */
export function prepareAlignmentImage(image: GrayImage, options: { sizePx: number; canvasSidePx?: number }): GrayImage {
  const canvasSidePx = options.canvasSidePx ?? Math.max(image.widthPx, image.heightPx);
  const canvas = centerOnCanvas(normalizeIntensity(image), canvasSidePx);
  return resizeImage(canvas, { widthPx: options.sizePx, heightPx: options.sizePx });
}

/**
 * Stacks square gray images of one size into a [count, side, side, 1]
 * tensor of ink values, 1 - gray / 255. White background becomes 0, which
 * matches the zero padding of convolutions and the fill of the warp.
 */
export function inkTensor(images: GrayImage[]): tf.Tensor4D {
  if (images.length === 0) throw new RangeError('expected at least one image to stack');
  const { widthPx, heightPx } = images[0];
  const values = new Float32Array(images.length * widthPx * heightPx);
  images.forEach((image, index) => {
    if (image.widthPx !== widthPx || image.heightPx !== heightPx) {
      throw new RangeError(`expected every image to be ${widthPx}×${heightPx}, but image ${index} is ${image.widthPx}×${image.heightPx}; prepare them with prepareAlignmentImage first`);
    }
    const offset = index * widthPx * heightPx;
    for (let i = 0; i < image.pixels.length; i++) values[offset + i] = 1 - image.pixels[i] / 255;
  });
  return tf.tensor4d(values, [images.length, heightPx, widthPx, 1]);
}
