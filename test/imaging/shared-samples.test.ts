import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage, detectImageFormat } from '../../src/imaging';
import { sharedDatasetsDir } from './shared-datasets-path';

interface ListedFile {
  path: string;
  format: string;
  widthPx: number;
  heightPx: number;
}

/** Reads files.tsv, which records each shared sample's format and pixel size. */
function readListing(root: string): ListedFile[] {
  const [header, ...lines] = readFileSync(join(root, 'files.tsv'), 'utf8').trim().split('\n');
  const columns = header.split('\t');
  return lines.map((line) => {
    const fields = line.split('\t');
    const field = (name: string): string => fields[columns.indexOf(name)];
    return { path: field('path'), format: field('format'), widthPx: Number(field('width')), heightPx: Number(field('height')) };
  });
}

describe('shared fingerprint samples', function () {
  const root = sharedDatasetsDir();
  before(function () {
    if (root === undefined) this.skip();
  });

  it('decode at the listed size for every image file', function () {
    const listing = readListing(root as string).filter((file) => ['TIFF', 'PNG', 'JPEG', 'BMP'].includes(file.format));
    assert.ok(listing.length >= 500, `expected at least 500 listed images, got ${listing.length}`);
    for (const file of listing) {
      const image = decodeImage(readFileSync(join(root as string, file.path)));
      assert.equal(`${image.widthPx}×${image.heightPx}`, `${file.widthPx}×${file.heightPx}`, file.path);
      let low = 255;
      let high = 0;
      for (const value of image.pixels) {
        low = Math.min(low, value);
        high = Math.max(high, value);
      }
      assert.ok(high - low > 30, `${file.path} decoded to a gray range of only ${high - low}`);
    }
  });

  it('SourceAFIS PNG, BMP and TIFF copies match FVC2002 102_1', () => {
    const original = decodeImage(readFileSync(join(root as string, 'fvc2002/DB1_B/102_1.tif')));
    for (const name of ['probe.png', 'probe.bmp', 'probe.tiff']) {
      const copy = decodeImage(readFileSync(join(root as string, 'sourceafis', name)));
      assert.equal(copy.widthPx, original.widthPx, name);
      assert.ok(Buffer.from(copy.pixels).equals(Buffer.from(original.pixels)), `${name} pixels differ from 102_1.tif`);
    }
  });

  it('SourceAFIS JPEG copy stays close to the original', () => {
    const original = decodeImage(readFileSync(join(root as string, 'fvc2002/DB1_B/102_1.tif')));
    const copy = decodeImage(readFileSync(join(root as string, 'sourceafis/probe.jpeg')));
    const meanError = copy.pixels.reduce((sum, value, i) => sum + Math.abs(value - original.pixels[i]), 0) / copy.pixels.length;
    assert.ok(meanError < 8, `mean absolute error ${meanError}`);
  });

  it('matching and nonmatching PNGs equal their FVC originals', () => {
    for (const [name, original] of [['matching.png', '102_2.tif'], ['nonmatching.png', '103_7.tif']]) {
      const copy = decodeImage(readFileSync(join(root as string, 'sourceafis', name)));
      const source = decodeImage(readFileSync(join(root as string, 'fvc2002/DB1_B', original)));
      assert.ok(Buffer.from(copy.pixels).equals(Buffer.from(source.pixels)), `${name} differs from ${original}`);
    }
  });

  it('IITK files without extension are detected as JPEG', () => {
    for (const name of ['fut3', 'lum1', 'sec6']) {
      assert.equal(detectImageFormat(readFileSync(join(root as string, 'iitk-fpsensornet/images', name))), 'jpeg', name);
    }
  });
});
