// Minimal writers for TIFF and BMP variants that the decoders must read.
// They exist only to build test inputs; production code writes PNG.

/** TIFF LZW encoding as libtiff writes it: MSB-first codes, 9 to 12 bits, clear code 256, end code 257. */
export function encodeTiffLzw(data: Uint8Array): Uint8Array {
  const output: number[] = [];
  let bitBuffer = 0;
  let bitCount = 0;
  let codeWidth = 9;
  const emit = (code: number): void => {
    bitBuffer = (bitBuffer << codeWidth) | code;
    bitCount += codeWidth;
    while (bitCount >= 8) {
      output.push((bitBuffer >>> (bitCount - 8)) & 0xff);
      bitCount -= 8;
    }
    bitBuffer &= (1 << bitCount) - 1;
  };
  let table = new Map<string, number>();
  let nextCode = 258;
  const reset = (): void => {
    table = new Map();
    for (let i = 0; i < 256; i++) table.set(String.fromCharCode(i), i);
    nextCode = 258;
    codeWidth = 9;
  };
  reset();
  emit(256);
  let current = '';
  for (const byte of data) {
    const extended = current + String.fromCharCode(byte);
    if (table.has(extended)) {
      current = extended;
      continue;
    }
    emit(table.get(current) as number);
    table.set(extended, nextCode++);
    // As libtiff does: widen once the next free code exceeds the current maximum.
    if (nextCode > (1 << codeWidth) - 1 && codeWidth < 12) codeWidth++;
    if (nextCode >= 4094) {
      emit(256);
      reset();
    }
    current = String.fromCharCode(byte);
  }
  if (current !== '') emit(table.get(current) as number);
  emit(257);
  if (bitCount > 0) output.push((bitBuffer << (8 - bitCount)) & 0xff);
  return Uint8Array.from(output);
}

export type TiffKind = 'gray' | 'rgb' | 'rgba' | 'palette';

/**
 * Writes a little-endian single-strip TIFF. `samples` contains interleaved
 * 8-bit samples (1, 3 or 4 per pixel; palette indices for `palette`).
 */
export function writeTiff(options: { kind: TiffKind; widthPx: number; heightPx: number; samples: Uint8Array; lzw: boolean; palette?: Uint8Array }): Uint8Array {
  const { kind, widthPx, heightPx, lzw } = options;
  const samplesPerPixel = { gray: 1, rgb: 3, rgba: 4, palette: 1 }[kind];
  const strip = lzw ? encodeTiffLzw(options.samples) : options.samples;
  const entries: Array<[tag: number, type: number, values: number[]]> = [
    [256, 4, [widthPx]],
    [257, 4, [heightPx]],
    [258, 3, new Array(samplesPerPixel).fill(8)],
    [259, 3, [lzw ? 5 : 1]],
    [262, 3, [{ gray: 1, rgb: 2, rgba: 2, palette: 3 }[kind]]],
    [273, 4, [0]],
    [277, 3, [samplesPerPixel]],
    [278, 4, [heightPx]],
    [279, 4, [strip.length]],
  ];
  if (kind === 'palette') {
    const palette = options.palette as Uint8Array;
    const map: number[] = [];
    for (let channel = 0; channel < 3; channel++) for (let i = 0; i < 256; i++) map.push((palette[i * 3 + channel] ?? 0) * 257);
    entries.push([320, 3, map]);
  }
  if (kind === 'rgba') entries.push([338, 3, [2]]);

  const ifdOffset = 8;
  const ifdBytes = 2 + entries.length * 12 + 4;
  let extraOffset = ifdOffset + ifdBytes;
  const extra: Array<{ offset: number; bytes: Uint8Array }> = [];
  const ifd = new DataView(new ArrayBuffer(ifdBytes));
  ifd.setUint16(0, entries.length, true);
  const stripOffsetSlot: number[] = [];
  entries.forEach(([tag, type, values], index) => {
    const base = 2 + index * 12;
    ifd.setUint16(base, tag, true);
    ifd.setUint16(base + 2, type, true);
    ifd.setUint32(base + 4, values.length, true);
    const valueBytes = type === 3 ? 2 : 4;
    if (values.length * valueBytes <= 4) {
      values.forEach((value, i) => (type === 3 ? ifd.setUint16(base + 8 + i * 2, value, true) : ifd.setUint32(base + 8, value, true)));
      if (tag === 273) stripOffsetSlot.push(base + 8);
    } else {
      const bytes = new Uint8Array(values.length * valueBytes);
      const view = new DataView(bytes.buffer);
      values.forEach((value, i) => (type === 3 ? view.setUint16(i * 2, value, true) : view.setUint32(i * 4, value, true)));
      ifd.setUint32(base + 8, extraOffset, true);
      extra.push({ offset: extraOffset, bytes });
      extraOffset += bytes.length + (bytes.length % 2);
    }
  });
  const stripOffset = extraOffset;
  ifd.setUint32(stripOffsetSlot[0], stripOffset, true);

  const file = new Uint8Array(stripOffset + strip.length);
  file.set([0x49, 0x49, 42, 0, ifdOffset, 0, 0, 0]);
  file.set(new Uint8Array(ifd.buffer), ifdOffset);
  for (const { offset, bytes } of extra) file.set(bytes, offset);
  file.set(strip, stripOffset);
  return file;
}

export type BmpKind = 'palette8' | 'palette4' | 'rgb24' | 'bitfields32' | 'rgb24-top-down';

/** Writes a BMP with BITMAPINFOHEADER from gray pixels, in the given pixel layout. */
export function writeBmp(options: { kind: BmpKind; widthPx: number; heightPx: number; gray: Uint8Array }): Uint8Array {
  const { kind, widthPx, heightPx, gray } = options;
  const bitsPerPixel = { palette8: 8, palette4: 4, rgb24: 24, 'rgb24-top-down': 24, bitfields32: 32 }[kind];
  const paletteEntries = bitsPerPixel <= 8 ? 1 << bitsPerPixel : 0;
  const maskBytes = kind === 'bitfields32' ? 12 : 0;
  const stride = Math.floor((bitsPerPixel * widthPx + 31) / 32) * 4;
  const pixelOffset = 14 + 40 + maskBytes + paletteEntries * 4;

  const file = new Uint8Array(pixelOffset + stride * heightPx);
  const view = new DataView(file.buffer);
  file[0] = 0x42;
  file[1] = 0x4d;
  view.setUint32(2, file.length, true);
  view.setUint32(10, pixelOffset, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, widthPx, true);
  view.setInt32(22, kind === 'rgb24-top-down' ? -heightPx : heightPx, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, bitsPerPixel, true);
  view.setUint32(30, kind === 'bitfields32' ? 3 : 0, true);
  if (kind === 'bitfields32') {
    view.setUint32(54, 0x0000ff00, true);
    view.setUint32(58, 0x00ff0000, true);
    view.setUint32(62, 0xff000000, true);
  }

  // Palette 4-bit maps index i to gray 17 i; 8-bit maps i to gray i.
  for (let i = 0; i < paletteEntries; i++) {
    const level = bitsPerPixel === 4 ? i * 17 : i;
    file.set([level, level, level, 0], 14 + 40 + i * 4);
  }

  for (let y = 0; y < heightPx; y++) {
    const row = kind === 'rgb24-top-down' ? y : heightPx - 1 - y;
    const start = pixelOffset + row * stride;
    for (let x = 0; x < widthPx; x++) {
      const value = gray[y * widthPx + x];
      if (bitsPerPixel === 8) file[start + x] = value;
      else if (bitsPerPixel === 4) file[start + (x >> 1)] |= Math.round(value / 17) << (x % 2 === 0 ? 4 : 0);
      else if (bitsPerPixel === 24) file.set([value, value, value], start + x * 3);
      else view.setUint32(start + x * 4, (value << 8) | (value << 16) | (value << 24) | 0x7f, true);
    }
  }
  return file;
}

/** Builds a gray test pattern with gradients in both directions, so flips and offsets show. */
export function grayPattern(widthPx: number, heightPx: number): Uint8Array {
  const pixels = new Uint8Array(widthPx * heightPx);
  for (let y = 0; y < heightPx; y++) for (let x = 0; x < widthPx; x++) pixels[y * widthPx + x] = (x * 7 + y * 13 + ((x * y) % 11)) % 256;
  return pixels;
}
