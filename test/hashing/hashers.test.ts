import assert from 'node:assert/strict';
import { UserInputError } from '../../src/config/errors';
import { SUPPORTED_CODE_LENGTHS_BITS, packBits, unpackBits } from '../../src/hashing/codes';
import { createHasher, deserializeHasher, serializeHasher, type HasherOptionsByKind } from '../../src/hashing/create-hasher';
import { HASHER_KINDS, type Hasher, type HasherKind } from '../../src/hashing/hasher';
import { clusteredFeatures } from './synthetic-features';

// 160 dimensions, so the PCA-based hashers and DH's ITQ warm start have
// enough principal directions for 128-bit codes.
const training = clusteredFeatures({ rowCount: 240, dimension: 160, clusterCount: 6, seed: 1 });
const queries = clusteredFeatures({ rowCount: 30, dimension: 160, clusterCount: 6, seed: 2 });

function smallHasher(kind: HasherKind, codeLengthBits: number, seed = 3): Hasher {
  const deepOptions = { codeLengthBits, seed, epochCount: 2, batchSize: 64 };
  const options: { [K in HasherKind]: HasherOptionsByKind[K] } = {
    dh: deepOptions,
    'supervised-dh': deepOptions,
    lsh: { codeLengthBits, seed },
    sblsh: { codeLengthBits, seed },
    pcah: { codeLengthBits },
    itq: { codeLengthBits, seed, iterationCount: 10 },
    sh: { codeLengthBits },
  };
  return createHasher(kind, options[kind]);
}

describe('hashers', function () {
  this.timeout(60000);

  for (const kind of HASHER_KINDS) {
    describe(kind, () => {
      for (const codeLengthBits of SUPPORTED_CODE_LENGTHS_BITS) {
        it(`encodes ${codeLengthBits}-bit codes that round trip`, async () => {
          const hasher = smallHasher(kind, codeLengthBits);
          await hasher.train(training.features, { labels: training.labels });
          const codes = await hasher.encode(queries.features);

          assert.equal(codes.count, queries.features.rowCount);
          assert.equal(codes.codeLengthBits, codeLengthBits);
          assert.equal(codes.bytesPerCode, codeLengthBits / 8);
          assert.equal(codes.data.length, queries.features.rowCount * (codeLengthBits / 8));
          assert.deepEqual(packBits(unpackBits(codes), codes.count, codeLengthBits).data, codes.data);
        });
      }

      it('reloads from saved bytes with identical codes', async () => {
        const hasher = smallHasher(kind, 32);
        await hasher.train(training.features, { labels: training.labels });
        const reloaded = deserializeHasher(serializeHasher(hasher));

        assert.equal(reloaded.kind, kind);
        assert.equal(reloaded.codeLengthBits, 32);
        assert.equal(reloaded.inputDimension, 160);
        assert.deepEqual((await reloaded.encode(queries.features)).data, (await hasher.encode(queries.features)).data);
      });

      it('gives identical codes for the same seed', async () => {
        const first = smallHasher(kind, 16);
        const second = smallHasher(kind, 16);
        await first.train(training.features, { labels: training.labels });
        await second.train(training.features, { labels: training.labels });
        assert.deepEqual((await first.encode(queries.features)).data, (await second.encode(queries.features)).data);
      });

      it('rejects encode before train', async () => {
        await assert.rejects(smallHasher(kind, 16).encode(queries.features), (error: unknown) => error instanceof UserInputError && /untrained/.test(error.message));
      });
    });
  }

  it('separates clusters with every hasher', async () => {
    for (const kind of HASHER_KINDS) {
      const hasher = smallHasher(kind, 32);
      await hasher.train(training.features, { labels: training.labels });
      const bits = unpackBits(await hasher.encode(training.features));

      // Mean Hamming distance over all pairs among the first 60 rows (10 per cluster).
      const sums = { within: 0, across: 0, withinPairs: 0, acrossPairs: 0 };
      for (let a = 0; a < 60; a++) {
        for (let b = a + 1; b < 60; b++) {
          let distance = 0;
          for (let bit = 0; bit < 32; bit++) {
            distance += bits[a * 32 + bit] ^ bits[b * 32 + bit];
          }
          if (training.labels[a] === training.labels[b]) {
            sums.within += distance;
            sums.withinPairs++;
          } else {
            sums.across += distance;
            sums.acrossPairs++;
          }
        }
      }
      const within = sums.within / sums.withinPairs;
      const across = sums.across / sums.acrossPairs;
      // PCAH only just passes: with 6 clusters, most of its 32 principal
      // directions carry noise, not cluster structure.
      assert.ok(within < across, `${kind}: mean distance ${within.toFixed(2)} within clusters, ${across.toFixed(2)} across`);
    }
  });
});
