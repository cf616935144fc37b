import assert from 'node:assert/strict';
import { UserInputError } from '../../src/config/errors';
import type { GrayImage } from '../../src/imaging';
import { gaborEnergyFeatures } from '../../src/pipeline/gabor-features';

/** Parallel ridges: a cosine of period `wavelengthPx` across the direction `angleDegrees`, shifted by `phase` radians. */
function ridgePattern(options: { sizePx: number; angleDegrees: number; wavelengthPx: number; phase?: number }): GrayImage {
  const { sizePx, angleDegrees, wavelengthPx } = options;
  const angle = (angleDegrees * Math.PI) / 180;
  const pixels = new Uint8Array(sizePx * sizePx);
  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) {
      const wave = Math.cos(((2 * Math.PI) / wavelengthPx) * (x * Math.cos(angle) + y * Math.sin(angle)) + (options.phase ?? 0));
      pixels[y * sizePx + x] = Math.round(128 + 100 * wave);
    }
  }
  return { widthPx: sizePx, heightPx: sizePx, pixels };
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index] > values[best]) best = index;
  return best;
}

describe('gaborEnergyFeatures', () => {
  const orientationCount = 4;

  it('has one value per cell, wavelength and orientation', () => {
    const features = gaborEnergyFeatures([ridgePattern({ sizePx: 32, angleDegrees: 0, wavelengthPx: 6 })], { gridCells: 3, orientationCount, wavelengthsPx: [4, 6] });

    assert.equal(features.rowCount, 1);
    assert.equal(features.columnCount, 3 * 3 * 2 * orientationCount);
  });

  for (const [angleDegrees, expectedOrientation] of [
    [0, 0],
    [45, 1],
    [90, 2],
    [135, 3],
  ] as const) {
    it(`peaks at orientation ${expectedOrientation} for ridges across ${angleDegrees}°`, () => {
      const image = ridgePattern({ sizePx: 48, angleDegrees, wavelengthPx: 6 });
      const features = gaborEnergyFeatures([image], { gridCells: 2, orientationCount, wavelengthsPx: [6], sampleStepPx: 1 });

      for (let cell = 0; cell < 4; cell++) {
        const cellValues = features.data.subarray(cell * orientationCount, (cell + 1) * orientationCount);
        assert.equal(argmax(cellValues), expectedOrientation, `cell ${cell}: ${Array.from(cellValues).join(', ')}`);
      }
    });
  }

  it('responds most to the matching wavelength', () => {
    const image = ridgePattern({ sizePx: 64, angleDegrees: 90, wavelengthPx: 9 });
    const features = gaborEnergyFeatures([image], { gridCells: 1, orientationCount, wavelengthsPx: [4, 9] });

    const shortWavelengthEnergy = features.data[0 * orientationCount + 2];
    const matchingWavelengthEnergy = features.data[1 * orientationCount + 2];
    assert.ok(matchingWavelengthEnergy > shortWavelengthEnergy, `9 px: ${matchingWavelengthEnergy}, 4 px: ${shortWavelengthEnergy}`);
  });

  it('does not depend on the ridge phase', () => {
    const options = { gridCells: 1, orientationCount, wavelengthsPx: [6], sampleStepPx: 1 };
    const inPhase = gaborEnergyFeatures([ridgePattern({ sizePx: 48, angleDegrees: 30, wavelengthPx: 6 })], options);
    const shifted = gaborEnergyFeatures([ridgePattern({ sizePx: 48, angleDegrees: 30, wavelengthPx: 6, phase: Math.PI / 2 })], options);

    for (let index = 0; index < orientationCount; index++) {
      assert.ok(Math.abs(inPhase.data[index] - shifted.data[index]) < 0.05, `orientation ${index}: ${inPhase.data[index]} vs ${shifted.data[index]}`);
    }
  });

  it('gives unit-norm centred rows', () => {
    const features = gaborEnergyFeatures([ridgePattern({ sizePx: 32, angleDegrees: 60, wavelengthPx: 5 })], { gridCells: 2, orientationCount, wavelengthsPx: [5] });

    const sum = features.data.reduce((total, value) => total + value, 0);
    const norm = Math.sqrt(features.data.reduce((total, value) => total + value * value, 0));
    assert.ok(Math.abs(sum) < 1e-5, `row sum ${sum}`);
    assert.ok(Math.abs(norm - 1) < 1e-5, `row norm ${norm}`);
  });

  it('maps a blank image to zeros', () => {
    const blank: GrayImage = { widthPx: 16, heightPx: 16, pixels: new Uint8Array(256).fill(255) };
    const features = gaborEnergyFeatures([blank], { gridCells: 2, orientationCount, wavelengthsPx: [4] });

    assert.ok(features.data.every((value) => value === 0));
  });

  for (const [name, options] of [
    ['zero grid cells', { gridCells: 0, orientationCount: 4, wavelengthsPx: [4] }],
    ['fractional orientation count', { gridCells: 2, orientationCount: 2.5, wavelengthsPx: [4] }],
    ['no wavelengths', { gridCells: 2, orientationCount: 4, wavelengthsPx: [] }],
    ['wavelength below 2 px', { gridCells: 2, orientationCount: 4, wavelengthsPx: [1.5] }],
    ['NaN wavelength', { gridCells: 2, orientationCount: 4, wavelengthsPx: [Number.NaN] }],
    ['zero envelope', { gridCells: 2, orientationCount: 4, wavelengthsPx: [4], envelopeSigmaPerWavelength: 0 }],
  ] as const) {
    it(`rejects ${name}`, () => {
      assert.throws(() => gaborEnergyFeatures([], { ...options, wavelengthsPx: [...options.wavelengthsPx] }), UserInputError);
    });
  }
});
