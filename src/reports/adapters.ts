import type { RetrievalReport } from '../hashing/metrics';
import type { DataSectionId, RetrievalResult, StageRecord } from './run-report';

/**
 * Converts a retrieval evaluation from src/hashing into the report's form:
 * precision at k keyed by k, and the Hamming-radius precision–recall curve
 * as points ordered by recall.
 */
export function retrievalResultFromReport(options: { hasher: string; codeLengthBits: number; report: RetrievalReport }): RetrievalResult {
  const { report } = options;
  const precisionRecall = report.precisionRecallCurve
    .map((point) => ({ recall: point.recall, precision: point.precision }))
    .sort((a, b) => a.recall - b.recall || b.precision - a.precision);
  return {
    hasher: options.hasher,
    codeLengthBits: options.codeLengthBits,
    meanAveragePrecision: report.meanAveragePrecision,
    rank1IdentificationRate: report.rank1IdentificationRate,
    precisionAtK: Object.fromEntries(report.precisionAtK.map((entry) => [String(entry.k), entry.precision])),
    precisionRecall,
    hitRateByPenetration: report.hitRateByPenetration.map((point) => ({ penetrationRate: point.penetrationRate, hitRate: point.hitRate })),
  };
}

/** A stage as the pipeline's progress tracker records it. */
export interface TrackedStage {
  stage: string;
  status: 'pending' | 'running' | 'done' | 'cached' | 'failed' | 'skipped';
  startedAtMs?: number;
  finishedAtMs?: number;
  /** One line on the stage outcome: its output, or the reason it failed or was skipped. */
  detail?: string;
}

/**
 * Converts a tracked stage into a stage record. A stage still pending when
 * the report is written never ran, so it becomes `skipped`. A cached stage
 * becomes `succeeded` with `cacheHit`.
 */
export function stageRecordFromTracked(stage: TrackedStage, options: { sections?: DataSectionId[]; errorType?: string } = {}): StageRecord {
  const record: StageRecord = { name: stage.stage, status: 'succeeded' };
  if (stage.status === 'cached') record.cacheHit = true;
  else if (stage.status === 'done') record.cacheHit = false;
  else if (stage.status === 'pending') record.status = 'skipped';
  else record.status = stage.status;

  if (stage.startedAtMs !== undefined) record.startedAt = new Date(stage.startedAtMs).toISOString();
  if (stage.startedAtMs !== undefined && stage.finishedAtMs !== undefined) record.durationMs = stage.finishedAtMs - stage.startedAtMs;

  const problem = record.status === 'failed' || record.status === 'skipped';
  if (problem) record.reason = stage.detail ?? (stage.status === 'pending' ? 'the run ended before this stage started' : undefined);
  if (problem && options.errorType !== undefined) record.errorType = options.errorType;
  if (options.sections !== undefined) record.sections = options.sections;
  return record;
}
