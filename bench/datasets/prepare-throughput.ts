// Measures dataset preparation throughput (images per second) on the shared
// real samples and on a synthetic set, with a fresh filesystem store each
// time so no run reuses an earlier one. Run:
//   npx tsx bench/datasets/prepare-throughput.ts [--image-size-px 96] [--store filesystem|s3]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadEnvironment } from '../../src/config/environment';
import { dataConfigSchema, generateSyntheticDataset, prepareDatasets, type DataConfig } from '../../src/datasets';
import { FilesystemStore, S3Store, type ObjectStore } from '../../src/storage';

interface Measurement {
  name: string;
  images: number;
  quarantined: number;
  wallSeconds: number;
  cpuSeconds: number;
}

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback;
}

async function measure(name: string, config: DataConfig, baseDir: string, openStore: (scratch: string) => ObjectStore): Promise<Measurement> {
  const scratch = mkdtempSync(join(tmpdir(), 'whorl-bench-'));
  try {
    const store = openStore(scratch);
    // Each measurement writes under its own prefix and deletes it afterwards, so MinIO keeps nothing.
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const result = await prepareDatasets({ store, config, seed: 0, baseDir, workDir: join(scratch, 'work') });
    const wallSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    for (const object of await store.list(config.outputPrefix)) await store.delete(object.key);
    return { name, images: result.manifest.counts.images, quarantined: result.manifest.quarantine.length, wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const imageSizePx = Number(argument('--image-size-px', '96'));
  const storeKind = argument('--store', 'filesystem');
  const runId = Date.now();
  const openStore = (scratch: string): ObjectStore => (storeKind === 's3' ? new S3Store(loadEnvironment().s3) : new FilesystemStore(join(scratch, 'store')));
  const outputPrefix = `bench/datasets/${runId}/prepared/`;

  const sharedConfigPath = resolve(__dirname, 'shared-datasets.yaml');
  const shared = parse(readFileSync(sharedConfigPath, 'utf8')) as { data: Record<string, unknown> };
  const sharedConfig = dataConfigSchema.parse({ ...shared.data, imageSizePx, outputPrefix });

  const syntheticDir = mkdtempSync(join(tmpdir(), 'whorl-bench-synthetic-'));
  await generateSyntheticDataset({ outputDir: syntheticDir, fingerCount: 25, sensorCount: 4, impressionsPerFinger: 4, seed: 0 });
  const syntheticConfig = dataConfigSchema.parse({ sources: [{ name: 'synthetic', layout: 'fvc', root: syntheticDir }], imageSizePx, outputPrefix });

  const measurements = [
    await measure('shared samples (FVC TIFF, IITK JPEG, libfprint PNG, SourceAFIS)', sharedConfig, dirname(sharedConfigPath), openStore),
    await measure('synthetic PNG, 4 sensors × 25 fingers × 4 impressions', syntheticConfig, syntheticDir, openStore),
  ];
  rmSync(syntheticDir, { recursive: true, force: true });

  console.log(`| input | images | quarantined | wall s | images/s (wall) | CPU s | images per CPU s |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|`);
  for (const m of measurements) {
    console.log(`| ${m.name} | ${m.images} | ${m.quarantined} | ${m.wallSeconds.toFixed(1)} | ${(m.images / m.wallSeconds).toFixed(1)} | ${m.cpuSeconds.toFixed(1)} | ${(m.images / m.cpuSeconds).toFixed(1)} |`);
  }
  console.log(`\nimage size ${imageSizePx} px, store ${storeKind}, node ${process.version}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
