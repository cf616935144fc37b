import { PNG } from 'pngjs';
import type { GrayImage } from '../imaging';

const GAP_PX = 6;

/**
 * Draws two gray images of one size over each other as RGB: the first in
 * the red channel, the second in green and the darker of the two in blue.
 * Where both show a ridge the pixel is dark, a ridge only in the first is
 * green and a ridge only in the second is red, so misalignment reads as colour.
 */
function blendInto(data: Buffer, canvasWidthPx: number, left: number, first: GrayImage, second: GrayImage): void {
  for (let y = 0; y < first.heightPx; y++) {
    for (let x = 0; x < first.widthPx; x++) {
      const a = first.pixels[y * first.widthPx + x];
      const b = second.pixels[y * second.widthPx + x];
      const offset = (y * canvasWidthPx + left + x) * 4;
      data[offset] = a;
      data[offset + 1] = b;
      data[offset + 2] = Math.min(a, b);
      data[offset + 3] = 255;
    }
  }
}

/**
 * Renders a PNG with two panels side by side: the target over the source
 * before alignment, and the target over the aligned source. All three
 * images must have one size.
 */
export function renderAlignmentOverlay(target: GrayImage, source: GrayImage, aligned: GrayImage): Uint8Array {
  for (const [name, image] of [
    ['source', source],
    ['aligned', aligned],
  ] as const) {
    if (image.widthPx !== target.widthPx || image.heightPx !== target.heightPx) {
      throw new RangeError(`expected the ${name} image to be ${target.widthPx}×${target.heightPx} like the target, but got ${image.widthPx}×${image.heightPx}`);
    }
  }
  const widthPx = target.widthPx * 2 + GAP_PX;
  const png = new PNG({ width: widthPx, height: target.heightPx });
  png.data.fill(255);
  blendInto(png.data, widthPx, 0, target, source);
  blendInto(png.data, widthPx, target.widthPx + GAP_PX, target, aligned);
  return PNG.sync.write(png);
}
