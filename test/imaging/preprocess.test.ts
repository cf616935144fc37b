import assert from 'node:assert/strict';
import {
  DEFAULT_FIXED_SCALE_REFERENCE_SIDE_PX,
  addRandomNoise,
  centralPatchOnWhite,
  createRandom,
  fitToSquare,
  normalizeIntensity,
  occludePixels,
  preparedCanvasGray,
  preprocessImage,
  resizeImage,
  rotateImage,
  type GrayImage,
} from '../../src/imaging';
import { grayPattern } from './test-encoders';

function patternImage(widthPx: number, heightPx: number): GrayImage {
  return { widthPx, heightPx, pixels: grayPattern(widthPx, heightPx) };
}

function countDifferences(a: GrayImage, b: GrayImage): number {
  let count = 0;
  for (let i = 0; i < a.pixels.length; i++) if (a.pixels[i] !== b.pixels[i]) count++;
  return count;
}

describe('preprocessing', () => {
  it('normalizeIntensity stretches to the full range', () => {
    const pixels = Uint8Array.from({ length: 1000 }, (_, i) => 100 + (i % 51));
    const result = normalizeIntensity({ widthPx: 100, heightPx: 10, pixels }, { lowPercentile: 0, highPercentile: 100 });
    assert.equal(Math.min(...result.pixels), 0);
    assert.equal(Math.max(...result.pixels), 255);
  });

  it('normalizeIntensity leaves a flat image unchanged', () => {
    const flat = { widthPx: 4, heightPx: 4, pixels: new Uint8Array(16).fill(80) };
    assert.deepEqual(normalizeIntensity(flat).pixels, flat.pixels);
  });

  it('resizeImage keeps a constant image constant', () => {
    const flat = { widthPx: 301, heightPx: 187, pixels: new Uint8Array(301 * 187).fill(123) };
    for (const size of [{ widthPx: 96, heightPx: 96 }, { widthPx: 640, heightPx: 20 }]) {
      const resized = resizeImage(flat, size);
      assert.equal(resized.pixels.length, size.widthPx * size.heightPx);
      assert.ok(resized.pixels.every((value) => value === 123));
    }
  });

  it('resizeImage rejects non-positive sizes', () => {
    assert.throws(() => resizeImage(patternImage(4, 4), { widthPx: 0, heightPx: 4 }), /expected width to be a positive integer/);
  });

  it('fitToSquare pads the short side with white', () => {
    const dark = { widthPx: 100, heightPx: 50, pixels: new Uint8Array(5000) };
    const square = fitToSquare(dark, { sizePx: 64, fit: 'pad' });
    assert.equal(square.widthPx, 64);
    assert.equal(square.pixels[0], 255, 'top row is padding');
    assert.equal(square.pixels[32 * 64 + 32], 0, 'centre is image');
  });

  it('fitToSquare fixed-scale centres a scaled block on white', () => {
    const dark = { widthPx: 100, heightPx: 50, pixels: new Uint8Array(5000).fill(40) };
    const square = fitToSquare(dark, { sizePx: 100, fit: 'fixed-scale', fixedScaleReferenceSidePx: 200 });
    assert.equal(square.widthPx, 100);
    assert.equal(square.heightPx, 100);

    // A factor of 0.5 makes a 50×25 block, whose top-left corner is at ((100 - 50) / 2, floor((100 - 25) / 2)).
    let blockPixels = 0;
    for (let y = 0; y < 100; y++) {
      for (let x = 0; x < 100; x++) {
        const insideBlock = x >= 25 && x < 75 && y >= 37 && y < 62;
        const value = square.pixels[y * 100 + x];
        if (insideBlock) {
          assert.equal(value, 40, `block pixel (${x}, ${y})`);
          blockPixels++;
        } else {
          assert.equal(value, 255, `canvas pixel (${x}, ${y})`);
        }
      }
    }
    assert.equal(blockPixels, 50 * 25);
  });

  it('fitToSquare fills canvas with canvasGray', () => {
    const light = { widthPx: 40, heightPx: 20, pixels: new Uint8Array(800).fill(250) };
    for (const fit of ['pad', 'fixed-scale'] as const) {
      const square = fitToSquare(light, { sizePx: 40, fit, fixedScaleReferenceSidePx: 40, canvasGray: 0 });
      assert.equal(square.pixels[0], 0, `${fit}: top-left corner is canvas`);
      assert.equal(square.pixels[20 * 40 + 20], 250, `${fit}: centre is image`);
    }
    for (const canvasGray of [-1, 256, 12.5]) {
      assert.throws(() => fitToSquare(light, { sizePx: 40, fit: 'pad', canvasGray }), new RegExp(`canvasGray to be an integer from 0 to 255, but got ${canvasGray}`));
    }
  });

  it('preprocessImage keeps white canvas for patch variant', () => {
    const image = patternImage(200, 100);
    const base = { imageSizePx: 64, fit: 'fixed-scale' as const, fixedScaleReferenceSidePx: 256, normalization: 'none' as const, canvasGray: 0 };
    assert.equal(preprocessImage(image, { ...base, variant: 'full' }).pixels[0], 0);
    assert.equal(preprocessImage(image, { ...base, variant: 'central-patch-on-white' }).pixels[0], 255);
    assert.equal(preparedCanvasGray({ variant: 'full', canvasGray: 0 }), 0);
    assert.equal(preparedCanvasGray({ variant: 'central-patch-on-white', canvasGray: 0 }), 255);
    assert.equal(preparedCanvasGray({ variant: 'full' }), 255);
  });

  it('fitToSquare fixed-scale keeps relative image sizes', () => {
    const small = fitToSquare({ widthPx: 200, heightPx: 200, pixels: new Uint8Array(200 * 200) }, { sizePx: 64, fit: 'fixed-scale', fixedScaleReferenceSidePx: 400 });
    const large = fitToSquare({ widthPx: 400, heightPx: 300, pixels: new Uint8Array(400 * 300) }, { sizePx: 64, fit: 'fixed-scale', fixedScaleReferenceSidePx: 400 });
    const darkPixels = (image: GrayImage): number => image.pixels.filter((value) => value < 128).length;
    assert.equal(darkPixels(small), 32 * 32);
    assert.equal(darkPixels(large), 64 * 48);
  });

  it('fitToSquare fixed-scale uses a 640-pixel default reference', () => {
    const square = fitToSquare({ widthPx: 320, heightPx: 160, pixels: new Uint8Array(320 * 160) }, { sizePx: 64, fit: 'fixed-scale' });
    assert.equal(DEFAULT_FIXED_SCALE_REFERENCE_SIDE_PX, 640);
    assert.equal(square.pixels.filter((value) => value < 128).length, 32 * 16);
  });

  it('fitToSquare fixed-scale rejects images over the reference', () => {
    const wide = patternImage(300, 120);
    assert.throws(
      () => fitToSquare(wide, { sizePx: 64, fit: 'fixed-scale', fixedScaleReferenceSidePx: 200 }),
      (error: unknown) => {
        assert.ok(error instanceof RangeError);
        assert.match(error.message, /image 300×120/);
        assert.match(error.message, /reference side of 200 px/);
        assert.match(error.message, /Set fixedScaleReferenceSidePx to at least 300 or use fit pad/);
        return true;
      },
    );
  });

  it('fitToSquare fixed-scale rejects an invalid reference', () => {
    for (const fixedScaleReferenceSidePx of [0, -10, 12.5, Number.NaN]) {
      assert.throws(() => fitToSquare(patternImage(8, 8), { sizePx: 64, fit: 'fixed-scale', fixedScaleReferenceSidePx }), /expected fixedScaleReferenceSidePx to be a positive integer/);
    }
  });

  it('preprocessImage passes the fixed-scale reference on', () => {
    const dark = { widthPx: 100, heightPx: 50, pixels: new Uint8Array(5000) };
    const result = preprocessImage(dark, { imageSizePx: 100, fit: 'fixed-scale', fixedScaleReferenceSidePx: 200, variant: 'full', normalization: 'none' });
    assert.equal(result.pixels.filter((value) => value < 128).length, 50 * 25);
  });

  it('centralPatchOnWhite keeps only the central 90×90', () => {
    const dark = { widthPx: 300, heightPx: 200, pixels: new Uint8Array(60000) };
    const result = centralPatchOnWhite(dark);
    const darkCount = result.pixels.filter((value) => value === 0).length;
    assert.equal(darkCount, 90 * 90);
    assert.equal(result.pixels[100 * 300 + 150], 0);
    assert.equal(result.pixels[0], 255);
  });

  it('rotateImage by 90 degrees moves a corner marker', () => {
    const image = { widthPx: 5, heightPx: 5, pixels: new Uint8Array(25).fill(255) };
    image.pixels[0] = 0;
    const rotated = rotateImage(image, { angleDegrees: 90 });
    assert.equal(rotated.pixels.filter((value) => value === 0).length, 1);
    assert.notEqual(rotated.pixels[0], 0);
    assert.deepEqual(rotateImage(image, { angleDegrees: 0 }).pixels, image.pixels);
  });

  it('occludePixels changes the requested share of a 90×90 patch', () => {
    const white = { widthPx: 200, heightPx: 150, pixels: new Uint8Array(30000).fill(255) };
    const occluded = occludePixels(white, { percent: 25, random: createRandom(3) });
    assert.equal(countDifferences(white, occluded), Math.round(0.25 * 90 * 90));
  });

  it('addRandomNoise touches at most the requested share', () => {
    const image = patternImage(100, 100);
    const noisy = addRandomNoise(image, { percent: 10, random: createRandom(5) });
    const changed = countDifferences(image, noisy);
    // A replaced pixel can draw its old value, so slightly fewer than 1000 may differ.
    assert.ok(changed <= 1000, `changed ${changed} pixels`);
    assert.ok(changed > 900, `changed only ${changed} pixels`);
  });

  it('augmentations repeat for the same seed', () => {
    const image = patternImage(120, 120);
    const first = addRandomNoise(occludePixels(image, { percent: 40, random: createRandom(9) }), { percent: 5, random: createRandom(10) });
    const second = addRandomNoise(occludePixels(image, { percent: 40, random: createRandom(9) }), { percent: 5, random: createRandom(10) });
    const other = addRandomNoise(occludePixels(image, { percent: 40, random: createRandom(11) }), { percent: 5, random: createRandom(12) });
    assert.deepEqual(first.pixels, second.pixels);
    assert.ok(countDifferences(first, other) > 0);
  });

  it('rejects percentages outside 0 to 100', () => {
    assert.throws(() => addRandomNoise(patternImage(4, 4), { percent: 120, random: createRandom(1) }), /between 0 and 100/);
  });

  it('preprocessImage produces the configured square size', () => {
    for (const variant of ['full', 'central-patch-on-white'] as const) {
      const result = preprocessImage(patternImage(300, 400), { imageSizePx: 96, fit: 'pad', variant, normalization: 'percentile-stretch' });
      assert.equal(result.widthPx, 96);
      assert.equal(result.pixels.length, 96 * 96);
    }
  });
});
