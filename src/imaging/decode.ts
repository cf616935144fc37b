import { checkBmpComplete, decodeBmp, readBmpSize } from './decoders/bmp';
import type { ImageSize } from './decoders/image-size';
import { checkJpegComplete, decodeJpeg, readJpegSize } from './decoders/jpeg';
import { checkPngComplete, decodePng, readPngSize } from './decoders/png';
import { checkTiffComplete, decodeTiff, readTiffSize } from './decoders/tiff';
import { ImageDecodeError } from './decode-error';
import type { GrayImage } from './gray-image';
import { describeLeadingBytes, detectImageFormat, type ImageFormat } from './image-format';
import { DEFAULT_MAX_PIXELS } from './limits';

export interface DecodeOptions {
  /** Images with more pixels than this are rejected as oversized before decoding. */
  maxPixels?: number;
}

export { DEFAULT_MAX_PIXELS };

/** Format and declared size read from a file header. */
export interface ImageHeader extends ImageSize {
  format: ImageFormat;
}

const SIZE_READERS: Record<Exclude<ImageFormat, 'wsq'>, (bytes: Uint8Array) => ImageSize> = {
  tiff: readTiffSize,
  png: readPngSize,
  jpeg: readJpegSize,
  bmp: readBmpSize,
};

const COMPLETENESS_CHECKS: Record<Exclude<ImageFormat, 'wsq'>, (bytes: Uint8Array) => void> = {
  tiff: checkTiffComplete,
  png: checkPngComplete,
  jpeg: checkJpegComplete,
  bmp: checkBmpComplete,
};

/**
 * Checks a file without decoding its pixels: detects the format by content,
 * reads the declared size, rejects files over the pixel limit and files cut
 * short. Raises ImageDecodeError with the failure reason.
 */
export function inspectImage(bytes: Uint8Array, options: DecodeOptions = {}): ImageHeader {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new ImageDecodeError('empty-file', 'file is empty (0 bytes)');

  const format = detectImageFormat(bytes);
  if (format === undefined) {
    throw new ImageDecodeError(
      'unsupported-format',
      `unrecognised image format (first bytes ${describeLeadingBytes(bytes)}); supported formats are TIFF, PNG, JPEG and BMP`,
    );
  }
  if (format === 'wsq') {
    throw new ImageDecodeError('unsupported-format', 'WSQ decoding is not supported; convert the file to PNG with NBIS dwsq or another WSQ decoder');
  }

  const size = SIZE_READERS[format](bytes);
  if (!(size.widthPx > 0 && size.heightPx > 0)) {
    throw new ImageDecodeError('corrupt', `${format.toUpperCase()} header declares size ${size.widthPx}×${size.heightPx}, expected positive dimensions`);
  }
  if (size.widthPx * size.heightPx > maxPixels) {
    throw new ImageDecodeError('oversized', `${format.toUpperCase()} image is ${size.widthPx}×${size.heightPx} = ${size.widthPx * size.heightPx} pixels, over the limit of ${maxPixels}; raise maxImagePixels if this is intended`);
  }
  COMPLETENESS_CHECKS[format](bytes);
  return { format, ...size };
}

/**
 * Decodes a TIFF, PNG, JPEG or BMP file to 8-bit gray. The format comes from
 * the file's content, never its name. Raises ImageDecodeError.
 */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): GrayImage {
  const header = inspectImage(bytes, options);
  let image: GrayImage;
  switch (header.format) {
    case 'tiff':
      image = decodeTiff(bytes);
      break;
    case 'png':
      image = decodePng(bytes);
      break;
    case 'jpeg':
      image = decodeJpeg(bytes, { maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS });
      break;
    case 'bmp':
      image = decodeBmp(bytes);
      break;
    case 'wsq':
      throw new ImageDecodeError('unsupported-format', 'WSQ decoding is not supported');
  }
  if (image.widthPx !== header.widthPx || image.heightPx !== header.heightPx) {
    throw new ImageDecodeError('corrupt', `decoded size ${image.widthPx}×${image.heightPx} differs from the header's ${header.widthPx}×${header.heightPx}`);
  }
  return image;
}
