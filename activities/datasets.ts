import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import {
  combinePreparedManifests,
  prepareConfiguredSource,
  type DatasetSourceConfig,
  type PreparationSettings,
  type PrepareProgress,
} from '../src/datasets';
import type { ActivityDependencies } from './dependencies';
import { failFastOnUserInput } from './failures';

export interface PrepareDatasetInput {
  source: DatasetSourceConfig;
  settings: PreparationSettings;
  seed: number;
  /** Folder on the worker that relative roots and manifests resolve against, usually the config file's folder. */
  baseDir: string;
}

export interface PrepareDatasetResult {
  source: string;
  manifestKey: string;
  hash: string;
  images: number;
  quarantined: number;
  /** True when an earlier run had already prepared identical input. */
  reused: boolean;
  /** Shards kept from an earlier attempt that a worker restart interrupted. */
  resumedShards: number;
  taskQueue: string;
}

export interface CombinePreparedInput {
  manifestKeys: string[];
  outputPrefix: string;
}

export interface CombinePreparedResult {
  manifestKey: string;
  images: number;
  quarantined: number;
}

/** Activities that turn raw data set folders into prepared Parquet shards. */
export function createDatasetActivities(deps: ActivityDependencies) {
  return {
    /**
     * Prepares one configured source. Heartbeats its progress; after a worker
     * restart the retry finds the shards already written under the same
     * content-hashed prefix and skips them.
     */
    async prepareDataset(input: PrepareDatasetInput): Promise<PrepareDatasetResult> {
      const context = Context.current();
      const previous = context.info.heartbeatDetails as PrepareProgress | undefined;
      const logger = deps.logger.child({ activity: 'prepareDataset', source: input.source.name, attempt: context.info.attempt });
      if (previous !== undefined) logger.info({ previous }, 'resuming dataset preparation after an interrupted attempt');

      const onProgress = (progress: PrepareProgress): void => {
        context.heartbeat(progress);
        if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
      };
      const result = await failFastOnUserInput(() =>
        prepareConfiguredSource(input.source, {
          store: deps.store,
          settings: input.settings,
          seed: input.seed,
          baseDir: input.baseDir,
          workDir: join(deps.environment.cacheDir, 'datasets'),
          logger,
          onProgress,
        }),
      );
      return {
        source: input.source.name,
        manifestKey: result.manifestKey,
        hash: result.manifest.hash,
        images: result.manifest.counts.images,
        quarantined: result.manifest.quarantine.length,
        reused: result.reused,
        resumedShards: result.resumedShards,
        taskQueue: deps.taskQueue,
      };
    },

    /** Writes one manifest over the per-source manifests, so later stages read a single key. */
    async combinePreparedDatasets(input: CombinePreparedInput): Promise<CombinePreparedResult> {
      const { manifestKey, manifest } = await failFastOnUserInput(() => combinePreparedManifests(deps.store, input.manifestKeys, input.outputPrefix));
      return { manifestKey, images: manifest.counts.images, quarantined: manifest.quarantine.length };
    },
  };
}

export type DatasetActivities = ReturnType<typeof createDatasetActivities>;
