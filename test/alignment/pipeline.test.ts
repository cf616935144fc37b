import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  alignToReference,
  checkAffineTransform,
  chooseReferenceImage,
  composeAffine,
  DegenerateTransformError,
  inkTensor,
  loadAlignmentModel,
  overlapCorrelation,
  pairwiseMatchScore,
  pairwiseMatchScores,
  prepareAlignmentImage,
  renderAlignmentOverlay,
  saveAlignmentModel,
  selectReference,
  type AffineParameters,
} from '../../src/alignment';
import { createGrayImage, createRandom, type GrayImage } from '../../src/imaging';
import { buildAlignmentModel, type AlignmentModelOptions } from '../../src/models/alignment';
import { FilesystemStore } from '../../src/storage';
import { useFastestBackend } from './backend';

const TINY_MODEL: AlignmentModelOptions = { inputSizePx: 16, inputChannels: 1, featureBlocks: [[4], [4]], regression: [{ kernelSizePx: 3, filters: 4 }], seed: 2 };

/** Builds a model that always outputs `parameters`, through a zero kernel and a bias set to them. */
function constantModel(parameters: AffineParameters): tf.LayersModel {
  const model = buildAlignmentModel(TINY_MODEL);
  const layer = model.getLayer('theta');
  const [kernel] = layer.getWeights();
  layer.setWeights([tf.zerosLike(kernel), tf.tensor1d(parameters)]);
  return model;
}

/** Black and white stripes on a white background, with a border of `marginPx`. */
function stripes(widthPx: number, heightPx: number, seed: string, marginPx = 3): GrayImage {
  const random = createRandom(seed);
  const image = createGrayImage(widthPx, heightPx, 255);
  const period = 3 + random.integer(3);
  for (let y = marginPx; y < heightPx - marginPx; y++) {
    for (let x = marginPx; x < widthPx - marginPx; x++) {
      if (Math.floor((x + 2 * y) / period) % 2 === 0) image.pixels[y * widthPx + x] = 0;
    }
  }
  return image;
}

describe('degenerate transform check', function () {
  const cases: Array<{ name: string; parameters: AffineParameters; degenerate: boolean; reason?: RegExp }> = [
    { name: 'identity', parameters: [1, 0, 0, 0, 1, 0], degenerate: false },
    { name: 'training-range extreme', parameters: composeAffine({ rotationDegrees: 15, shear: 0.15, scaleX: 0.75, scaleY: 1.25, translationX: 0.25, translationY: -0.25 }), degenerate: false },
    { name: 'singular', parameters: [1, 2, 0, 2, 4, 0], degenerate: true, reason: /determinant 0\.0000 is not positive/ },
    { name: 'mirror', parameters: [-1, 0, 0, 0, 1, 0], degenerate: true, reason: /mirrors or collapses/ },
    { name: 'collapse to a line', parameters: [1, 0, 0, 0, 0.05, 0], degenerate: true, reason: /smallest singular value 0\.0500 is below 0\.25/ },
    { name: 'extreme zoom', parameters: [6, 0, 0, 0, 6, 0], degenerate: true, reason: /largest singular value 6\.0000 is above 4/ },
    { name: 'translation off the image', parameters: [1, 0, 3, 0, 1, 0], degenerate: true, reason: /translation \(3\.0000, 0\.0000\) exceeds ±1\.5/ },
    { name: 'not finite', parameters: [1, 0, Number.NaN, 0, 1, 0], degenerate: true, reason: /not six finite numbers/ },
  ];

  for (const { name, parameters, degenerate, reason } of cases) {
    it(`${degenerate ? 'flags' : 'accepts'} ${name}`, function () {
      const check = checkAffineTransform(parameters);
      assert.equal(check.degenerate, degenerate, check.reasons.join('; '));
      if (reason !== undefined) assert.match(check.reasons.join('; '), reason);
    });
  }

  it('error message lists the reasons', function () {
    const parameters: AffineParameters = [1, 2, 0, 2, 4, 0];
    const error = new DegenerateTransformError(parameters, checkAffineTransform(parameters));
    assert.match(error.message, /predicted affine transform \[1\.0000, 2\.0000, .*\] is degenerate: determinant/);
  });
});

describe('alignment pipeline', function () {
  before(async function () {
    await useFastestBackend();
  });

  it('degenerate prediction is reported, not applied', function () {
    const model = constantModel([1, 2, 0, 2, 4, 0]);
    const image = stripes(20, 20, 'a');
    const [aligned] = alignToReference(model, stripes(20, 20, 'reference'), [image]);

    assert.equal(aligned.transformApplied, false);
    assert.equal(aligned.check.degenerate, true);
    assert.deepEqual(aligned.parameters, [1, 0, 0, 0, 1, 0]);
    assert.deepEqual(Array.from(aligned.image.pixels), Array.from(image.pixels));
    model.dispose();
  });

  it('degenerate match keeps the unaligned score', function () {
    const model = constantModel([-1, 0, 0, 0, 1, 0]);
    const score = pairwiseMatchScore(model, stripes(24, 24, 'q'), stripes(24, 24, 'c'), { evaluationSizePx: 24 });

    assert.equal(score.transformApplied, false);
    assert.equal(score.score, score.scoreBeforeAlignment);
    assert.match(score.check.reasons.join('; '), /mirrors/);
    model.dispose();
  });

  it('applies a usable transform to the image', function () {
    const shift: AffineParameters = [1, 0, 0.2, 0, 1, 0];
    const model = constantModel(shift);
    const image = stripes(21, 21, 'b');
    const [aligned] = alignToReference(model, stripes(21, 21, 'reference'), [image]);

    // x ↦ x + 0.2 in normalized units is 2 px of a 21-px image: output column c shows input column c + 2.
    assert.equal(aligned.transformApplied, true);
    for (let y = 0; y < 21; y++) {
      for (let x = 0; x < 19; x++) assert.equal(aligned.image.pixels[y * 21 + x], image.pixels[y * 21 + x + 2], `pixel (${x}, ${y})`);
    }
    model.dispose();
  });

  it('pair of different sizes shares one scale', function () {
    // `large` is `small` centred on more white; on one canvas they are the same picture.
    const small = stripes(30, 20, 'small');
    const large = createGrayImage(40, 40, 255);
    for (let y = 0; y < 20; y++) large.pixels.set(small.pixels.subarray(y * 30, (y + 1) * 30), (y + 10) * 40 + 5);
    const model = constantModel([1, 0, 0, 0, 1, 0]);
    const score = pairwiseMatchScore(model, large, small, { evaluationSizePx: 40 });

    assert.ok(score.scoreBeforeAlignment > 0.99, `correlation ${score.scoreBeforeAlignment}`);
    assert.ok(score.score > 0.99, `correlation after the identity ${score.score}`);
    assert.deepEqual(prepareAlignmentImage(small, { sizePx: 40, canvasSidePx: 40 }).pixels, prepareAlignmentImage(large, { sizePx: 40 }).pixels);
    model.dispose();
  });

  it('aligned images of different sizes get one output size', function () {
    const model = constantModel([1, 0, 0, 0, 1, 0]);
    const aligned = alignToReference(model, stripes(30, 30, 'reference'), [stripes(24, 36, 'tall'), stripes(40, 18, 'wide')], { outputSizePx: 32 });

    for (const entry of aligned) {
      assert.equal(entry.image.widthPx, 32);
      assert.equal(entry.image.heightPx, 32);
    }
    model.dispose();
  });

  it('scores one candidate per result', function () {
    const model = constantModel([1, 0, 0, 0, 1, 0]);
    const query = stripes(24, 24, 'q');
    const scores = pairwiseMatchScores(model, query, [query, stripes(24, 24, 'other'), stripes(30, 16, 'odd')], { evaluationSizePx: 24 });

    assert.equal(scores.length, 3);
    assert.ok(scores[0].score > 0.99, `self score ${scores[0].score}`);
    model.dispose();
  });

  it('inkTensor rejects mixed sizes', function () {
    assert.throws(() => inkTensor([createGrayImage(4, 4), createGrayImage(4, 5)]), /expected every image to be 4×4, but image 1 is 4×5/);
  });

  it('overlap correlation rejects mixed sizes', function () {
    assert.throws(() => overlapCorrelation(createGrayImage(4, 4), createGrayImage(5, 4)), /expected images of one size, but got 4×4 and 5×4/);
  });

  it('overlay rejects mixed sizes', function () {
    assert.throws(() => renderAlignmentOverlay(createGrayImage(4, 4), createGrayImage(4, 4), createGrayImage(3, 4)), /aligned image to be 4×4/);
  });

  it('reference is not an outlier', function () {
    const typical = Array.from({ length: 5 }, (_, index) => stripes(32, 32, `typical-${index % 2}`));
    const outlier = createGrayImage(32, 32, 255);
    for (let i = 0; i < 32 * 8; i++) outlier.pixels[i] = (i * 7) % 256;
    const chosen = chooseReferenceImage([outlier, ...typical], { seed: 1, sizePx: 32 });

    assert.notEqual(chosen.index, 0);
  });

  it('sensor reference falls back to global', function () {
    const references = { global: stripes(8, 8, 'global'), bySensor: { optical: stripes(8, 8, 'optical') } };

    assert.equal(selectReference(references, 'optical'), references.bySensor.optical);
    assert.equal(selectReference(references, 'capacitive'), references.global);
    assert.equal(selectReference(references), references.global);
  });

  it('saved model and references load back', async function () {
    const folder = mkdtempSync(join(tmpdir(), 'whorl-alignment-'));
    try {
      const store = new FilesystemStore(folder);
      const model = constantModel([0.9, 0.1, 0.05, -0.1, 1.1, 0]);
      const references = { global: stripes(20, 24, 'global'), bySensor: { 'optical/KeyTronic': stripes(16, 16, 'sensor') } };
      await saveAlignmentModel(store, 'models/alignment/test', { model, modelOptions: TINY_MODEL, references, metrics: { synthetic_aligned_grid_error: 0.1 } });
      const loaded = await loadAlignmentModel(store, 'models/alignment/test');

      const inputs = [tf.randomUniform([1, 16, 16, 1], 0, 1, 'float32', 1), tf.randomUniform([1, 16, 16, 1], 0, 1, 'float32', 2)];
      assert.deepEqual((loaded.model.predict(inputs) as tf.Tensor).arraySync(), (model.predict(inputs) as tf.Tensor).arraySync());
      assert.deepEqual(Array.from(loaded.references.global.pixels), Array.from(references.global.pixels));
      assert.deepEqual(Array.from(loaded.references.bySensor['optical/KeyTronic'].pixels), Array.from(references.bySensor['optical/KeyTronic'].pixels));
      assert.equal(loaded.manifest.metrics.synthetic_aligned_grid_error, 0.1);
      model.dispose();
      loaded.model.dispose();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
