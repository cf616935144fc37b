import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { ReindexActivities } from '../activities/reindex';
import type { ReindexConfig } from '../src/pipeline/config';

export interface ReindexInput {
  reindex: ReindexConfig;
  queues: { cpu: string; gpu: string };
  /** Folder on the workers that a relative gallery root resolves against: the config file's folder. */
  baseDir: string;
}

export interface ReindexSummary {
  index: string;
  /** Index version before the run and the one it published; equal when nothing was added. */
  previousVersion: number;
  version: number;
  modelVersion: string;
  /** Images prepared and encoded in this run. */
  encoded: number;
  /** Codes appended to the index: the encoded images minus those already present. */
  appended: number;
  alreadyIndexed: number;
  quarantined: string[];
  /** Watermark of the version the run leaves current. */
  galleryWatermark: string | null;
  compacted: boolean;
}

/** Retries for activities that may hit a restarting service; bad input fails at once. */
const retry: ActivityOptions['retry'] = { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6, nonRetryableErrorTypes: ['UserInputError'] };

/**
 * Runs nightly re-indexing. It finds the gallery images added after the
 * index's watermark and prepares and encodes only those, with the model
 * version pinned in the index manifest. It appends them as one delta segment
 * and compacts once the index has more than `compactAfterDeltas` delta
 * segments, publishing each new version. A run that finds nothing new
 * publishes nothing.
 */
export async function reindexWorkflow(input: ReindexInput): Promise<ReindexSummary> {
  const { reindex } = input;
  const cpu = proxyActivities<ReindexActivities>({ taskQueue: input.queues.cpu, startToCloseTimeout: '2 hours', heartbeatTimeout: '5 minutes', retry });
  const gpu = proxyActivities<ReindexActivities>({ taskQueue: input.queues.gpu, startToCloseTimeout: '6 hours', heartbeatTimeout: '10 minutes', retry });
  const gallery = { gallery: reindex.gallery, baseDir: input.baseDir, index: reindex.index };

  const plan = await cpu.planReindex(gallery);
  const summary: ReindexSummary = {
    index: reindex.index,
    previousVersion: plan.indexVersion,
    version: plan.indexVersion,
    modelVersion: plan.modelVersion,
    encoded: 0,
    appended: 0,
    alreadyIndexed: plan.alreadyIndexed,
    quarantined: [],
    galleryWatermark: plan.watermark,
    compacted: false,
  };
  if (plan.paths.length === 0) return summary;

  const encoded = await gpu.encodeNewGalleryImages({ ...gallery, paths: plan.paths, modelVersion: plan.modelVersion, codeLengthBits: plan.codeLengthBits });
  summary.encoded = encoded.codes;
  summary.quarantined = encoded.quarantined;

  const appended = await cpu.appendGalleryDelta({ index: reindex.index, codeShardKey: encoded.codeShardKey, modelVersion: plan.modelVersion, galleryWatermark: plan.nextWatermark });
  summary.appended = appended.appended;
  summary.version = appended.version;
  // Nothing is published when every image was quarantined or already present, so the watermark stays.
  if (appended.appended > 0) summary.galleryWatermark = plan.nextWatermark;

  if (appended.deltaSegments > reindex.compactAfterDeltas) {
    const compacted = await cpu.compactGalleryIndex({ index: reindex.index });
    summary.version = compacted.version;
    summary.compacted = true;
  }
  return summary;
}
