import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import { UserInputError } from '../src/config/errors';
import { readDatasetLayout, type DatasetLayout } from '../src/datasets/adapters';
import type { PreparationSettings } from '../src/datasets/config';
import { readPreparedImages, readPreparedManifest } from '../src/datasets/manifest';
import { openSourceFiles } from '../src/datasets/prepare-datasets';
import { prepareSource } from '../src/datasets/prepare-source';
import { comparePaths, type SourceFile, type SourceFiles } from '../src/datasets/source-files';
import { getCodeShard } from '../src/hashing/code-shards';
import { appendDelta, compactIndex, loadIndexVersion, requireCurrent, type PublishedIndex } from '../src/index/index-store';
import type { ReindexGalleryConfig } from '../src/pipeline/config';
import { encodePreparedImages, putPreparedImageCodes } from '../src/pipeline/gallery-codes';
import { loadEncoderChain, readModelVersion, type EncoderChain } from '../src/pipeline/query-encoder';
import type { ObjectStore } from '../src/storage';
import { galleryImagesKey } from '../src/search/gallery-images';
import type { ActivityDependencies } from './dependencies';
import { failFastOnUserInput } from './failures';

/**
 * Returns whether `imageId` sorts after the gallery watermark. The watermark
 * stored in an index manifest is the largest image id
 * (`<gallery name>/<path relative to the gallery root>`) that re-indexing has
 * added, compared in UTF-16 code units as comparePaths does. New gallery
 * files must therefore get paths that sort after the existing ones, such as
 * a new dated folder per batch. A watermark of another gallery name, or none,
 * makes every image a candidate, and ids already in the index are skipped.
 */
export function isAfterWatermark(imageId: string, galleryName: string, watermark: string | null): boolean {
  if (watermark === null || !watermark.startsWith(`${galleryName}/`)) return true;
  return comparePaths(imageId, watermark) > 0;
}

/** Picks the gallery paths to add: after the watermark and not already in the index, in path order. */
export function selectNewImages(paths: string[], galleryName: string, watermark: string | null, indexedIds: ReadonlySet<string>): { paths: string[]; alreadyIndexed: number } {
  const selected: string[] = [];
  let alreadyIndexed = 0;
  for (const path of [...paths].sort(comparePaths)) {
    const id = `${galleryName}/${path}`;
    if (!isAfterWatermark(id, galleryName, watermark)) continue;
    if (indexedIds.has(id)) {
      alreadyIndexed++;
      continue;
    }
    selected.push(path);
  }
  return { paths: selected, alreadyIndexed };
}

/**
 * Source files restricted to a set of image paths. Files that the layout
 * does not label as images (a sensor table, a CSV manifest) stay visible,
 * because the adapters read them.
 */
class SelectedFiles implements SourceFiles {
  readonly location: string;

  constructor(
    private readonly files: SourceFiles,
    private readonly visible: ReadonlySet<string>,
  ) {
    this.location = files.location;
  }

  async list(): Promise<SourceFile[]> {
    return (await this.files.list()).filter((file) => this.visible.has(file.path));
  }

  read(path: string): Promise<Uint8Array> {
    return this.files.read(path);
  }
}

export interface ReindexGalleryInput {
  gallery: ReindexGalleryConfig;
  /** Folder on the workers that a relative gallery root resolves against: the config file's folder. */
  baseDir: string;
}

export interface ReindexPlan {
  indexVersion: number;
  modelVersion: string;
  codeLengthBits: number;
  /** Gallery paths to prepare and encode, in path order. */
  paths: string[];
  /** Images after the watermark whose ids are already in the index. */
  alreadyIndexed: number;
  /** Watermark in the manifest when the run started. */
  watermark: string | null;
  /** Watermark to record once `paths` are appended: the id of the last one. */
  nextWatermark: string | null;
}

function manifestPath(gallery: ReindexGalleryConfig, baseDir: string): string | undefined {
  if (gallery.manifest === undefined || gallery.root === undefined || isAbsolute(gallery.manifest)) return gallery.manifest;
  return resolve(baseDir, gallery.manifest);
}

async function openGallery(store: ObjectStore, input: ReindexGalleryInput, workDir: string): Promise<{ files: SourceFiles; layout: DatasetLayout | 'auto' }> {
  const opened = await openSourceFiles({ ...input.gallery }, { store, baseDir: input.baseDir, workDir, seed: 0 });
  return { files: opened.files, layout: opened.layout as DatasetLayout | 'auto' };
}

/** Reads the ids of every code in the current index version from its JSON labels. */
async function indexedIds(store: ObjectStore, published: PublishedIndex): Promise<Set<string>> {
  // NOTE: this downloads every shard of the index on each run, so its cost grows
  // with the index. A large index would want its ids stored beside the manifest.
  const loaded = await loadIndexVersion(store, published);
  const ids = new Set<string>();
  for (const shard of loaded.shards) {
    for (const label of shard.contents?.labels ?? []) {
      try {
        const parsed = JSON.parse(label) as { id?: unknown };
        if (typeof parsed.id === 'string') ids.add(parsed.id);
      } catch {
        // Labels written by other tools need not be JSON, and they carry no gallery id.
      }
    }
  }
  return ids;
}

/** Reads the preparation settings and seed of the data that trained model version `modelVersion`. */
async function modelPreparation(store: ObjectStore, modelVersion: string): Promise<{ settings: PreparationSettings; seed: number }> {
  const record = await readModelVersion(store, modelVersion);
  const manifest = await readPreparedManifest(store, record.preparedManifestKey);
  return { settings: manifest.settings, seed: manifest.seed };
}

/** Activities of the nightly re-indexing workflow: plan, prepare and encode new gallery images, append them, compact. */
export function createReindexActivities(deps: ActivityDependencies) {
  const { store, logger } = deps;
  const workDir = join(deps.environment.cacheDir, 'datasets');

  /** Prepares, encodes and stores the selected gallery images with a loaded encoder chain; see encodeNewGalleryImages. */
  const encodeNewImages = async (
    input: ReindexGalleryInput & { index: string; paths: string[]; modelVersion: string; codeLengthBits: number },
    chain: EncoderChain,
  ): Promise<{ codeShardKey: string; codes: number; preparedManifestKey: string; quarantined: string[] }> => {
    const { settings, seed } = await modelPreparation(store, input.modelVersion);
    const { files, layout } = await openGallery(store, input, workDir);
    const source = { name: input.gallery.name, dataset: input.gallery.dataset, manifest: manifestPath(input.gallery, input.baseDir) };

    // Hide every image the plan did not select; keep the files the adapter reads besides images.
    const labelled = await readDatasetLayout(files, layout, { source: source.name, dataset: source.dataset, manifestPath: source.manifest });
    const imagePaths = new Set(labelled.records.map((record) => record.path));
    const selected = new Set(input.paths);
    const visible = new Set((await files.list()).map((file) => file.path).filter((path) => selected.has(path) || !imagePaths.has(path)));

    const prepared = await prepareSource({
      store,
      source: { ...source, layout: labelled.layout },
      files: new SelectedFiles(files, visible),
      settings,
      seed,
      logger,
      onProgress: (progress) => Context.current().heartbeat(progress),
    });
    const images = (await readPreparedImages(store, prepared.manifestKey)).filter((image) => selected.has(image.id.slice(source.name.length + 1)));
    // A CSV manifest also lists the hidden images, which preparation reports as missing; only selected paths count.
    const quarantined = prepared.manifest.quarantine.filter((entry) => selected.has(entry.path)).map((entry) => `${entry.path}: ${entry.reason}`);

    const codes = await encodePreparedImages(chain.hasher, chain.features, images);
    const tag = createHash('sha256').update(JSON.stringify([prepared.manifest.hash, input.modelVersion, input.codeLengthBits])).digest('hex').slice(0, 32);
    const codeShardKey = `reindex/${input.index}/${tag}/codes.parquet`;
    await putPreparedImageCodes(store, codeShardKey, images, codes, input.modelVersion);
    // Re-ranking reads gallery images by id from the prepared data this names.
    await store.put(galleryImagesKey(codeShardKey), JSON.stringify({ preparedManifestKey: prepared.manifestKey }), { contentType: 'application/json' });
    logger.info({ index: input.index, codeShardKey, codes: images.length, quarantined: quarantined.length }, 'new gallery images encoded');
    return { codeShardKey, codes: images.length, preparedManifestKey: prepared.manifestKey, quarantined };
  };

  return {
    /** Lists the gallery images after the index's watermark that the index does not hold yet. */
    async planReindex(input: ReindexGalleryInput & { index: string }): Promise<ReindexPlan> {
      return failFastOnUserInput(async () => {
        const current = await requireCurrent(store, input.index);
        const { manifest } = current;
        if (manifest.modelVersion === null) {
          throw new UserInputError(`index "${input.index}" records no model version, so new images cannot be encoded like its codes; rebuild it with "whorl pipeline run"`);
        }
        const { files, layout } = await openGallery(store, input, workDir);
        const labelled = await readDatasetLayout(files, layout, { source: input.gallery.name, dataset: input.gallery.dataset, manifestPath: manifestPath(input.gallery, input.baseDir) });
        const ids = await indexedIds(store, current);
        const selection = selectNewImages(
          labelled.records.map((record) => record.path),
          input.gallery.name,
          manifest.galleryWatermark,
          ids,
        );
        const last = selection.paths.at(-1);
        logger.info(
          { index: input.index, version: current.version, watermark: manifest.galleryWatermark, newImages: selection.paths.length, alreadyIndexed: selection.alreadyIndexed },
          're-index planned',
        );
        return {
          indexVersion: current.version,
          modelVersion: manifest.modelVersion,
          codeLengthBits: manifest.codeLengthBits,
          paths: selection.paths,
          alreadyIndexed: selection.alreadyIndexed,
          watermark: manifest.galleryWatermark,
          nextWatermark: last === undefined ? manifest.galleryWatermark : `${input.gallery.name}/${last}`,
        };
      });
    },

    /**
     * Prepares the given gallery images with the preprocessing settings of
     * the data that trained `modelVersion`, encodes all of them with that
     * model's hasher, and writes one Parquet code shard. Every image of a
     * gallery source is a gallery image, so the split roles that preparation
     * assigns are ignored.
     */
    async encodeNewGalleryImages(
      input: ReindexGalleryInput & { index: string; paths: string[]; modelVersion: string; codeLengthBits: number },
    ): Promise<{ codeShardKey: string; codes: number; preparedManifestKey: string; quarantined: string[] }> {
      return failFastOnUserInput(async () => {
        const chain = await loadEncoderChain(store, input.modelVersion, input.codeLengthBits);
        try {
          return await encodeNewImages(input, chain);
        } finally {
          chain.features.dispose();
        }
      });
    },

    /**
     * Appends the codes of a code shard as one delta segment with the new
     * watermark, and publishes that version. Codes whose ids are already in
     * the current version are dropped, so a retried or repeated append adds
     * nothing twice.
     */
    async appendGalleryDelta(input: {
      index: string;
      codeShardKey: string;
      modelVersion: string;
      galleryWatermark: string | null;
    }): Promise<{ version: number; appended: number; deltaSegments: number }> {
      return failFastOnUserInput(async () => {
        const current = await requireCurrent(store, input.index);
        if (current.manifest.modelVersion !== input.modelVersion) {
          throw new UserInputError(
            `index "${input.index}" was republished with model version ${String(current.manifest.modelVersion)} while re-indexing encoded with ${input.modelVersion}; run the re-index again`,
          );
        }
        const shard = await getCodeShard(store, input.codeShardKey);
        const present = await indexedIds(store, current);
        const rowBytes = shard.codes.bytesPerCode;
        const keep = shard.ids.flatMap((id, row) => (present.has(id) ? [] : [row]));
        const deltaSegments = (published: PublishedIndex): number => published.manifest.shards.filter((entry) => entry.kind === 'delta').length;
        if (keep.length === 0) {
          logger.info({ index: input.index, version: current.version }, 'every encoded image is already in the index; nothing appended');
          return { version: current.version, appended: 0, deltaSegments: deltaSegments(current) };
        }

        const codes = new Uint8Array(keep.length * rowBytes);
        keep.forEach((row, i) => codes.set(shard.codes.data.subarray(row * rowBytes, (row + 1) * rowBytes), i * rowBytes));
        const labels = keep.map((row) => JSON.stringify({ id: shard.ids[row], identity: shard.identities[row], sensor: shard.sensors[row], dataset: shard.datasets[row] }));
        const sha256 = (await store.head(input.codeShardKey))?.sha256 ?? '';
        const published = await appendDelta(store, {
          name: input.index,
          codes,
          labels,
          modelVersion: input.modelVersion,
          sourceCodeShards: [{ key: input.codeShardKey, sha256 }],
          galleryWatermark: input.galleryWatermark,
        });
        logger.info({ index: input.index, version: published.version, appended: keep.length, watermark: input.galleryWatermark }, 'delta segment published');
        return { version: published.version, appended: keep.length, deltaSegments: deltaSegments(published) };
      });
    },

    /** Merges the base shards and delta segments of an index into new base shards and publishes that version. */
    async compactGalleryIndex(input: { index: string }): Promise<{ version: number }> {
      return failFastOnUserInput(async () => {
        const published = await compactIndex(store, { name: input.index });
        logger.info({ index: input.index, version: published.version }, 'index compacted');
        return { version: published.version };
      });
    },
  };
}

export type ReindexActivities = ReturnType<typeof createReindexActivities>;
