import assert from 'node:assert/strict';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImage, detectImageFormat, encodePng, ImageDecodeError, inspectImage } from '../../src/imaging';
import { grayPattern, writeBmp, writeTiff, type BmpKind, type TiffKind } from './test-encoders';

const WIDTH = 37;
const HEIGHT = 23;
const gray = grayPattern(WIDTH, HEIGHT);

function expandGray(channels: number, alpha = 255): Uint8Array {
  const samples = new Uint8Array(WIDTH * HEIGHT * channels);
  for (let i = 0; i < WIDTH * HEIGHT; i++) {
    for (let c = 0; c < Math.min(channels, 3); c++) samples[i * channels + c] = gray[i];
    if (channels === 4) samples[i * channels + 3] = alpha;
  }
  return samples;
}

function encodePngColor(colorType: 0 | 2 | 6, bitDepth: 8): Uint8Array {
  const png = new PNG({ width: WIDTH, height: HEIGHT, colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
  png.data = Buffer.from(expandGray(4));
  return PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
}

/** Writes a 16-bit grayscale PNG by hand (pngjs only writes 16-bit from 16-bit input); sample v becomes 257 v. */
function encodeGray16Png(): Uint8Array {
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(WIDTH, 0);
  header.writeUInt32BE(HEIGHT, 4);
  header[8] = 16;
  header[9] = 0;
  const rows = Buffer.alloc(HEIGHT * (1 + WIDTH * 2));
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) rows.writeUInt16BE(gray[y * WIDTH + x] * 257, y * (1 + WIDTH * 2) + 1 + x * 2);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

function expectFailure(bytes: Uint8Array, reason: string, options = {}): void {
  assert.throws(
    () => decodeImage(bytes, options),
    (error: unknown) => error instanceof ImageDecodeError && error.reason === reason,
    `expected an ImageDecodeError with reason ${reason}`,
  );
}

describe('decodeImage', () => {
  const losslessCases: Array<{ name: string; bytes: () => Uint8Array }> = [
    ...(['gray', 'rgb', 'rgba', 'palette'] as TiffKind[]).flatMap((kind) =>
      [false, true].map((lzw) => ({
        name: `TIFF ${kind} ${lzw ? 'LZW' : 'uncompressed'}`,
        bytes: () =>
          writeTiff({
            kind,
            widthPx: WIDTH,
            heightPx: HEIGHT,
            lzw,
            samples: kind === 'palette' ? gray : expandGray({ gray: 1, rgb: 3, rgba: 4, palette: 1 }[kind]),
            palette: kind === 'palette' ? Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3)) : undefined,
          }),
      })),
    ),
    ...(['palette8', 'rgb24', 'rgb24-top-down', 'bitfields32'] as BmpKind[]).map((kind) => ({
      name: `BMP ${kind}`,
      bytes: () => writeBmp({ kind, widthPx: WIDTH, heightPx: HEIGHT, gray }),
    })),
    { name: 'PNG gray 8-bit', bytes: () => encodePngColor(0, 8) },
    { name: 'PNG RGB 8-bit', bytes: () => encodePngColor(2, 8) },
    { name: 'PNG RGBA 8-bit', bytes: () => encodePngColor(6, 8) },
    { name: 'PNG gray 16-bit', bytes: encodeGray16Png },
    { name: 'PNG from encodePng', bytes: () => encodePng({ widthPx: WIDTH, heightPx: HEIGHT, pixels: gray }) },
  ];

  for (const testCase of losslessCases) {
    it(`decodes ${testCase.name} exactly`, () => {
      const image = decodeImage(testCase.bytes());
      assert.equal(image.widthPx, WIDTH);
      assert.equal(image.heightPx, HEIGHT);
      assert.deepEqual(Buffer.from(image.pixels), Buffer.from(gray));
    });
  }

  it('decodes 4-bit palette BMP to quantized gray', () => {
    const quantized = gray.map((value) => Math.round(value / 17) * 17);
    const image = decodeImage(writeBmp({ kind: 'palette4', widthPx: WIDTH, heightPx: HEIGHT, gray: quantized }));
    assert.deepEqual(Buffer.from(image.pixels), Buffer.from(quantized));
  });

  it('decodes JPEG within compression error', () => {
    const bytes = jpeg.encode({ width: WIDTH, height: HEIGHT, data: Buffer.from(expandGray(4)) }, 95).data;
    const image = decodeImage(bytes);
    assert.equal(image.widthPx, WIDTH);
    const meanError = image.pixels.reduce((sum, value, i) => sum + Math.abs(value - gray[i]), 0) / gray.length;
    assert.ok(meanError < 6, `mean absolute error ${meanError} is too large`);
  });

  it('composites transparent pixels onto white', () => {
    const png = new PNG({ width: 2, height: 1 });
    png.data = Buffer.from([0, 0, 0, 0, 0, 0, 0, 255]);
    const image = decodeImage(PNG.sync.write(png));
    assert.deepEqual(Array.from(image.pixels), [255, 0]);
  });

  it('detects formats by content, not name', () => {
    assert.equal(detectImageFormat(encodePngColor(0, 8)), 'png');
    assert.equal(detectImageFormat(writeBmp({ kind: 'rgb24', widthPx: 4, heightPx: 4, gray: new Uint8Array(16) })), 'bmp');
    assert.equal(detectImageFormat(Uint8Array.from([0xff, 0xa0, 0xff, 0xa8, 0, 0])), 'wsq');
    assert.equal(detectImageFormat(Uint8Array.from([1, 2, 3, 4])), undefined);
  });

  describe('bad input', () => {
    it('rejects a zero-byte file as empty-file', () => expectFailure(new Uint8Array(0), 'empty-file'));

    const truncations: Array<{ name: string; bytes: () => Uint8Array }> = [
      { name: 'PNG', bytes: () => encodePngColor(0, 8) },
      { name: 'TIFF', bytes: () => writeTiff({ kind: 'gray', widthPx: WIDTH, heightPx: HEIGHT, samples: gray, lzw: false }) },
      { name: 'BMP', bytes: () => writeBmp({ kind: 'rgb24', widthPx: WIDTH, heightPx: HEIGHT, gray }) },
      { name: 'JPEG', bytes: () => jpeg.encode({ width: WIDTH, height: HEIGHT, data: Buffer.from(expandGray(4)) }, 90).data },
    ];
    for (const testCase of truncations) {
      it(`rejects a cut-short ${testCase.name} as truncated`, () => {
        const whole = testCase.bytes();
        expectFailure(whole.subarray(0, Math.floor(whole.length * 0.6)), 'truncated');
      });
    }

    it('rejects a PNG with damaged image data as corrupt', () => {
      const bytes = Uint8Array.from(encodePngColor(0, 8));
      const idat = Buffer.from(bytes).indexOf('IDAT');
      for (let i = idat + 6; i < idat + 30; i++) bytes[i] ^= 0x5a;
      expectFailure(bytes, 'corrupt');
    });

    it('rejects a JPEG with a broken segment chain as corrupt', () => {
      expectFailure(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0x12, 0x34, 0xff, 0xd9]), 'corrupt');
    });

    it('rejects gzip bytes as unsupported-format', () => expectFailure(gzipSync(Buffer.from('not an image')), 'unsupported-format'));

    it('rejects WSQ as unsupported-format', () => expectFailure(Uint8Array.from([0xff, 0xa0, 0xff, 0xa8, 0, 2, 0, 0]), 'unsupported-format'));

    it('rejects RLE-compressed BMP as unsupported-format', () => {
      const bytes = writeBmp({ kind: 'palette8', widthPx: 4, heightPx: 4, gray: new Uint8Array(16) });
      new DataView(bytes.buffer).setUint32(30, 1, true);
      expectFailure(bytes, 'unsupported-format');
    });

    it('rejects images over maxPixels as oversized', () => {
      expectFailure(encodePngColor(0, 8), 'oversized', { maxPixels: WIDTH * HEIGHT - 1 });
      assert.equal(inspectImage(encodePngColor(0, 8), { maxPixels: WIDTH * HEIGHT }).widthPx, WIDTH);
    });

    it('rejects oversized headers before decoding', () => {
      const bytes = writeTiff({ kind: 'gray', widthPx: 4, heightPx: 4, samples: new Uint8Array(16), lzw: false });
      const view = new DataView(bytes.buffer);
      // First IFD entry is ImageWidth (tag 256); its value sits 8 bytes into the entry.
      view.setUint32(8 + 2 + 8, 100_000, true);
      expectFailure(bytes, 'oversized', { maxPixels: 200_000 });
    });
  });
});
