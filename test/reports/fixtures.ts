import { PNG } from 'pngjs';
import { RUN_REPORT_FORMAT_VERSION, type ComparedRun, type EpochMetrics, type RunReport } from '../../src/reports';

/**
 * A realistic but synthetic run report: every number comes from a seeded
 * generator, shaped like a demo-config run, and measures nothing.
 */

/** Mulberry32: a small seeded generator, so the fixture is the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SENSORS = ['FVC2002-DB1', 'FVC2002-DB2', 'FVC2002-DB3', 'FVC2004-DB1', 'FVC2004-DB2', 'IITD-MOLF-Lumidigm'];
const HASHERS = ['DH', 'ITQ', 'PCAH', 'SH', 'SBLSH', 'LSH'];
const CODE_LENGTHS_BITS = [16, 32, 64, 128];

function clamp(value: number, low = 0, high = 1): number {
  return Math.min(high, Math.max(low, value));
}

function trainingEpochs(random: () => number, epochs: number, finalAccuracy: number | undefined): EpochMetrics[] {
  return Array.from({ length: epochs }, (_, index) => {
    const progress = 1 - Math.exp(-(index + 1) / (epochs / 3));
    const noise = () => (random() - 0.5) * 0.03;
    const trainLoss = 1.8 * (1 - progress) + 0.08 + noise();
    const validationLoss = trainLoss + 0.05 + 0.15 * progress * progress + noise();
    return {
      epoch: index + 1,
      trainLoss,
      validationLoss,
      ...(finalAccuracy === undefined
        ? {}
        : {
            trainAccuracy: clamp(0.2 + (finalAccuracy + 0.02 - 0.2) * progress + noise()),
            validationAccuracy: clamp(0.2 + (finalAccuracy - 0.2) * progress + noise()),
          }),
    };
  });
}

function confusionMatrix(random: () => number, ccr: number, imagesPerSensor: number): number[][] {
  return SENSORS.map((_, row) => {
    const counts = SENSORS.map(() => 0);
    const correct = Math.round(imagesPerSensor * clamp(ccr + (random() - 0.5) * 0.06));
    counts[row] = correct;
    for (let left = imagesPerSensor - correct; left > 0; left--) {
      let column = Math.floor(random() * SENSORS.length);
      if (column === row) column = (column + 1) % SENSORS.length;
      counts[column]++;
    }
    return counts;
  });
}

function ccrPerSensor(matrix: number[][]): Record<string, number> {
  return Object.fromEntries(SENSORS.map((sensor, row) => [sensor, matrix[row][row] / matrix[row].reduce((sum, count) => sum + count, 0)]));
}

function overallCcr(matrix: number[][]): number {
  const correct = matrix.reduce((sum, row, index) => sum + row[index], 0);
  const total = matrix.reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
  return correct / total;
}

/** Draws a 160×160 PNG of two ridge patterns over each other, the reference in red and the aligned one in blue, shifted by `offsetPx`. */
function overlayPng(offsetPx: number, angle: number): Uint8Array {
  const sizePx = 160;
  const png = new PNG({ width: sizePx, height: sizePx });
  const ridge = (x: number, y: number, theta: number) => {
    const u = (x - 80) * Math.cos(theta) + (y - 80) * Math.sin(theta);
    const radius = Math.hypot(x - 80, y - 80);
    return Math.sin(u / 2.2 + radius / 9) > 0.3 && radius < 72;
  };
  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) {
      const offset = (y * sizePx + x) * 4;
      const reference = ridge(x, y, angle);
      const aligned = ridge(x + offsetPx, y, angle + offsetPx * 0.01);
      let rgb = [255, 255, 255];
      if (reference && aligned) rgb = [120, 40, 140];
      else if (reference) rgb = [220, 70, 60];
      else if (aligned) rgb = [60, 130, 220];
      png.data.set([...rgb, 255], offset);
    }
  }
  return new Uint8Array(PNG.sync.write(png));
}

function correlationMatrix(random: () => number, bits: number, spread: number): number[][] {
  const matrix = Array.from({ length: bits }, () => new Array<number>(bits).fill(0));
  for (let row = 0; row < bits; row++) {
    matrix[row][row] = 1;
    for (let column = row + 1; column < bits; column++) {
      const value = clamp((random() - 0.5) * 2 * spread, -1, 1);
      matrix[row][column] = value;
      matrix[column][row] = value;
    }
  }
  return matrix;
}

/** Builds a complete run report in which every stage succeeded. */
export function fixtureRunReport(runKey = 'fixture-demo-0001'): RunReport {
  const random = seededRandom(20261204);
  const shallowMatrix = confusionMatrix(random, 0.91, 180);
  const deepMatrix = confusionMatrix(random, 0.97, 180);
  const mapAt = (hasher: string, bits: number) => {
    const quality: Record<string, number> = { DH: 0.72, ITQ: 0.55, PCAH: 0.42, SH: 0.45, SBLSH: 0.36, LSH: 0.3 };
    return clamp(quality[hasher] * (1 - Math.exp(-bits / 28)) + (random() - 0.5) * 0.02);
  };
  const stage = (name: string, durationMs: number, cacheHit = false) => ({
    name,
    status: 'succeeded' as const,
    startedAt: '2026-12-04T18:02:11.000Z',
    durationMs,
    cacheHit,
  });

  return {
    formatVersion: RUN_REPORT_FORMAT_VERSION,
    runKey,
    title: 'Fixture run (synthetic numbers)',
    status: 'succeeded',
    startedAt: '2026-12-04T18:02:11.000Z',
    finishedAt: '2026-12-04T18:49:37.000Z',
    config: {
      name: 'demo',
      source: 'configs/demo.yaml',
      values: {
        name: 'demo',
        seed: 7,
        storage: { kind: 's3', prefix: '' },
        tracking: { experiment: 'whorl' },
        tensors: { backend: 'auto' },
        sensor: { trainFraction: 0.1, imageSizePx: 128, epochs: 12, batchSize: 32 },
        hashing: { hashers: HASHERS, codeLengthsBits: CODE_LENGTHS_BITS },
      },
    },
    versions: {
      code: '8db3c48',
      backend: 'tensorflow',
      models: [
        { stage: 'sensor-shallow', version: '3f9a1c2e', location: 'models/sensor-shallow/3f9a1c2e/' },
        { stage: 'sensor-deep', version: '7be0d415', location: 'models/sensor-deep/7be0d415/' },
        { stage: 'alignment', version: 'c41d0e9a', location: 'models/alignment/c41d0e9a/' },
        { stage: 'hashing', version: '52aa7f10', location: 'models/hashing/52aa7f10/' },
      ],
      index: { name: 'demo-gallery', version: 'v0003', manifestKey: 'index/demo-gallery/v0003/manifest.json' },
    },
    tracking: { trackingUri: 'http://127.0.0.1:5000', experimentId: '1', runId: 'fixture0000000000000000000000001' },
    stages: [
      stage('prepare', 84_300, true),
      stage('train-sensor-shallow', 512_900),
      stage('train-sensor-deep', 901_400),
      stage('train-alignment', 388_000),
      stage('evaluate-sensor', 61_200),
      stage('evaluate-alignment', 22_700),
      stage('train-hashing', 244_800),
      stage('encode-gallery', 97_100),
      stage('build-index', 31_900),
      stage('evaluate-retrieval', 54_300),
    ],
    training: [
      { network: 'sensor-shallow', epochs: trainingEpochs(random, 12, 0.91) },
      { network: 'sensor-deep', epochs: trainingEpochs(random, 12, 0.97) },
      { network: 'alignment', epochs: trainingEpochs(random, 10, undefined) },
      { network: 'hashing', epochs: trainingEpochs(random, 15, undefined) },
    ],
    sensorClassification: {
      sensors: SENSORS,
      variants: [
        { variant: 'shallow', network: 'VGG-19 variant', overallCcr: overallCcr(shallowMatrix), ccrPerSensor: ccrPerSensor(shallowMatrix), confusionMatrix: shallowMatrix },
        { variant: 'deep', network: 'ResNet50 variant', overallCcr: overallCcr(deepMatrix), ccrPerSensor: ccrPerSensor(deepMatrix), confusionMatrix: deepMatrix },
      ],
    },
    robustness: (['shallow', 'deep'] as const).flatMap((variant) => {
      const start = variant === 'deep' ? 0.97 : 0.91;
      const slope = variant === 'deep' ? 0.6 : 1;
      return [
        { variant, perturbation: 'rotation' as const, points: [0, 5, 10, 15, 20, 30, 45].map((level) => ({ level, ccr: clamp(start - slope * 0.008 * level) })) },
        { variant, perturbation: 'occlusion' as const, points: [0, 10, 20, 30, 40, 50].map((level) => ({ level, ccr: clamp(start - slope * 0.009 * level) })) },
        { variant, perturbation: 'noise' as const, points: [0, 5, 10, 20, 30].map((level) => ({ level, ccr: clamp(start - slope * 0.012 * level) })) },
      ];
    }),
    alignment: {
      gridErrorBeforePx: Array.from({ length: 300 }, () => 6 + random() * 10 + random() * 6),
      gridErrorAfterPx: Array.from({ length: 300 }, () => 0.6 + random() * 2.5 + random() * random() * 4),
      overlays: [
        { name: 'pair-001', caption: 'FVC2002-DB1 101_1 on 101_2 (reference red, aligned blue)', png: overlayPng(2, 0.4) },
        { name: 'pair-002', caption: 'FVC2002-DB2 104_3 on 104_5', png: overlayPng(4, 1.1) },
        { name: 'pair-003', caption: 'FVC2004-DB1 17_2 on 17_6', png: overlayPng(1, 2.0) },
      ],
    },
    retrieval: {
      results: HASHERS.flatMap((hasher) =>
        CODE_LENGTHS_BITS.map((bits) => {
          const map = mapAt(hasher, bits);
          return {
            hasher,
            codeLengthBits: bits,
            meanAveragePrecision: map,
            precisionAtK: { '1': clamp(map + 0.12), '10': clamp(map + 0.05), '100': clamp(map - 0.08) },
            precisionRecall: Array.from({ length: 11 }, (_, step) => ({ recall: step / 10, precision: clamp(map + 0.25 - 0.55 * (step / 10) ** 1.5 * (1.1 - map)) })),
            hitRateByPenetration: [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1].map((penetrationRate) => ({
              penetrationRate,
              hitRate: penetrationRate === 1 ? 1 : clamp(1 - Math.exp(-penetrationRate * (4 + 40 * map))),
            })),
          };
        }),
      ),
    },
    codeQuality: [
      {
        hasher: 'DH',
        codeLengthBits: 64,
        bitBalance: Array.from({ length: 64 }, () => clamp(0.5 + (random() - 0.5) * 0.16)),
        bitCorrelation: correlationMatrix(random, 64, 0.25),
      },
    ],
    index: {
      name: 'demo-gallery',
      version: 'v0003',
      kind: 'multi-index hash',
      codeCount: 48_000,
      codeLengthBits: 64,
      shards: Array.from({ length: 4 }, (_, shard) => ({ name: `shard-${String(shard).padStart(5, '0')}`, codeCount: 12_000, sizeBytes: 1_310_720 + Math.round(random() * 40_000) })),
      queryLatencyMs: Array.from({ length: 400 }, () => 0.8 + random() * 0.7 + (random() < 0.05 ? random() * 4 : 0)),
      topK: 10,
    },
    quarantine: [
      { source: 'fvc2002-db3', item: 'prepared/raw/fvc2002/DB3_A/17_4.tif', reason: 'decode failed: truncated TIFF strip 3 of 8' },
      { source: 'iitd-molf', item: 'raw/iitd-molf/Lumidigm/0031_L2.bmp', reason: 'image is 12×12 px, below the 64 px minimum' },
    ],
  };
}

/** Builds a run report whose deep sensor network failed, so the stages after it were skipped. */
export function fixtureFailedRunReport(runKey = 'fixture-demo-0002'): RunReport {
  const complete = fixtureRunReport(runKey);
  const reached = new Set(['prepare', 'train-sensor-shallow', 'train-alignment', 'evaluate-alignment']);
  return {
    ...complete,
    title: 'Fixture run with a failed stage (synthetic numbers)',
    status: 'failed',
    stages: complete.stages.map((stage) => {
      if (reached.has(stage.name)) return stage;
      if (stage.name === 'train-sensor-deep') {
        return {
          ...stage,
          status: 'failed',
          durationMs: 130_400,
          reason: 'validation loss became NaN at epoch 4; lower sensor.learningRate (now 0.01) and rerun',
          errorType: 'TrainingDivergedError',
        };
      }
      return { name: stage.name, status: 'skipped', reason: 'an upstream stage failed: train-sensor-deep' };
    }),
    training: complete.training?.filter((history) => history.network !== 'sensor-deep' && history.network !== 'hashing'),
    sensorClassification: undefined,
    robustness: undefined,
    retrieval: undefined,
    codeQuality: undefined,
    index: undefined,
    versions: { ...complete.versions, models: complete.versions.models.filter((model) => model.stage === 'sensor-shallow' || model.stage === 'alignment'), index: undefined },
  };
}

/** Two synthetic MLflow runs, a shallow and a deep sensor network, as the comparison page reads them. */
export function comparedRunsFixture(): ComparedRun[] {
  const random = seededRandom(7);
  return (['shallow', 'deep'] as const).map((variant, index) => {
    const epochs = trainingEpochs(random, 8, variant === 'deep' ? 0.97 : 0.91);
    const histories = {
      'train-loss': epochs.map((epoch) => ({ step: epoch.epoch, value: epoch.trainLoss })),
      'validation-accuracy': epochs.map((epoch) => ({ step: epoch.epoch, value: epoch.validationAccuracy ?? 0 })),
      ccr: [{ step: 0, value: variant === 'deep' ? 0.971 : 0.912 }],
    };
    return {
      runId: `${index}`.repeat(32),
      runName: `sensor-${variant}`,
      status: 'FINISHED',
      startTimeMs: Date.parse('2026-12-04T18:00:00.000Z') + index * 60_000,
      endTimeMs: Date.parse('2026-12-04T18:20:00.000Z') + index * 300_000,
      params: { backbone: variant === 'deep' ? 'resnet50-deep' : 'vgg19-shallow', epochs: '8', learningRate: '0.001' },
      tags: {},
      metrics: Object.fromEntries(Object.entries(histories).map(([key, history]) => [key, history[history.length - 1].value])),
      histories,
    };
  });
}
