import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { cacheDir, loadEnvironment } from '../config/environment';
import { UserInputError } from '../config/errors';
import { loadRunConfig, type RunConfig } from '../config/run-config';
import {
  composeGrid,
  generateSyntheticDataset,
  prepareDatasets,
  readPreparedManifest,
  SENSOR_PROFILES,
  type PreparedManifest,
  type PrepareProgress,
} from '../datasets';
import { decodeImage, encodePng } from '../imaging';
import { createLogger } from '../logging';
import { createStore, FilesystemStore, type ObjectStore } from '../storage';

function parsePositiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return parsed;
}

function parseNonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return parsed;
}

/** Opens the filesystem store named by --store-root, else the store the run config names. */
function openStore(storeRoot: string | undefined, config: RunConfig | undefined): ObjectStore {
  if (storeRoot !== undefined) return new FilesystemStore(resolve(storeRoot));
  return createStore(loadEnvironment(), config?.storage);
}

/** Formats counts per sensor and split, and the quarantine list, as plain-text tables. */
export function formatManifestSummary(manifestKey: string, manifest: PreparedManifest): string {
  const lines: string[] = [];
  lines.push(`manifest ${manifestKey}`);
  lines.push(`schema version ${manifest.schemaVersion}, seed ${manifest.seed}, ${manifest.settings.imageSizePx}×${manifest.settings.imageSizePx} px, ${manifest.shards.length} shard(s)`);
  lines.push(`${manifest.counts.images} image(s) of ${manifest.counts.identities} finger(s) from ${manifest.sources.map((source) => source.name).join(', ')}`);
  lines.push('');

  const sensorWidth = Math.max(6, ...Object.keys(manifest.counts.bySensor).map((sensor) => sensor.length));
  lines.push(`${'sensor'.padEnd(sensorWidth)}  ${'train'.padStart(6)}  ${'test'.padStart(6)}  ${'total'.padStart(6)}`);
  for (const [sensor, counts] of Object.entries(manifest.counts.bySensor).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`${sensor.padEnd(sensorWidth)}  ${String(counts.train).padStart(6)}  ${String(counts.test).padStart(6)}  ${String(counts.total).padStart(6)}`);
  }
  lines.push('');
  const pairs = (counts: Record<string, number>): string => Object.entries(counts).map(([key, value]) => `${key} ${value}`).join(', ');
  lines.push(`datasets: ${pairs(manifest.counts.byDataset)}`);
  lines.push(`retrieval roles: ${pairs(manifest.counts.byRetrievalRole)}`);
  lines.push(`hashing splits: ${pairs(manifest.counts.byHashingSplit)}`);
  lines.push('');
  lines.push(`quarantined: ${manifest.quarantine.length}`);
  for (const entry of manifest.quarantine) lines.push(`  ${entry.source}/${entry.path}: ${entry.reason}: ${entry.detail}`);
  return lines.join('\n');
}

/** Prints progress lines to stderr, at most one a second per source and phase, plus each source's final line. */
function createProgressPrinter(): (progress: PrepareProgress) => void {
  const lastPrinted = new Map<string, number>();
  return (progress) => {
    const key = `${progress.source}/${progress.phase}`;
    const now = Date.now();
    if (progress.phase !== 'done' && now - (lastPrinted.get(key) ?? 0) < 1000) return;
    lastPrinted.set(key, now);
    const shards = progress.shardsTotal > 0 ? `, shard ${progress.shardsDone}/${progress.shardsTotal}` : '';
    process.stderr.write(`${progress.source}: ${progress.phase} ${progress.filesDone}/${progress.filesTotal} files${shards}\n`);
  };
}

function prepareCommand(): Command {
  return new Command('prepare')
    .description('prepare the data sets of a run config into Parquet shards and a manifest in object storage')
    .requiredOption('--config <file>', 'YAML run config with a data section; relative roots resolve against its folder')
    .option('--store-root <dir>', 'write to a filesystem store in this folder instead of the config\'s store')
    .option('--json', 'print the manifest key and counts as JSON')
    .action(async (options: { config: string; storeRoot?: string; json?: boolean }) => {
      const config = loadRunConfig(options.config);
      if (config.data === undefined) {
        throw new UserInputError(`run config ${options.config} has no data section; add data.sources, such as:\ndata:\n  sources:\n    - { name: demo, layout: synthetic }`);
      }
      const store = openStore(options.storeRoot, config);
      const started = Date.now();
      const result = await prepareDatasets({
        store,
        config: config.data,
        seed: config.seed,
        baseDir: dirname(resolve(options.config)),
        workDir: join(cacheDir(), 'datasets'),
        logger: createLogger('whorl-data', process.env.WHORL_LOG_LEVEL ?? 'warn'),
        onProgress: createProgressPrinter(),
      });
      const seconds = (Date.now() - started) / 1000;
      if (options.json) {
        console.log(JSON.stringify({ manifestKey: result.manifestKey, seconds, counts: result.manifest.counts, quarantine: result.manifest.quarantine }, null, 2));
        return;
      }
      console.log(formatManifestSummary(result.manifestKey, result.manifest));
      const throughput = result.manifest.counts.images / seconds;
      console.log(`\nprepared in ${seconds.toFixed(1)} s (${throughput.toFixed(1)} images/s) into ${store.location}`);
    });
}

function inspectCommand(): Command {
  return new Command('inspect')
    .description('show counts per sensor and split, and the quarantine list, of a prepared manifest')
    .argument('<manifest>', 'manifest object key, such as prepared/<hash>/manifest.json, or a local manifest.json file')
    .option('--config <file>', 'run config whose store holds the manifest (default: the local MinIO)')
    .option('--store-root <dir>', 'read from a filesystem store in this folder')
    .option('--json', 'print the whole manifest as JSON')
    .action(async (manifestArgument: string, options: { config?: string; storeRoot?: string; json?: boolean }) => {
      let manifest: PreparedManifest;
      if (options.storeRoot === undefined && options.config === undefined && existsSync(manifestArgument)) {
        manifest = JSON.parse(readFileSync(manifestArgument, 'utf8')) as PreparedManifest;
      } else {
        const config = options.config === undefined ? undefined : loadRunConfig(options.config);
        manifest = await readPreparedManifest(openStore(options.storeRoot, config), manifestArgument);
      }
      console.log(options.json ? JSON.stringify(manifest, null, 2) : formatManifestSummary(manifestArgument, manifest));
    });
}

function synthCommand(): Command {
  return new Command('synth')
    .description('write a synthetic multi-sensor fingerprint data set in the FVC layout')
    .requiredOption('--out <dir>', 'output folder; DB<k>_A folders and sensors.json are written inside')
    .requiredOption('--fingers <count>', 'fingers per sensor', parsePositiveInteger)
    .requiredOption('--sensors <count>', `simulated sensors, 1 to ${SENSOR_PROFILES.length}`, parsePositiveInteger)
    .option('--impressions <count>', 'impressions per finger', parsePositiveInteger, 8)
    .option('--seed <number>', 'random seed; the same seed writes the same files', parseNonNegativeInteger, 0)
    .option('--grid <png>', 'also write a PNG grid of the first fingers on every sensor')
    .action(async (options: { out: string; fingers: number; sensors: number; impressions: number; seed: number; grid?: string }) => {
      if (options.sensors > SENSOR_PROFILES.length) throw new UserInputError(`--sensors ${options.sensors} is more than the ${SENSOR_PROFILES.length} simulated sensor profiles`);
      const started = Date.now();
      // A terminal gets one line that is overwritten; a log or pipe gets a line per tenth of the work.
      const interactive = process.stderr.isTTY === true;
      let tenthsReported = -1;
      const result = await generateSyntheticDataset({
        outputDir: resolve(options.out),
        fingerCount: options.fingers,
        sensorCount: options.sensors,
        impressionsPerFinger: options.impressions,
        seed: options.seed,
        onProgress: ({ fingersDone, fingersTotal }) => {
          const line = `finger ${fingersDone}/${fingersTotal} over all sensors`;
          if (interactive) {
            process.stderr.write(`${line}\r`);
            return;
          }
          const tenths = Math.floor((10 * fingersDone) / fingersTotal);
          if (tenths > tenthsReported) {
            tenthsReported = tenths;
            process.stderr.write(`${line}\n`);
          }
        },
      });
      if (interactive) process.stderr.write('\n');
      const verb = result.generated ? 'wrote' : 'found complete';
      console.log(`${verb} ${result.imageCount} images in ${result.outputDir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

      if (options.grid !== undefined) {
        const fingers = Math.min(3, options.fingers);
        const impressions = Math.min(4, options.impressions);
        const images = [];
        for (let finger = 1; finger <= fingers; finger++) {
          for (let sensor = 1; sensor <= options.sensors; sensor++) {
            for (let impression = 1; impression <= impressions; impression++) {
              images.push(decodeImage(readFileSync(join(result.outputDir, `DB${sensor}_A`, `${finger}_${impression}.png`))));
            }
          }
        }
        writeFileSync(options.grid, encodePng(composeGrid(images, { columns: options.sensors * impressions, cellSizePx: 128 })));
        console.log(`wrote sample grid ${options.grid}: rows are fingers, columns are sensors × impressions`);
      }
    });
}

/** `whorl data`: prepare, inspect and synthesize fingerprint data sets. */
export function dataCommand(): Command {
  return new Command('data')
    .description('prepare, inspect and synthesize fingerprint data sets')
    .addCommand(prepareCommand())
    .addCommand(inspectCommand())
    .addCommand(synthCommand());
}
