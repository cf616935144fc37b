import { proxyActivities } from '@temporalio/workflow';
import type { DatasetActivities, PrepareDatasetResult } from '../activities/datasets';
import type { DataConfig, PreparationSettings } from '../src/datasets/config';

export interface PrepareDatasetsInput {
  data: DataConfig;
  seed: number;
  /** Folder on the workers that relative roots and manifests resolve against. */
  baseDir: string;
  cpuQueue: string;
}

export interface PrepareDatasetsOutput {
  /** Manifest covering every source; later stages read only this key. */
  manifestKey: string;
  images: number;
  quarantined: number;
  sources: PrepareDatasetResult[];
}

/**
 * Prepares every source of a config in parallel on the CPU queue, then
 * combines their manifests. Run as a child of the training pipeline.
 */
export async function prepareDatasetsWorkflow(input: PrepareDatasetsInput): Promise<PrepareDatasetsOutput> {
  const activities = proxyActivities<DatasetActivities>({
    taskQueue: input.cpuQueue,
    startToCloseTimeout: '12 hours',
    // A lost worker is noticed within the heartbeat timeout, and the retry resumes from the shards already written.
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '5 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['UserInputError'] },
  });

  const { sources, ...rest } = input.data;
  const settings: PreparationSettings = rest;
  const results = await Promise.all(sources.map((source) => activities.prepareDataset({ source, settings, seed: input.seed, baseDir: input.baseDir })));
  const combined = await activities.combinePreparedDatasets({ manifestKeys: results.map((result) => result.manifestKey), outputPrefix: settings.outputPrefix });
  return { manifestKey: combined.manifestKey, images: combined.images, quarantined: combined.quarantined, sources: results };
}
