import { PNG } from 'pngjs';
import type { GrayImage } from './gray-image';

/** Encodes a gray image as an 8-bit grayscale PNG. */
export function encodePng(image: GrayImage): Uint8Array {
  const png = new PNG({ width: image.widthPx, height: image.heightPx, colorType: 0, inputColorType: 0, bitDepth: 8 });
  png.data = Buffer.from(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8 });
}
