import { strict as assert } from 'node:assert';
import { UserInputError } from '../../src/config/errors';
import { parseRunConfig } from '../../src/config/run-config';
import { featureSettingsOf } from '../../src/pipeline/feature-encoder';

const data = { sources: [{ name: 'synthetic', layout: 'synthetic', synthetic: { fingers: 4 } }], imageSizePx: 48 };

function configWith(hashing: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { name: 'features', data, hashing, index: { name: 'features' }, ...extra };
}

describe('hashing feature settings', () => {
  it('default to pixels of featureSizePx', () => {
    const config = parseRunConfig(configWith({ featureSizePx: 12 }), 'inline');
    assert.equal(config.hashing?.features, undefined);
    assert.equal(config.hashing?.alignBeforeEncoding, undefined);
    assert.deepEqual(featureSettingsOf(config.hashing ?? assert.fail('no hashing section')), { kind: 'pixels', sizePx: 12 });
  });

  it('resolve orientation with its grid default', () => {
    const config = parseRunConfig(configWith({ features: { kind: 'orientation' } }), 'inline');
    assert.deepEqual(featureSettingsOf(config.hashing ?? assert.fail('no hashing section')), { kind: 'orientation', gridCells: 16 });
  });

  it('resolve multi-scale orientation with its grids default', () => {
    const config = parseRunConfig(configWith({ features: { kind: 'orientation-multiscale' } }), 'inline');
    assert.deepEqual(featureSettingsOf(config.hashing ?? assert.fail('no hashing section')), { kind: 'orientation-multiscale', grids: [8, 16] });
  });

  it('accept training on the gallery', () => {
    const config = parseRunConfig(configWith({ trainOn: 'gallery' }), 'inline');
    assert.equal(config.hashing?.trainOn, 'gallery');
  });

  it('accept alignment before encoding with an alignment section', () => {
    const config = parseRunConfig(configWith({ alignBeforeEncoding: true }, { alignment: { preset: 'cpu' } }), 'inline');
    assert.equal(config.hashing?.alignBeforeEncoding, true);
  });

  const invalidCases: Array<{ title: string; config: unknown; keyPath: string; fix: RegExp }> = [
    { title: 'an unknown feature kind', config: configWith({ features: { kind: 'gabor' } }), keyPath: 'hashing.features.kind', fix: /"pixels", "orientation", "orientation-multiscale" or "sensor-embedding"/ },
    { title: 'gridCells on pixel features', config: configWith({ features: { kind: 'pixels', gridCells: 8 } }), keyPath: 'hashing.features', fix: /gridCells/ },
    { title: 'a one-cell orientation grid', config: configWith({ features: { kind: 'orientation', gridCells: 1 } }), keyPath: 'hashing.features.gridCells', fix: />=2|at least 2|too small/i },
    {
      title: 'a grid finer than the images',
      config: configWith({ features: { kind: 'orientation', gridCells: 20 } }),
      keyPath: 'hashing.features.gridCells',
      fix: /lower gridCells or raise data.imageSizePx/,
    },
    {
      title: 'alignment before encoding without alignment',
      config: configWith({ alignBeforeEncoding: true }),
      keyPath: 'hashing.alignBeforeEncoding',
      fix: /add "alignment: \{ preset: cpu \}" or set alignBeforeEncoding to false/,
    },
    {
      title: 'a multi-scale grid finer than the images',
      config: configWith({ features: { kind: 'orientation-multiscale', grids: [8, 20] } }),
      keyPath: 'hashing.features.grids.1',
      fix: /lower the grid or raise data.imageSizePx/,
    },
    { title: 'an unknown training set', config: configWith({ trainOn: 'probes' }), keyPath: 'hashing.trainOn', fix: /train-fingers|gallery/ },
    { title: 'a non-boolean alignBeforeEncoding', config: configWith({ alignBeforeEncoding: 'yes' }), keyPath: 'hashing.alignBeforeEncoding', fix: /boolean/ },
  ];
  for (const testCase of invalidCases) {
    it(`reject ${testCase.title}`, () => {
      assert.throws(
        () => parseRunConfig(testCase.config, 'inline'),
        (error: Error) => {
          assert.ok(error instanceof UserInputError, `expected UserInputError, got ${error.name}`);
          assert.ok(error.message.includes(`${testCase.keyPath}:`), `message should name ${testCase.keyPath}: ${error.message}`);
          assert.match(error.message, testCase.fix);
          return true;
        },
      );
    });
  }
});
