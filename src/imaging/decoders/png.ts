import { PNG } from 'pngjs';
import { ImageDecodeError, describeThrown } from '../decode-error';
import { grayFromRgba, type GrayImage } from '../gray-image';
import type { ImageSize } from './image-size';

/** Reads width and height from the IHDR chunk without inflating pixel data. */
export function readPngSize(bytes: Uint8Array): ImageSize {
  if (bytes.length < 24) throw new ImageDecodeError('truncated', `PNG ends after ${bytes.length} bytes, before its IHDR chunk`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { widthPx: view.getUint32(16), heightPx: view.getUint32(20) };
}

/**
 * Walks the chunk list and raises when it runs past the end of the file
 * before an IEND chunk. Bytes after IEND are allowed, since some writers
 * append them.
 */
export function checkPngComplete(bytes: Uint8Array): void {
  findPngEnd(bytes);
}

/** Returns the offset just past the IEND chunk. */
function findPngEnd(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  while (offset + 8 <= bytes.length) {
    const dataBytes = view.getUint32(offset);
    const type = String.fromCharCode(bytes[offset + 4], bytes[offset + 5], bytes[offset + 6], bytes[offset + 7]);
    const next = offset + 12 + dataBytes;
    if (next > bytes.length) break;
    if (type === 'IEND') return next;
    offset = next;
  }
  throw new ImageDecodeError('truncated', `PNG chunk list runs past the end of the file (${bytes.length} bytes) before an IEND chunk, so the file was cut short`);
}

/**
 * Decodes any PNG color type and bit depth (16-bit is scaled to 8 bits) to
 * gray. Bytes after the IEND chunk are ignored.
 */
export function decodePng(bytes: Uint8Array): GrayImage {
  const endOffset = findPngEnd(bytes);
  let png: { width: number; height: number; data: Buffer };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, endOffset));
  } catch (thrown) {
    throw new ImageDecodeError('corrupt', `PNG decoding failed: ${describeThrown(thrown)}`);
  }
  return grayFromRgba(png.data, png.width, png.height);
}
