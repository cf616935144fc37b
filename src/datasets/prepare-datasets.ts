import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { silentLogger, type Logger } from '../logging';
import type { ObjectStore } from '../storage';
import type { DataConfig, DatasetSourceConfig, PreparationSettings } from './config';
import { addCounts, emptyCounts, MANIFEST_FILE_NAME, PREPARED_MANIFEST_KIND, PREPARED_SCHEMA_VERSION, readPreparedManifest, type PreparedManifest } from './manifest';
import { prepareSource, type PrepareProgress, type PrepareSourceResult } from './prepare-source';
import { PREPARED_SHARD_COLUMNS } from './shards';
import { LocalFolderFiles, ObjectStoreFiles, type SourceFiles } from './source-files';
import { generateSyntheticDataset } from './synthetic';

export interface OpenSourceOptions {
  store: ObjectStore;
  /** Folder that relative `root` paths are resolved against, usually the config file's folder. */
  baseDir: string;
  /** Scratch folder for generated synthetic images. */
  workDir: string;
  seed: number;
  /** Receives generator progress of a synthetic source, so long generations can heartbeat. */
  onProgress?: (progress: PrepareProgress) => void | Promise<void>;
}

/**
 * Opens a source's files: a local folder, an object-store prefix, or for a
 * synthetic source a folder of generated images (generated once per
 * parameter set and seed, then reused).
 */
export async function openSourceFiles(source: DatasetSourceConfig, options: OpenSourceOptions): Promise<{ files: SourceFiles; layout: PrepareLayout }> {
  if (source.layout === 'synthetic') {
    const parameters = source.synthetic ?? { fingers: 20, sensors: 3, impressionsPerFinger: 4 };
    const tag = createHash('sha256').update(JSON.stringify({ ...parameters, seed: options.seed })).digest('hex').slice(0, 16);
    const outputDir = join(options.workDir, `synthetic-${tag}`);
    await generateSyntheticDataset({
      outputDir,
      fingerCount: parameters.fingers,
      sensorCount: parameters.sensors,
      impressionsPerFinger: parameters.impressionsPerFinger,
      seed: options.seed,
      onProgress: ({ fingersDone, fingersTotal }) => options.onProgress?.({ source: source.name, phase: 'generate', filesDone: fingersDone, filesTotal: fingersTotal, shardsDone: 0, shardsTotal: 0 }),
    });
    return { files: new LocalFolderFiles(outputDir), layout: 'fvc' };
  }
  if (source.storePrefix !== undefined) return { files: new ObjectStoreFiles(options.store, source.storePrefix), layout: source.layout };
  const root = source.root as string;
  return { files: new LocalFolderFiles(isAbsolute(root) ? root : resolve(options.baseDir, root)), layout: source.layout };
}

/**
 * Resolves a local source's manifest path against the config's folder, as
 * its root is; sources on an object-store prefix keep keys relative to the prefix.
 */
function resolveManifestPath(source: DatasetSourceConfig, baseDir: string): string | undefined {
  if (source.manifest === undefined || source.root === undefined || isAbsolute(source.manifest)) return source.manifest;
  return resolve(baseDir, source.manifest);
}

type PrepareLayout = Exclude<DatasetSourceConfig['layout'], 'synthetic'>;

export interface PrepareDatasetsRequest {
  store: ObjectStore;
  config: DataConfig;
  seed: number;
  baseDir: string;
  workDir: string;
  logger?: Logger;
  onProgress?: (progress: PrepareProgress) => void | Promise<void>;
}

export interface PrepareDatasetsResult {
  /** Key of the manifest that covers every source. */
  manifestKey: string;
  manifest: PreparedManifest;
  sources: Array<{ name: string } & PrepareSourceResult>;
}

export function preparationSettings(config: DataConfig): PreparationSettings {
  const settings: Partial<DataConfig> = { ...config };
  delete settings.sources;
  return settings as PreparationSettings;
}

/** Prepares one configured source; the unit of work of the prepareDataset activity. */
export async function prepareConfiguredSource(
  source: DatasetSourceConfig,
  request: Omit<PrepareDatasetsRequest, 'config'> & { settings: PreparationSettings },
): Promise<PrepareSourceResult> {
  const opened = await openSourceFiles(source, request);
  return prepareSource({
    store: request.store,
    source: { name: source.name, layout: opened.layout, dataset: source.dataset, manifest: resolveManifestPath(source, request.baseDir) },
    files: opened.files,
    settings: request.settings,
    seed: request.seed,
    logger: request.logger,
    onProgress: request.onProgress,
  });
}

/**
 * Writes a manifest that lists the shards of several prepared sources, under
 * a prefix hashed from theirs. With one source it returns that source's
 * manifest unchanged.
 */
export async function combinePreparedManifests(store: ObjectStore, manifestKeys: string[], outputPrefix: string): Promise<{ manifestKey: string; manifest: PreparedManifest }> {
  const manifests = await Promise.all(manifestKeys.map((key) => readPreparedManifest(store, key)));
  if (manifests.length === 1) return { manifestKey: manifestKeys[0], manifest: manifests[0] };

  const hash = createHash('sha256').update(JSON.stringify(manifests.map((manifest) => manifest.hash))).digest('hex').slice(0, 32);
  const manifestKey = `${outputPrefix}${hash}/${MANIFEST_FILE_NAME}`;
  if ((await store.head(manifestKey)) !== undefined) return { manifestKey, manifest: await readPreparedManifest(store, manifestKey) };

  const counts = emptyCounts();
  for (const manifest of manifests) addCounts(counts, manifest.counts);
  const manifest: PreparedManifest = {
    kind: PREPARED_MANIFEST_KIND,
    schemaVersion: PREPARED_SCHEMA_VERSION,
    hash,
    createdAt: new Date().toISOString(),
    seed: manifests[0].seed,
    settings: manifests[0].settings,
    sources: manifests.flatMap((part) => part.sources),
    columns: PREPARED_SHARD_COLUMNS,
    shards: manifests.flatMap((part) => part.shards),
    counts,
    quarantine: manifests.flatMap((part) => part.quarantine),
  };
  await store.put(manifestKey, JSON.stringify(manifest, null, 2), { contentType: 'application/json' });
  return { manifestKey, manifest };
}

/** Prepares every source of a config in turn and combines their manifests. */
export async function prepareDatasets(request: PrepareDatasetsRequest): Promise<PrepareDatasetsResult> {
  const logger = request.logger ?? silentLogger;
  const settings = preparationSettings(request.config);
  const sources: PrepareDatasetsResult['sources'] = [];
  for (const source of request.config.sources) {
    const result = await prepareConfiguredSource(source, { ...request, settings, logger });
    sources.push({ name: source.name, ...result });
  }
  const combined = await combinePreparedManifests(
    request.store,
    sources.map((source) => source.manifestKey),
    settings.outputPrefix,
  );
  return { ...combined, sources };
}
