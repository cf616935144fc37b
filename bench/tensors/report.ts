/**
 * Turns the JSON lines of measure-tfjs.ts and measure_keras.py into the
 * Markdown table of docs/benchmarks.md.
 *
 *   npx tsx bench/tensors/report.ts results.jsonl
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

interface Measurement {
  runtime: string;
  backend: string;
  backendVersion: string;
  threads: number;
  architecture: string;
  batchSize: number;
  forwardFlops?: number;
  trainStepMs: number | null;
  trainStepCpuMs: number | null;
  trainSteps: number;
  inferBatchMs: number;
  inferBatchCpuMs: number;
  inferSteps: number;
}

/**
 * FP32 FLOPs per cycle and core assumed for the theoretical peak: two 512-bit
 * FMA pipes × 16 lanes × 2 FLOPs.
 * NOTE: assumed, not verified: lscpu shows an AVX-512 "AMD EPYC" of family 26
 * (Zen 5) behind a hypervisor, and cores that split 512-bit FMAs into two
 * halves reach only half of this.
 */
const FLOPS_PER_CYCLE_PER_CORE = 64;

/** Clock in MHz: Node's value, or /proc/cpuinfo's where Node reports 0 (as in some VMs). */
function clockMhz(): number {
  const reported = cpus()[0]?.speed ?? 0;
  if (reported > 0 || !existsSync('/proc/cpuinfo')) {
    return reported;
  }
  const match = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return match ? Math.round(Number(match[1])) : 0;
}

function format(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function main(): void {
  const path = process.argv[2];
  if (path === undefined) {
    throw new Error('missing argument: the JSON lines file written by bench/tensors/run.sh');
  }
  const lines = readFileSync(path, 'utf8').split('\n').filter((line) => line.trim().startsWith('{'));
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const measurements = records.filter((record) => 'architecture' in record) as unknown as Measurement[];
  const peakRecord = records.find((record) => 'peakMatmulGflops' in record) as { peakMatmulGflops: number } | undefined;

  const flopsByArchitecture = new Map<string, number>();
  for (const measurement of measurements) {
    if (measurement.forwardFlops !== undefined) {
      flopsByArchitecture.set(measurement.architecture, measurement.forwardFlops);
    }
  }

  const coreCount = cpus().length;
  const clock = clockMhz();
  const corePeakGflops = (clock * FLOPS_PER_CYCLE_PER_CORE) / 1000;
  console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'}, ${coreCount} cores at ${clock} MHz.`);
  console.log(
    `Theoretical FP32 peak: ${format(corePeakGflops)} GFLOP/s per core, ${format(coreCount * corePeakGflops)} GFLOP/s for the machine (${clock} MHz × ${FLOPS_PER_CYCLE_PER_CORE} FLOPs per cycle, assumed).`,
  );
  if (peakRecord !== undefined) {
    console.log(`Measured TensorFlow 2048×2048 matmul on 2 threads: ${format(peakRecord.peakMatmulGflops, 1)} GFLOP/s.`);
  }
  console.log('');
  console.log(
    'Wall-clock times depend on what else runs on the machine; CPU times (user + system, all threads of the process) measure the work itself. GFLOP per CPU second compares with the per-core peak.',
  );
  console.log('');
  console.log(
    '| architecture | runtime | threads | train step wall ms | train step CPU ms | train CPU × Keras | train GFLOP per CPU s | inference wall images/s | inference CPU ms per batch | inference CPU × Keras | inference GFLOP per CPU s |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');

  for (const architecture of new Set(measurements.map((measurement) => measurement.architecture))) {
    const rows = measurements.filter((measurement) => measurement.architecture === architecture);
    const keras = rows.find((row) => row.runtime === 'keras');
    const forwardFlops = flopsByArchitecture.get(architecture) ?? 0;
    for (const row of rows) {
      // Training costs about three forward passes: forward, input gradient and filter gradient.
      const trainFlops = 3 * forwardFlops;
      const trainCells =
        row.trainStepMs === null || row.trainStepCpuMs === null
          ? 'not measured | not measured | n/a | n/a'
          : [
              `${format(row.trainStepMs, 1)} (n=${row.trainSteps})`,
              format(row.trainStepCpuMs, 1),
              keras?.trainStepCpuMs ? format(row.trainStepCpuMs / keras.trainStepCpuMs, 2) : 'n/a',
              format(trainFlops / (row.trainStepCpuMs / 1000) / 1e9, 1),
            ].join(' | ');
      const inferCells = [
        `${format(row.batchSize / (row.inferBatchMs / 1000), 1)} (n=${row.inferSteps})`,
        format(row.inferBatchCpuMs, 1),
        keras ? format(row.inferBatchCpuMs / keras.inferBatchCpuMs, 2) : 'n/a',
        format(forwardFlops / (row.inferBatchCpuMs / 1000) / 1e9, 1),
      ].join(' | ');
      console.log(`| ${architecture} (batch ${row.batchSize}) | ${row.runtime} ${row.backendVersion} | ${row.threads} | ${trainCells} | ${inferCells} |`);
    }
  }
}

main();
