import * as jpeg from 'jpeg-js';
import { ImageDecodeError, describeThrown } from '../decode-error';
import { grayFromRgba, type GrayImage } from '../gray-image';
import type { ImageSize } from './image-size';

/** Start-of-frame markers are C0–CF except C4 (DHT), C8 (JPG) and CC (DAC), per ITU-T T.81 table B.1. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Reads width and height from the first start-of-frame segment. */
export function readJpegSize(bytes: Uint8Array): ImageSize {
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) throw new ImageDecodeError('corrupt', `JPEG segment at byte ${offset} does not start with 0xFF`);
    const marker = bytes[offset + 1];
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    const segmentLength = (bytes[offset + 2] << 8) | bytes[offset + 3];
    if (isStartOfFrame(marker)) {
      if (offset + 9 > bytes.length) break;
      const heightPx = (bytes[offset + 5] << 8) | bytes[offset + 6];
      const widthPx = (bytes[offset + 7] << 8) | bytes[offset + 8];
      return { widthPx, heightPx };
    }
    if (marker === 0xda) break;
    offset += 2 + segmentLength;
  }
  throw new ImageDecodeError('truncated', `JPEG has no start-of-frame segment before byte ${Math.min(offset, bytes.length)} of ${bytes.length}`);
}

/** Checks that the file ends with the EOI marker FFD9, allowing up to 62 bytes of padding after it. */
export function checkJpegComplete(bytes: Uint8Array): void {
  const tail = bytes.subarray(Math.max(0, bytes.length - 64));
  for (let i = tail.length - 2; i >= 0; i--) {
    if (tail[i] === 0xff && tail[i + 1] === 0xd9) return;
  }
  throw new ImageDecodeError('truncated', `JPEG has no end-of-image marker in its last 64 bytes (${bytes.length} bytes in all), so the file was cut short`);
}

/** Decodes baseline and progressive JPEG (gray or color) to gray. */
export function decodeJpeg(bytes: Uint8Array, options: { maxPixels: number }): GrayImage {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: Math.max(1, Math.ceil(options.maxPixels / 1e6)),
      maxMemoryUsageInMB: 1024,
    });
  } catch (thrown) {
    throw new ImageDecodeError('corrupt', `JPEG decoding failed: ${describeThrown(thrown)}`);
  }
  return grayFromRgba(decoded.data, decoded.width, decoded.height);
}
