/**
 * Measures training-step time and inference throughput of the benchmark
 * architectures on one tfjs backend, and prints one JSON line per
 * architecture. bench/tensors/run.sh calls it once per backend.
 *
 *   npx tsx bench/tensors/measure-tfjs.ts --backend wasm --threads 2 \
 *     --architectures small-cnn,vgg-sensor --max-seconds 20 --max-steps 10 --warmup-steps 2
 *
 * --skip-training measures inference only (trainStepMs is then null).
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initializeTensorBackend, type TensorBackendChoice } from '../../src/tensors';
import { buildModel, forwardFlops, loadArchitectures } from './architecture';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

interface StepTimes {
  /** Wall-clock time of each timed run. */
  wallMs: number[];
  /** Process CPU time (user + system, all threads) of each timed run. */
  cpuMs: number[];
}

/** Runs `step` `warmupSteps` times untimed, then until `maxSteps` runs or `maxSeconds` pass. */
async function timeSteps(step: () => Promise<void>, warmupSteps: number, maxSteps: number, maxSeconds: number): Promise<StepTimes> {
  for (let i = 0; i < warmupSteps; i++) {
    await step();
  }
  const times: StepTimes = { wallMs: [], cpuMs: [] };
  const deadline = performance.now() + maxSeconds * 1000;
  while (times.wallMs.length < maxSteps && (times.wallMs.length === 0 || performance.now() < deadline)) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    await step();
    const cpuUsed = process.cpuUsage(cpuStarted);
    times.wallMs.push(performance.now() - started);
    times.cpuMs.push((cpuUsed.user + cpuUsed.system) / 1000);
  }
  return times;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'auto' },
      threads: { type: 'string', default: '2' },
      architectures: { type: 'string', default: 'small-cnn,vgg-sensor' },
      'max-seconds': { type: 'string', default: '20' },
      'max-steps': { type: 'string', default: '10' },
      'warmup-steps': { type: 'string', default: '2' },
      'skip-training': { type: 'boolean', default: false },
    },
  });
  const info = await initializeTensorBackend({ backend: values.backend as TensorBackendChoice, threads: Number(values.threads) });
  const architectures = loadArchitectures();
  const maxSteps = Number(values['max-steps']);
  const maxSeconds = Number(values['max-seconds']);
  const warmupSteps = Number(values['warmup-steps']);

  for (const name of values.architectures.split(',')) {
    const spec = architectures[name];
    if (spec === undefined) {
      throw new Error(`unknown architecture "${name}": expected one of ${Object.keys(architectures).join(', ')}`);
    }
    const model = buildModel(spec);
    const images = tf.randomNormal([spec.batchSize, ...spec.inputShape]);
    const labels = tf.oneHot(tf.randomUniform([spec.batchSize], 0, spec.classes, 'int32') as tf.Tensor1D, spec.classes).toFloat();

    const train = values['skip-training']
      ? { wallMs: [], cpuMs: [] }
      : await timeSteps(
          async () => {
            await model.trainOnBatch(images, labels);
          },
          warmupSteps,
          maxSteps,
          maxSeconds,
        );
    const infer = await timeSteps(
      async () => {
        const output = model.predict(images) as tf.Tensor;
        await output.data();
        output.dispose();
      },
      warmupSteps,
      maxSteps,
      maxSeconds,
    );

    console.log(
      JSON.stringify({
        runtime: `tfjs ${info.name}`,
        backend: info.name,
        backendVersion: info.version,
        threads: info.threads,
        architecture: name,
        batchSize: spec.batchSize,
        forwardFlops: forwardFlops(spec),
        trainStepMs: train.wallMs.length > 0 ? median(train.wallMs) : null,
        trainStepCpuMs: train.cpuMs.length > 0 ? median(train.cpuMs) : null,
        trainSteps: train.wallMs.length,
        inferBatchMs: median(infer.wallMs),
        inferBatchCpuMs: median(infer.cpuMs),
        inferSteps: infer.wallMs.length,
      }),
    );
    model.dispose();
    tf.dispose([images, labels]);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
