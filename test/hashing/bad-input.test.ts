import assert from 'node:assert/strict';
import { UserInputError } from '../../src/config/errors';
import { createHasher } from '../../src/hashing/create-hasher';
import { createFeatureMatrix } from '../../src/hashing/feature-matrix';
import { HASHER_KINDS } from '../../src/hashing/hasher';
import { clusteredFeatures } from './synthetic-features';

const userError = (pattern: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof UserInputError, `expected UserInputError, got ${String(error)}`);
  assert.match(error.message, pattern);
  return true;
};

describe('hasher input checks', () => {
  const { features, labels } = clusteredFeatures({ rowCount: 80, dimension: 20, clusterCount: 4, seed: 3 });

  for (const kind of HASHER_KINDS) {
    describe(kind, () => {
      it('rejects NaN features', async () => {
        const data = Float32Array.from(features.data);
        data[5 * 20 + 7] = Number.NaN;
        await assert.rejects(
          createHasher(kind, { codeLengthBits: 16 }).train(createFeatureMatrix(data, 80, 20), { labels }),
          userError(/NaN at row 5, column 7/),
        );
      });

      it('rejects constant features', async () => {
        const constant = createFeatureMatrix(new Float32Array(80 * 20).fill(0.25), 80, 20);
        await assert.rejects(createHasher(kind, { codeLengthBits: 16 }).train(constant, { labels }), userError(/training features are constant/));
      });

      it('rejects fewer samples than bits', async () => {
        const few = createFeatureMatrix(features.data.slice(0, 10 * 20), 10, 20);
        await assert.rejects(createHasher(kind, { codeLengthBits: 16 }).train(few, { labels: labels.slice(0, 10) }), userError(/10 rows but a 16-bit hasher needs at least 1[67]/));
      });

      it('rejects unsupported code lengths', () => {
        assert.throws(() => createHasher(kind, { codeLengthBits: 20 }), userError(/unsupported code length 20 bits: expected one of 16, 32, 48, 64, 128/));
      });

      it('rejects features of the wrong width at encode', async () => {
        const hasher = createHasher(kind, { codeLengthBits: 16, epochCount: 1 });
        await hasher.train(features, { labels });
        const narrow = createFeatureMatrix(new Float32Array(2 * 19), 2, 19);
        await assert.rejects(hasher.encode(narrow), userError(/19 columns but the hasher was trained on 20/));
      });
    });
  }

  it('accepts a single constant column', async () => {
    const data = Float32Array.from(features.data);
    for (let row = 0; row < 80; row++) {
      data[row * 20] = 0;
    }
    await createHasher('itq', { codeLengthBits: 16 }).train(createFeatureMatrix(data, 80, 20));
  });

  it('rejects supervised-dh without labels', async () => {
    await assert.rejects(createHasher('supervised-dh', { codeLengthBits: 16 }).train(features), userError(/needs a label per training row/));
  });

  it('rejects PCA hashers with fewer dimensions than bits', async () => {
    await assert.rejects(createHasher('itq', { codeLengthBits: 32 }).train(features), userError(/only 20 dimensions/));
    await assert.rejects(createHasher('dh', { codeLengthBits: 32 }).train(features), userError(/ITQ warm start needs inputPrincipalComponentCount >= 32/));
  });

  it('rejects a mismatched data length', () => {
    assert.throws(() => createFeatureMatrix(new Float32Array(5), 2, 3), userError(/5 values but 2x3 needs 6/));
  });
});
