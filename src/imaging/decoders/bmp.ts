import { ImageDecodeError } from '../decode-error';
import { grayFromRgba, type GrayImage } from '../gray-image';
import type { ImageSize } from './image-size';

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;
const CORE_HEADER_BYTES = 12;

interface BmpHeader {
  widthPx: number;
  heightPx: number;
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  pixelOffset: number;
  headerBytes: number;
  paletteEntries: number;
}

/** Parses BITMAPCOREHEADER (OS/2) and BITMAPINFOHEADER with its V4/V5 extensions. */
function readHeader(bytes: Uint8Array): BmpHeader {
  if (bytes.length < 26) throw new ImageDecodeError('truncated', `BMP ends after ${bytes.length} bytes, inside its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelOffset = view.getUint32(10, true);
  const headerBytes = view.getUint32(14, true);
  if (headerBytes === CORE_HEADER_BYTES) {
    return {
      widthPx: view.getUint16(18, true),
      heightPx: view.getUint16(20, true),
      topDown: false,
      bitsPerPixel: view.getUint16(24, true),
      compression: BI_RGB,
      pixelOffset,
      headerBytes,
      paletteEntries: 0,
    };
  }
  if (headerBytes < 40) throw new ImageDecodeError('corrupt', `BMP header size ${headerBytes} is not a known DIB header size (12, 40, 52, 56, 108 or 124)`);
  if (bytes.length < 14 + 40) throw new ImageDecodeError('truncated', `BMP ends after ${bytes.length} bytes, inside its header`);
  const signedHeight = view.getInt32(22, true);
  return {
    widthPx: view.getInt32(18, true),
    heightPx: Math.abs(signedHeight),
    topDown: signedHeight < 0,
    bitsPerPixel: view.getUint16(28, true),
    compression: view.getUint32(30, true),
    pixelOffset,
    headerBytes,
    paletteEntries: view.getUint32(46, true),
  };
}

export function readBmpSize(bytes: Uint8Array): ImageSize {
  const header = readHeader(bytes);
  return { widthPx: header.widthPx, heightPx: header.heightPx };
}

function rowStrideBytes(header: BmpHeader): number {
  return Math.floor((header.bitsPerPixel * header.widthPx + 31) / 32) * 4;
}

/** Checks that the pixel array the header describes fits inside the file. */
export function checkBmpComplete(bytes: Uint8Array): void {
  const header = readHeader(bytes);
  if (header.compression !== BI_RGB && header.compression !== BI_BITFIELDS && header.compression !== BI_ALPHABITFIELDS) return;
  const end = header.pixelOffset + rowStrideBytes(header) * header.heightPx;
  if (end > bytes.length) {
    throw new ImageDecodeError('truncated', `BMP pixel data ends at byte ${end}, but the file has ${bytes.length} bytes`);
  }
}

/** Returns the shift and maximum value of a channel mask, such as 0x00ff0000 → {shift 16, maxValue 255}. */
function maskLayout(mask: number): { shift: number; maxValue: number } {
  if (mask === 0) return { shift: 0, maxValue: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, maxValue: mask >>> shift };
}

/**
 * Decodes uncompressed BMP with 1, 4, 8 (palette), 16, 24 or 32 bits per
 * pixel, including BI_BITFIELDS masks, to gray. RLE-compressed files are
 * reported as unsupported.
 */
export function decodeBmp(bytes: Uint8Array): GrayImage {
  const header = readHeader(bytes);
  const { widthPx, heightPx, bitsPerPixel } = header;
  if (![BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS].includes(header.compression)) {
    throw new ImageDecodeError('unsupported-format', `BMP compression ${header.compression} (RLE or embedded JPEG/PNG) is not supported; convert the file to uncompressed BMP or PNG`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) {
    throw new ImageDecodeError('corrupt', `BMP bits per pixel is ${bitsPerPixel}, expected 1, 4, 8, 16, 24 or 32`);
  }
  if (widthPx <= 0 || heightPx <= 0) throw new ImageDecodeError('corrupt', `BMP size ${widthPx}×${heightPx} is not positive`);
  checkBmpComplete(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  const paletteStart = 14 + header.headerBytes + (header.compression === BI_BITFIELDS && header.headerBytes === 40 ? 12 : 0);
  const paletteEntrySize = header.headerBytes === CORE_HEADER_BYTES ? 3 : 4;
  const paletteCount = bitsPerPixel <= 8 ? header.paletteEntries || 1 << bitsPerPixel : 0;
  const palette = new Uint8Array(256 * 3);
  for (let i = 0; i < Math.min(paletteCount, 256); i++) {
    const offset = paletteStart + i * paletteEntrySize;
    if (offset + 3 > bytes.length) throw new ImageDecodeError('truncated', `BMP palette entry ${i} lies past the end of the file`);
    palette[i * 3] = bytes[offset + 2];
    palette[i * 3 + 1] = bytes[offset + 1];
    palette[i * 3 + 2] = bytes[offset];
  }

  const defaultMasks = bitsPerPixel === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0x00ff0000, 0x0000ff00, 0x000000ff, 0];
  const masks = header.compression === BI_RGB ? defaultMasks : [0, 1, 2, 3].map((i) => (i < 3 || header.compression === BI_ALPHABITFIELDS || header.headerBytes >= 56 ? view.getUint32(54 + i * 4, true) : 0));
  const channels = masks.map(maskLayout);

  const stride = rowStrideBytes(header);
  const rgba = new Uint8Array(widthPx * heightPx * 4);
  for (let y = 0; y < heightPx; y++) {
    const sourceRow = header.topDown ? y : heightPx - 1 - y;
    const rowStart = header.pixelOffset + sourceRow * stride;
    for (let x = 0; x < widthPx; x++) {
      const target = (y * widthPx + x) * 4;
      if (bitsPerPixel <= 8) {
        const bitOffset = x * bitsPerPixel;
        const byte = bytes[rowStart + (bitOffset >> 3)];
        const index = (byte >> (8 - bitsPerPixel - (bitOffset & 7))) & ((1 << bitsPerPixel) - 1);
        rgba[target] = palette[index * 3];
        rgba[target + 1] = palette[index * 3 + 1];
        rgba[target + 2] = palette[index * 3 + 2];
        rgba[target + 3] = 255;
      } else if (bitsPerPixel === 24 && header.compression === BI_RGB) {
        const offset = rowStart + x * 3;
        rgba[target] = bytes[offset + 2];
        rgba[target + 1] = bytes[offset + 1];
        rgba[target + 2] = bytes[offset];
        rgba[target + 3] = 255;
      } else {
        const value = bitsPerPixel === 16 ? view.getUint16(rowStart + x * 2, true) : bitsPerPixel === 24 ? bytes[rowStart + x * 3] | (bytes[rowStart + x * 3 + 1] << 8) | (bytes[rowStart + x * 3 + 2] << 16) : view.getUint32(rowStart + x * 4, true);
        for (let channel = 0; channel < 3; channel++) {
          const { shift, maxValue } = channels[channel];
          rgba[target + channel] = maxValue === 0 ? 0 : Math.round((((value >>> shift) & maxValue) * 255) / maxValue);
        }
        const alpha = channels[3];
        rgba[target + 3] = alpha.maxValue === 0 ? 255 : Math.round((((value >>> alpha.shift) & alpha.maxValue) * 255) / alpha.maxValue);
      }
    }
  }
  return grayFromRgba(rgba, widthPx, heightPx);
}
