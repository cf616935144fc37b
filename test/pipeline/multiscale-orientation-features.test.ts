import assert from 'node:assert/strict';
import { UserInputError } from '../../src/config/errors';
import type { GrayImage } from '../../src/imaging';
import { multiScaleOrientationFeatures } from '../../src/pipeline/multiscale-orientation-features';
import { orientationFieldFeatures } from '../../src/pipeline/orientation-features';

/** Parallel ridges whose gray level varies as a cosine across the direction `angleDegrees`. */
function ridgePattern(sizePx: number, angleDegrees: number, wavelengthPx: number): GrayImage {
  const angle = (angleDegrees * Math.PI) / 180;
  const pixels = new Uint8Array(sizePx * sizePx);
  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) {
      pixels[y * sizePx + x] = Math.round(128 + 100 * Math.cos(((2 * Math.PI) / wavelengthPx) * (x * Math.cos(angle) + y * Math.sin(angle))));
    }
  }
  return { widthPx: sizePx, heightPx: sizePx, pixels };
}

/** Left half: ridges across 0°, right half: ridges across 90°. */
function twoFieldPattern(sizePx: number): GrayImage {
  const left = ridgePattern(sizePx, 0, 6);
  const right = ridgePattern(sizePx, 90, 6);
  const pixels = new Uint8Array(sizePx * sizePx);
  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) pixels[y * sizePx + x] = x < sizePx / 2 ? left.pixels[y * sizePx + x] : right.pixels[y * sizePx + x];
  }
  return { widthPx: sizePx, heightPx: sizePx, pixels };
}

describe('multiScaleOrientationFeatures', () => {
  it('concatenates one block per grid', () => {
    const features = multiScaleOrientationFeatures([twoFieldPattern(32)], [2, 4]);

    assert.equal(features.rowCount, 1);
    assert.equal(features.columnCount, 2 * 2 * 2 + 2 * 4 * 4);
  });

  it('scales each block by 1/√grids', () => {
    const images = [twoFieldPattern(32), ridgePattern(32, 30, 5)];
    const features = multiScaleOrientationFeatures(images, [2, 4]);
    const coarse = orientationFieldFeatures(images, 2);
    const fine = orientationFieldFeatures(images, 4);

    for (let row = 0; row < images.length; row++) {
      const rowValues = features.data.subarray(row * features.columnCount, (row + 1) * features.columnCount);
      const expected = [...coarse.data.subarray(row * 8, (row + 1) * 8), ...fine.data.subarray(row * 32, (row + 1) * 32)].map((value) => value / Math.SQRT2);
      expected.forEach((value, column) => assert.ok(Math.abs(rowValues[column] - value) < 1e-6, `row ${row}, column ${column}: ${rowValues[column]} vs ${value}`));
    }
  });

  it('gives unit-norm rows', () => {
    const features = multiScaleOrientationFeatures([twoFieldPattern(48)], [2, 4, 8]);

    const norm = Math.sqrt(features.data.reduce((total, value) => total + value * value, 0));
    assert.ok(Math.abs(norm - 1) < 1e-5, `row norm ${norm}`);
  });

  it('separates the two ridge directions', () => {
    // The doubled-angle vector (cos 2θ, sin 2θ) is (1, 0) for ridges across 0° and (−1, 0) across 90°, before the row is centred.
    const features = multiScaleOrientationFeatures([twoFieldPattern(32)], [2]);
    const cosineOf = (cell: number): number => features.data[2 * cell];

    assert.ok(cosineOf(0) > cosineOf(1), `top-left ${cosineOf(0)}, top-right ${cosineOf(1)}`);
    assert.ok(cosineOf(2) > cosineOf(3), `bottom-left ${cosineOf(2)}, bottom-right ${cosineOf(3)}`);
  });

  for (const [name, grids] of [
    ['no grids', []],
    ['zero-cell grid', [0]],
    ['fractional grid', [2.5]],
  ] as const) {
    it(`rejects ${name}`, () => {
      assert.throws(() => multiScaleOrientationFeatures([ridgePattern(8, 0, 4)], [...grids]), UserInputError);
    });
  }
});
