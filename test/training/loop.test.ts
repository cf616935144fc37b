import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FilesystemStore, type ObjectStore } from '../../src/storage';
import {
  TrainingRandom,
  checkpointPrefix,
  epochShuffle,
  listCheckpointEpochs,
  loadModelFromStore,
  modelToFiles,
  modelFromFiles,
  optimizerFromFiles,
  optimizerToFiles,
  runTrainingLoop,
  saveModelToStore,
  type TrainingLoopOptions,
} from '../../src/training';

const SAMPLE_COUNT = 32;
const BATCH_SIZE = 8;
const SEED = 1234;

function tempStore(): ObjectStore {
  return new FilesystemStore(mkdtempSync(join(tmpdir(), 'whorl-training-')));
}

/** Builds a small regression problem whose data and weights depend only on fixed seeds. */
function makeProblem() {
  const inputs = tf.randomNormal([SAMPLE_COUNT, 4], 0, 1, 'float32', 7);
  const targets = tf.randomNormal([SAMPLE_COUNT, 1], 0, 1, 'float32', 8);
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 6, inputShape: [4], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const optimizer = tf.train.adam(0.01);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  return { inputs, targets, model, optimizer };
}

type Problem = ReturnType<typeof makeProblem>;

function loopOptions(problem: Problem, store: ObjectStore, overrides: Partial<TrainingLoopOptions> = {}): TrainingLoopOptions {
  let order: number[] = [];
  return {
    stage: 'test-stage',
    runKey: 'run-a',
    epochs: 3,
    batchesPerEpoch: SAMPLE_COUNT / BATCH_SIZE,
    seed: SEED,
    store,
    async trainStep(epoch, batch, context) {
      if (batch === 0) order = epochShuffle({ seed: SEED, epoch, sampleCount: SAMPLE_COUNT });
      const indices = tf.tensor1d(order.slice(batch * BATCH_SIZE, (batch + 1) * BATCH_SIZE), 'int32');
      // Noise from the loop's generator, so the test also covers its saved state.
      const noiseSeed = context.random.nextSeed();
      const x = tf.tidy(() => tf.add(tf.gather(problem.inputs, indices), tf.randomNormal([BATCH_SIZE, 4], 0, 0.1, 'float32', noiseSeed)));
      const y = tf.gather(problem.targets, indices);
      const loss = (await problem.model.trainOnBatch(x, y)) as number;
      tf.dispose([indices, x, y]);
      return { loss, metrics: { batch_size: BATCH_SIZE } };
    },
    async saveState() {
      return { ...(await modelToFiles(problem.model)), ...(await optimizerToFiles(problem.optimizer)) };
    },
    async loadState(files) {
      const restored = await modelFromFiles(files);
      problem.model.setWeights(restored.getWeights());
      await optimizerFromFiles(problem.optimizer, files);
    },
    ...overrides,
  };
}

async function weightValues(model: tf.LayersModel): Promise<number[]> {
  const values: number[] = [];
  for (const weight of model.getWeights()) values.push(...(await weight.data()));
  return values;
}

describe('training loop', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('writes one checkpoint per epoch', async () => {
    const store = tempStore();
    const result = await runTrainingLoop(loopOptions(makeProblem(), store));
    assert.equal(result.epochsTrained, 3);
    assert.equal(result.history.length, 3);
    assert.deepEqual(await listCheckpointEpochs(store, 'run-a', 'test-stage'), [2, 1, 0]);
    const keys = (await store.list(checkpointPrefix('run-a', 'test-stage', 0))).map((object) => object.key.split('/').pop());
    assert.deepEqual(keys.sort(), ['loop-state.json', 'manifest.json', 'model.json', 'optimizer.bin', 'optimizer.json', 'weights.bin']);
  });

  it('resumed run matches uninterrupted run', async () => {
    const uninterrupted = makeProblem();
    const reference = await runTrainingLoop(loopOptions(uninterrupted, tempStore()));

    const store = tempStore();
    const crashing = makeProblem();
    const crashOptions = loopOptions(crashing, store);
    await assert.rejects(
      runTrainingLoop({
        ...crashOptions,
        async trainStep(epoch, batch, context) {
          if (epoch === 1 && batch === 2) throw new Error('simulated worker crash');
          return crashOptions.trainStep(epoch, batch, context);
        },
      }),
      /simulated worker crash/,
    );
    assert.deepEqual(await listCheckpointEpochs(store, 'run-a', 'test-stage'), [0]);

    const resumed = makeProblem();
    const result = await runTrainingLoop(loopOptions(resumed, store));
    assert.equal(result.resumedFromEpoch, 0);
    assert.equal(result.epochsTrained, 2);
    assert.deepEqual(
      result.history.map((record) => record.loss),
      reference.history.map((record) => record.loss),
    );
    assert.deepEqual(await weightValues(resumed.model), await weightValues(uninterrupted.model));
  });

  it('finished run trains nothing on restart', async () => {
    const store = tempStore();
    await runTrainingLoop(loopOptions(makeProblem(), store));
    let steps = 0;
    const problem = makeProblem();
    const options = loopOptions(problem, store);
    const result = await runTrainingLoop({
      ...options,
      async trainStep(epoch, batch, context) {
        steps++;
        return options.trainStep(epoch, batch, context);
      },
    });
    assert.equal(steps, 0);
    assert.equal(result.epochsTrained, 0);
    assert.equal(result.history.length, 3);
  });

  it('skips checkpoint without manifest', async () => {
    const store = tempStore();
    await runTrainingLoop(loopOptions(makeProblem(), store, { epochs: 2 }));
    await store.delete(`${checkpointPrefix('run-a', 'test-stage', 1)}manifest.json`);
    const result = await runTrainingLoop(loopOptions(makeProblem(), store, { epochs: 2 }));
    assert.equal(result.resumedFromEpoch, 0);
    assert.equal(result.epochsTrained, 1);
  });

  it('skips checkpoint with corrupt file', async () => {
    const store = tempStore();
    await runTrainingLoop(loopOptions(makeProblem(), store, { epochs: 2 }));
    await store.put(`${checkpointPrefix('run-a', 'test-stage', 1)}weights.bin`, new Uint8Array([1, 2, 3]));
    const result = await runTrainingLoop(loopOptions(makeProblem(), store, { epochs: 2 }));
    assert.equal(result.resumedFromEpoch, 0);
  });

  it('keeps only the newest checkpoints', async () => {
    const store = tempStore();
    await runTrainingLoop(loopOptions(makeProblem(), store, { keepCheckpoints: 1 }));
    assert.deepEqual(await listCheckpointEpochs(store, 'run-a', 'test-stage'), [2]);
    assert.equal((await store.list(checkpointPrefix('run-a', 'test-stage', 0))).length, 0);
  });

  it('reports progress per batch', async () => {
    const progress: number[] = [];
    await runTrainingLoop(loopOptions(makeProblem(), tempStore(), { epochs: 1, onProgress: (update) => progress.push(update.batch) }));
    assert.deepEqual(progress, [0, 1, 2, 3]);
  });

  it('stops on abort signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled by test'));
    await assert.rejects(runTrainingLoop(loopOptions(makeProblem(), tempStore(), { signal: controller.signal })), /cancelled by test/);
  });

  it('rejects non-finite loss', async () => {
    await assert.rejects(
      runTrainingLoop(loopOptions(makeProblem(), tempStore(), { trainStep: async () => ({ loss: Number.NaN }) })),
      /training loss became NaN at epoch 0, batch 0/,
    );
  });

  it('rejects invalid epochs and keys', async () => {
    await assert.rejects(runTrainingLoop(loopOptions(makeProblem(), tempStore(), { epochs: 0 })), /invalid epochs 0/);
    await assert.rejects(runTrainingLoop(loopOptions(makeProblem(), tempStore(), { runKey: '../x' })), /invalid runKey/);
  });
});

describe('model files', () => {
  it('model round-trips through the store', async () => {
    const store = tempStore();
    const { model, inputs } = makeProblem();
    await saveModelToStore(model, store, 'models/test/abc');
    const loaded = await loadModelFromStore(store, 'models/test/abc/');
    const expected = await (model.predict(inputs) as tf.Tensor).data();
    const actual = await (loaded.predict(inputs) as tf.Tensor).data();
    assert.deepEqual(Array.from(actual), Array.from(expected));
  });

  it('rejects optimizer state of another class', async () => {
    const { model, inputs, targets, optimizer } = makeProblem();
    await model.trainOnBatch(inputs, targets);
    const files = await optimizerToFiles(optimizer);
    await assert.rejects(optimizerFromFiles(tf.train.sgd(0.1), files), /saved from Adam.*SGD/);
  });
});

describe('training random', () => {
  it('state round-trip continues the sequence', () => {
    const random = new TrainingRandom(5);
    random.nextUniform();
    const copy = TrainingRandom.fromState(random.getState());
    assert.deepEqual([copy.nextUniform(), copy.nextUniform()], [random.nextUniform(), random.nextUniform()]);
  });

  it('epoch shuffle is a seeded permutation', () => {
    const first = epochShuffle({ seed: 3, epoch: 0, sampleCount: 50 });
    assert.deepEqual([...first].sort((a, b) => a - b), Array.from({ length: 50 }, (_, index) => index));
    assert.deepEqual(epochShuffle({ seed: 3, epoch: 0, sampleCount: 50 }), first);
    assert.notDeepEqual(epochShuffle({ seed: 3, epoch: 1, sampleCount: 50 }), first);
  });
});
