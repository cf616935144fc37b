import assert from 'node:assert/strict';
import { unpackBits } from '../../src/hashing/codes';
import { createFeatureMatrix } from '../../src/hashing/feature-matrix';
import { decodeArray } from '../../src/hashing/hasher';
import { DeepHasher } from '../../src/hashing/deep-hashing';
import { ItqHasher, LshHasher, SblshHasher } from '../../src/hashing/projection-hashers';
import { SeededRandom } from '../../src/hashing/random';
import { clusteredFeatures } from './synthetic-features';

describe('ITQ', () => {
  const { features } = clusteredFeatures({ rowCount: 400, dimension: 40, clusterCount: 8, seed: 11 });

  for (const codeLengthBits of [16, 32] as const) {
    it(`learns an orthogonal ${codeLengthBits}-bit rotation`, async () => {
      const hasher = new ItqHasher({ codeLengthBits, seed: 5 });
      await hasher.train(features);
      const rotation = hasher.rotation;
      assert.ok(rotation !== undefined);

      let largestError = 0;
      for (let i = 0; i < codeLengthBits; i++) {
        for (let j = 0; j < codeLengthBits; j++) {
          let dot = 0;
          for (let k = 0; k < codeLengthBits; k++) {
            dot += rotation[k * codeLengthBits + i] * rotation[k * codeLengthBits + j];
          }
          largestError = Math.max(largestError, Math.abs(dot - (i === j ? 1 : 0)));
        }
      }
      assert.ok(largestError < 1e-9, `RᵀR deviates from I by ${largestError}`);
    });
  }

  it('never increases quantization loss', async () => {
    const hasher = new ItqHasher({ codeLengthBits: 16, seed: 9, iterationCount: 40 });
    const report = await hasher.train(features);

    assert.equal(report.lossHistory.length, 41);
    for (let iteration = 1; iteration < report.lossHistory.length; iteration++) {
      assert.ok(
        report.lossHistory[iteration] <= report.lossHistory[iteration - 1] + 1e-9,
        `loss rose from ${report.lossHistory[iteration - 1]} to ${report.lossHistory[iteration]} at iteration ${iteration}`,
      );
    }
    assert.ok(report.lossHistory[40] < report.lossHistory[0], 'ITQ should lower the loss of its random start');
  });
});

/** Pairs of unit vectors in `dimension` dimensions at exactly `angle` radians, laid out as rows 2i and 2i+1. */
function pairsAtAngle(angle: number, pairCount: number, dimension: number, random: SeededRandom): Float32Array {
  const data = new Float32Array(2 * pairCount * dimension);
  for (let pair = 0; pair < pairCount; pair++) {
    const u = Float64Array.from({ length: dimension }, () => random.nextGaussian());
    const v = Float64Array.from({ length: dimension }, () => random.nextGaussian());
    const uNorm = Math.hypot(...u);
    u.forEach((value, i) => (u[i] = value / uNorm));
    const projection = v.reduce((sum, value, i) => sum + value * u[i], 0);
    v.forEach((value, i) => (v[i] = value - projection * u[i]));
    const vNorm = Math.hypot(...v);
    for (let i = 0; i < dimension; i++) {
      data[(2 * pair) * dimension + i] = u[i];
      data[(2 * pair + 1) * dimension + i] = Math.cos(angle) * u[i] + Math.sin(angle) * (v[i] / vNorm);
    }
  }
  return data;
}

describe('LSH', () => {
  const dimension = 24;
  const pairCount = 300;

  for (const angle of [Math.PI / 8, Math.PI / 4, Math.PI / 2, (3 * Math.PI) / 4]) {
    it(`collides with probability 1 - θ/π at θ = ${(angle / Math.PI).toFixed(3)}π`, async () => {
      const random = new SeededRandom(21);
      const features = createFeatureMatrix(pairsAtAngle(angle, pairCount, dimension, random), 2 * pairCount, dimension);
      const hasher = new LshHasher({ codeLengthBits: 64, seed: 4, centerFeatures: false });
      await hasher.train(features);
      const bits = unpackBits(await hasher.encode(features));

      let equalBits = 0;
      for (let pair = 0; pair < pairCount; pair++) {
        for (let bit = 0; bit < 64; bit++) {
          equalBits += bits[2 * pair * 64 + bit] === bits[(2 * pair + 1) * 64 + bit] ? 1 : 0;
        }
      }
      const observed = equalBits / (pairCount * 64);
      const expected = 1 - angle / Math.PI;
      // 19,200 bit comparisons give a standard error below 0.004, but bits of
      // one hasher share projections, so the tolerance allows for that.
      assert.ok(Math.abs(observed - expected) < 0.03, `collision rate ${observed.toFixed(4)}, expected ${expected.toFixed(4)}`);
    });
  }
});

describe('SBLSH', () => {
  it('orthonormalizes projections within each super-bit batch', async () => {
    const dimension = 20;
    const { features } = clusteredFeatures({ rowCount: 100, dimension, clusterCount: 4, seed: 8 });
    const hasher = new SblshHasher({ codeLengthBits: 32, seed: 2 });
    await hasher.train(features);
    const projection = decodeArray(hasher.save().parameters.projection, 'projection');

    // 32 bits over 20 dimensions: batch one is bits 0-19, batch two bits 20-31.
    const dot = (a: number, b: number): number => {
      let sum = 0;
      for (let i = 0; i < dimension; i++) {
        sum += projection[i * 32 + a] * projection[i * 32 + b];
      }
      return sum;
    };
    for (const [a, b] of [[0, 19], [3, 7], [20, 31], [25, 26]]) {
      assert.ok(Math.abs(dot(a, b)) < 1e-9, `bits ${a} and ${b} should be orthogonal, dot ${dot(a, b)}`);
    }
    for (const bit of [0, 19, 20, 31]) {
      assert.ok(Math.abs(dot(bit, bit) - 1) < 1e-9, `bit ${bit} should have unit norm`);
    }
  });
});

describe('deep hashing', function () {
  this.timeout(60000);
  const { features } = clusteredFeatures({ rowCount: 256, dimension: 48, clusterCount: 4, seed: 12 });

  for (const initialization of ['itq', 'random'] as const) {
    it(`lowers its objective from ${initialization} start`, async () => {
      const hasher = new DeepHasher({ codeLengthBits: 16, seed: 1, epochCount: 8, batchSize: 64, initialization, learningRate: 3e-3 });
      const report = await hasher.train(features);
      assert.equal(report.lossHistory.length, 8);
      assert.ok(report.lossHistory[7] < report.lossHistory[0], `loss went from ${report.lossHistory[0]} to ${report.lossHistory[7]}`);
      hasher.dispose();
    });
  }

  /** Mean Hamming distance within labels divided by the mean across labels, over the first 40 rows. */
  async function withinToAcrossRatio(hasher: DeepHasher, data: ReturnType<typeof clusteredFeatures>): Promise<number> {
    const { features, labels } = data;
    const bits = unpackBits(await hasher.encode(features));
    const sums = { within: 0, across: 0, withinPairs: 0, acrossPairs: 0 };
    for (let a = 0; a < 40; a++) {
      for (let b = a + 1; b < 40; b++) {
        let distance = 0;
        for (let bit = 0; bit < 16; bit++) {
          distance += bits[a * 16 + bit] ^ bits[b * 16 + bit];
        }
        if (labels[a] === labels[b]) {
          sums.within += distance;
          sums.withinPairs++;
        } else {
          sums.across += distance;
          sums.acrossPairs++;
        }
      }
    }
    return sums.within / sums.withinPairs / (sums.across / sums.acrossPairs);
  }

  it('pulls same-label codes together when supervised', async () => {
    const noisy = clusteredFeatures({ rowCount: 256, dimension: 48, clusterCount: 4, seed: 12, centreScale: 0.3 });
    const unsupervised = new DeepHasher({ codeLengthBits: 16, seed: 1, epochCount: 20, batchSize: 64, learningRate: 1e-2 });
    const supervised = new DeepHasher({ codeLengthBits: 16, seed: 1, epochCount: 20, batchSize: 64, learningRate: 1e-2, supervised: true });
    await unsupervised.train(noisy.features);
    await supervised.train(noisy.features, { labels: noisy.labels });

    const unsupervisedRatio = await withinToAcrossRatio(unsupervised, noisy);
    const supervisedRatio = await withinToAcrossRatio(supervised, noisy);
    assert.ok(supervisedRatio < unsupervisedRatio, `within/across distance ratio ${supervisedRatio} supervised, ${unsupervisedRatio} unsupervised`);
    unsupervised.dispose();
    supervised.dispose();
  });
});
