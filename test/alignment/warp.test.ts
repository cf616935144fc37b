import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { applyAffine, chainAffine, composeAffine, IDENTITY_AFFINE, invertAffine, meanGridPointDistance, type AffineParameters } from '../../src/alignment/affine';
import { warpGrayImageValues } from '../../src/alignment/pixel-warp';
import { affineGrid, bilinearSample, warpAffine } from '../../src/alignment/warp';
import { createRandom, type GrayImage } from '../../src/imaging';
import { useFastestBackend } from './backend';

function randomImage(widthPx: number, heightPx: number, seed: string): GrayImage {
  const random = createRandom(seed);
  const pixels = new Uint8Array(widthPx * heightPx);
  for (let i = 0; i < pixels.length; i++) pixels[i] = random.integer(256);
  return { widthPx, heightPx, pixels };
}

function imageTensor(image: GrayImage): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(image.pixels), [1, image.heightPx, image.widthPx, 1]);
}

const TRANSFORMS: Array<{ name: string; parameters: AffineParameters }> = [
  { name: 'identity', parameters: [...IDENTITY_AFFINE] as AffineParameters },
  { name: 'translation by a fraction of a pixel', parameters: [1, 0, 0.013, 0, 1, -0.021] },
  { name: 'rotation by 13 degrees', parameters: composeAffine({ rotationDegrees: 13, shear: 0, scaleX: 1, scaleY: 1, translationX: 0, translationY: 0 }) },
  { name: 'shear, anisotropic scale and shift', parameters: composeAffine({ rotationDegrees: -9, shear: 0.12, scaleX: 0.8, scaleY: 1.2, translationX: 0.2, translationY: -0.25 }) },
  { name: 'shift mostly outside the image', parameters: [1, 0, 1.7, 0, 1, 0.4] },
  { name: 'zoom out past the borders', parameters: [1.6, 0.1, 0, -0.1, 1.6, 0] },
];

describe('alignment warping', function () {
  before(async function () {
    await useFastestBackend();
  });

  for (const { name, parameters } of TRANSFORMS) {
    it(`matches the pixel reference: ${name}`, function () {
      const image = randomImage(23, 17, name);
      const expected = warpGrayImageValues(image, parameters, { fillValue: 255 });
      const actual = tf.tidy(() => warpAffine(imageTensor(image), tf.tensor2d([parameters]), { fillValue: 255 }).dataSync());

      assert.equal(actual.length, expected.length);
      let maxDifference = 0;
      for (let i = 0; i < expected.length; i++) maxDifference = Math.max(maxDifference, Math.abs(actual[i] - expected[i]));
      assert.ok(maxDifference < 0.02, `max difference ${maxDifference} gray levels`);
    });
  }

  it('warps to a requested output size', function () {
    const image = randomImage(20, 20, 'resize');
    const parameters: AffineParameters = [0.9, 0.05, 0.1, -0.05, 0.9, 0];
    const expected = warpGrayImageValues(image, parameters, { widthPx: 11, heightPx: 7, fillValue: 255 });
    const output = warpAffine(imageTensor(image), tf.tensor2d([parameters]), { size: { heightPx: 7, widthPx: 11 }, fillValue: 255 });

    assert.deepEqual(output.shape, [1, 7, 11, 1]);
    const actual = output.dataSync();
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) < 0.02, `pixel ${i}: ${actual[i]} vs ${expected[i]}`);
    output.dispose();
  });

  it('warps each batch item with its own transform', function () {
    const images = [randomImage(9, 9, 'a'), randomImage(9, 9, 'b')];
    const transforms: AffineParameters[] = [TRANSFORMS[2].parameters, TRANSFORMS[3].parameters];
    const batch = tf.concat(images.map(imageTensor)) as tf.Tensor4D;
    const output = warpAffine(batch, tf.tensor2d(transforms), { fillValue: 255 });
    const actual = output.dataSync();

    images.forEach((image, index) => {
      const expected = warpGrayImageValues(image, transforms[index], { fillValue: 255 });
      for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[index * 81 + i] - expected[i]) < 0.02, `item ${index} pixel ${i}`);
    });
    output.dispose();
  });

  it('grid corners follow the transform', function () {
    const parameters = TRANSFORMS[3].parameters;
    const grid = affineGrid(tf.tensor2d([parameters]), { heightPx: 5, widthPx: 4 });
    const values = grid.arraySync()[0];

    assert.deepEqual(grid.shape, [1, 5, 4, 2]);
    const [topLeftX, topLeftY] = applyAffine(parameters, -1, -1);
    const [bottomRightX, bottomRightY] = applyAffine(parameters, 1, 1);
    assert.ok(Math.abs(values[0][0][0] - topLeftX) < 1e-5);
    assert.ok(Math.abs(values[0][0][1] - topLeftY) < 1e-5);
    assert.ok(Math.abs(values[4][3][0] - bottomRightX) < 1e-5);
    assert.ok(Math.abs(values[4][3][1] - bottomRightY) < 1e-5);
    grid.dispose();
  });

  it('gradient with respect to theta matches finite differences', function () {
    // The warp is piecewise linear in theta, with kinks where a sample
    // crosses a pixel edge. A smooth image, a 5×5 output and a small step
    // keep the central differences away from most kinks.
    const values = new Float32Array(16 * 16);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) values[y * 16 + x] = 0.5 + 0.5 * Math.sin(0.4 * x) * Math.cos(0.3 * y);
    const image = tf.tensor4d(values, [1, 16, 16, 1]);
    const weights = tf.randomUniform([1, 5, 5, 1], -1, 1, 'float32', 7);
    const objective = (theta: tf.Tensor): tf.Scalar => tf.sum(tf.mul(warpAffine(image, theta as tf.Tensor2D, { size: { heightPx: 5, widthPx: 5 } }), weights));
    const theta: AffineParameters = [0.8, 0.05, 0.03, -0.04, 0.78, -0.05];

    const analytic = tf.grad(objective)(tf.tensor2d([theta])).dataSync();
    const step = 1e-4;
    for (let k = 0; k < 6; k++) {
      const plus = [...theta];
      const minus = [...theta];
      plus[k] += step;
      minus[k] -= step;
      const numeric = (objective(tf.tensor2d([plus])).dataSync()[0] - objective(tf.tensor2d([minus])).dataSync()[0]) / (2 * step);
      assert.ok(Math.abs(analytic[k] - numeric) <= 0.05 * Math.max(1, Math.abs(numeric)), `parameter ${k}: analytic ${analytic[k]}, numeric ${numeric}`);
    }
    tf.dispose([image, weights]);
  });

  it('gradient with respect to the image matches the warp weights', function () {
    // The warp is linear in the image, so the gradient of Σ w·warp(image)
    // with respect to pixel p is the warp of a one-hot image at p, dotted with w.
    const theta = tf.tensor2d([[0.9, 0.1, 0.05, -0.1, 1.1, 0.02]]);
    const image = tf.zeros([1, 6, 6, 1]) as tf.Tensor4D;
    const weights = tf.randomUniform([1, 6, 6, 1], -1, 1, 'float32', 3);
    const analytic = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(warpAffine(x as tf.Tensor4D, theta), weights)))(image).dataSync();

    for (const pixel of [0, 7, 14, 21, 35]) {
      const oneHot = new Float32Array(36);
      oneHot[pixel] = 1;
      const expected = tf.tidy(() => tf.sum(tf.mul(warpAffine(tf.tensor4d(oneHot, [1, 6, 6, 1]), theta), weights)).dataSync()[0]);
      assert.ok(Math.abs(analytic[pixel] - expected) < 1e-4, `pixel ${pixel}: ${analytic[pixel]} vs ${expected}`);
    }
    tf.dispose([theta, image, weights]);
  });

  it('rejects a grid with another batch size', function () {
    const images = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    const grid = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    assert.throws(() => bilinearSample(images, grid), /same batch size, but got 2 and 1/);
    tf.dispose([images, grid]);
  });

  it('rejects theta that is not [batch, 6]', function () {
    assert.throws(() => affineGrid(tf.zeros([1, 4]) as tf.Tensor2D, { heightPx: 4, widthPx: 4 }), /theta of shape \[batch, 6\]/);
  });
});

describe('affine parameters', function () {
  it('inverse chained with the transform is the identity', function () {
    const parameters = TRANSFORMS[3].parameters;
    const roundTrip = chainAffine(parameters, invertAffine(parameters));
    roundTrip.forEach((value, index) => assert.ok(Math.abs(value - IDENTITY_AFFINE[index]) < 1e-9, `entry ${index} is ${value}`));
  });

  it('grid distance of a pure shift is its length', function () {
    const distance = meanGridPointDistance([1, 0, 0.3, 0, 1, 0.4], [...IDENTITY_AFFINE] as AffineParameters);
    assert.ok(Math.abs(distance - 0.5) < 1e-6, `distance ${distance}`);
  });

  it('invert rejects a singular transform', function () {
    assert.throws(() => invertAffine([1, 2, 0, 2, 4, 0]), /determinant is 0/);
  });
});
