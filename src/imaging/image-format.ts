/** Image container formats recognised by their leading bytes. */
export type ImageFormat = 'tiff' | 'png' | 'jpeg' | 'bmp' | 'wsq';

export const DECODABLE_FORMATS: readonly ImageFormat[] = ['tiff', 'png', 'jpeg', 'bmp'];

/**
 * Detects the format from the file's magic bytes, ignoring any file name
 * extension, or returns undefined for anything else.
 */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  // WSQ files start with the SOI marker FFA0, followed by another marker.
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xa0 && bytes[2] === 0xff) return 'wsq';
  if (bytes.length >= 4) {
    const little = bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 42 && bytes[3] === 0;
    const big = bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && bytes[3] === 42;
    if (little || big) return 'tiff';
  }
  if (bytes.length >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d) return 'bmp';
  return undefined;
}

/** Describes the first bytes of an unrecognised file for error messages. */
export function describeLeadingBytes(bytes: Uint8Array, count = 8): string {
  return Array.from(bytes.subarray(0, count), (byte) => byte.toString(16).padStart(2, '0')).join(' ');
}
