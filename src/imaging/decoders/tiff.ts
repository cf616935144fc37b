import * as UTIF from 'utif2';
import { ImageDecodeError, describeThrown } from '../decode-error';
import { grayFromRgba, type GrayImage } from '../gray-image';
import type { ImageSize } from './image-size';

const TAG_WIDTH = 't256';
const TAG_HEIGHT = 't257';
const TAG_STRIP_OFFSETS = 't273';
const TAG_STRIP_BYTE_COUNTS = 't279';
const TAG_TILE_OFFSETS = 't324';
const TAG_TILE_BYTE_COUNTS = 't325';

function firstNumber(ifd: UTIF.IFD, tag: string): number | undefined {
  const value = ifd[tag];
  if (Array.isArray(value) && typeof value[0] === 'number') return value[0];
  return undefined;
}

/** Parses the image file directories; only the first image is used. */
function readFirstDirectory(bytes: Uint8Array): UTIF.IFD {
  let directories: UTIF.IFD[];
  try {
    directories = UTIF.decode(toArrayBuffer(bytes));
  } catch (thrown) {
    throw new ImageDecodeError('corrupt', `TIFF directory parsing failed: ${describeThrown(thrown)}`);
  }
  const first = directories.find((ifd) => firstNumber(ifd, TAG_WIDTH) !== undefined);
  if (first === undefined) throw new ImageDecodeError('corrupt', 'TIFF contains no image directory with a width tag');
  return first;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export function readTiffSize(bytes: Uint8Array): ImageSize {
  const ifd = readFirstDirectory(bytes);
  return { widthPx: firstNumber(ifd, TAG_WIDTH) ?? 0, heightPx: firstNumber(ifd, TAG_HEIGHT) ?? 0 };
}

/** Checks that every strip or tile the directory points at lies inside the file. */
export function checkTiffComplete(bytes: Uint8Array): void {
  const ifd = readFirstDirectory(bytes);
  const offsets = (ifd[TAG_STRIP_OFFSETS] ?? ifd[TAG_TILE_OFFSETS]) as number[] | undefined;
  const counts = (ifd[TAG_STRIP_BYTE_COUNTS] ?? ifd[TAG_TILE_BYTE_COUNTS]) as number[] | undefined;
  if (offsets === undefined || counts === undefined) {
    throw new ImageDecodeError('corrupt', 'TIFF image directory has no strip or tile offsets');
  }
  let end = 0;
  for (let i = 0; i < offsets.length; i++) end = Math.max(end, offsets[i] + (counts[i] ?? 0));
  if (end > bytes.length) {
    throw new ImageDecodeError('truncated', `TIFF image data ends at byte ${end}, but the file has ${bytes.length} bytes`);
  }
}

/**
 * Decodes the first image of a TIFF (uncompressed, LZW, PackBits or
 * Deflate; gray, RGB, RGBA or palette) to gray.
 */
export function decodeTiff(bytes: Uint8Array): GrayImage {
  const buffer = toArrayBuffer(bytes);
  let rgba: Uint8Array;
  let widthPx: number;
  let heightPx: number;
  try {
    const ifd = UTIF.decode(buffer).find((candidate) => firstNumber(candidate, TAG_WIDTH) !== undefined);
    if (ifd === undefined) throw new Error('no image directory with a width tag');
    UTIF.decodeImage(buffer, ifd);
    widthPx = ifd.width;
    heightPx = ifd.height;
    rgba = UTIF.toRGBA8(ifd);
  } catch (thrown) {
    throw new ImageDecodeError('corrupt', `TIFF decoding failed: ${describeThrown(thrown)}`);
  }
  if (!(widthPx > 0 && heightPx > 0) || rgba.length < widthPx * heightPx * 4) {
    throw new ImageDecodeError('unsupported-format', `TIFF sample layout is not supported by the decoder (got ${rgba.length} RGBA bytes for ${widthPx}×${heightPx})`);
  }
  return grayFromRgba(rgba, widthPx, heightPx);
}
