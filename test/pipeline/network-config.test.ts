import { strict as assert } from 'node:assert';
import { networkSummaryLines } from '../../src/cli/pipeline-command';
import { UserInputError } from '../../src/config/errors';
import { loadRunConfig, parseRunConfig } from '../../src/config/run-config';

describe('network stage config', () => {
  it('resolves the demo sections with defaults', () => {
    const config = loadRunConfig('configs/demo.yaml');
    assert.deepEqual(config.sensor?.variants, ['shallow', 'deep']);
    assert.equal(config.sensor?.size, 'cpu');
    assert.equal(config.sensor?.epochs, 3);
    assert.equal(config.sensor?.robustness, true);
    assert.equal(config.alignment?.preset, 'cpu');
    assert.equal(config.alignment?.epochs, 2);
    assert.equal(config.alignment?.batchesPerEpoch, 5);
    assert.equal(config.alignment?.batchSize, 16);
    assert.equal(config.alignment?.referenceMode, 'global');
  });

  it('leaves both sections out of the tiny config', () => {
    const config = loadRunConfig('test/fixtures/pipeline-tiny.yaml');
    assert.equal(config.sensor, undefined);
    assert.equal(config.alignment, undefined);
  });

  const invalidCases: Array<{ title: string; section: Record<string, unknown>; keyPath: string }> = [
    { title: 'a repeated variant', section: { sensor: { variants: ['deep', 'deep'] } }, keyPath: 'sensor.variants' },
    { title: 'an unknown variant', section: { sensor: { variants: ['medium'] } }, keyPath: 'sensor.variants.0' },
    { title: 'an empty variant list', section: { sensor: { variants: [] } }, keyPath: 'sensor.variants' },
    { title: 'an unknown sensor size', section: { sensor: { size: 'gpu' } }, keyPath: 'sensor.size' },
    { title: 'a misspelt sensor key', section: { sensor: { epoch: 3 } }, keyPath: 'sensor' },
    { title: 'zero alignment epochs', section: { alignment: { epochs: 0 } }, keyPath: 'alignment.epochs' },
    { title: 'fractional batches per epoch', section: { alignment: { batchesPerEpoch: 2.5 } }, keyPath: 'alignment.batchesPerEpoch' },
    { title: 'an unknown alignment preset', section: { alignment: { preset: 'large' } }, keyPath: 'alignment.preset' },
  ];
  for (const testCase of invalidCases) {
    it(`rejects ${testCase.title}`, () => {
      assert.throws(
        () => parseRunConfig({ name: 'networks', ...testCase.section }, 'inline'),
        (error: Error) => {
          assert.ok(error instanceof UserInputError, `expected UserInputError, got ${error.name}`);
          assert.ok(error.message.includes(`  ${testCase.keyPath}:`), `message should name ${testCase.keyPath}: ${error.message}`);
          return true;
        },
      );
    });
  }
});

describe('network summary lines', () => {
  it('compares shallow and deep CCR', () => {
    const lines = networkSummaryLines({ sensor: [{ variant: 'shallow', ccr: 0.9123 }, { variant: 'deep', ccr: 0.95 }] });
    assert.deepEqual(lines, ['CCR shallow vs deep: 91.2% vs 95.0% (sensor classification on the test split)']);
  });

  it('prints the alignment grid error', () => {
    const lines = networkSummaryLines({ sensor: [], alignment: { pairs: 64, gridErrorBeforePx: 7.567, gridErrorAfterPx: 3.1 } });
    assert.deepEqual(lines, ['alignment grid error before/after: 7.57 px / 3.10 px (mean over 64 held-out synthetic pairs)']);
  });

  it('prints nothing for skipped stages', () => {
    assert.deepEqual(networkSummaryLines({ sensor: [] }), []);
  });
});
