/**
 * Per-stage state of a pipeline run, kept inside the workflow and returned by
 * its `progress` query. Pure and deterministic, so it is safe in workflow code.
 */
export type StageStatus = 'pending' | 'running' | 'done' | 'cached' | 'failed' | 'skipped';

export interface StageProgress {
  stage: string;
  queue: 'cpu' | 'gpu';
  status: StageStatus;
  startedAtMs?: number;
  finishedAtMs?: number;
  /** One line for people: what the stage produced, or why it failed or was skipped. */
  detail?: string;
}

export interface PipelineProgress {
  runKey: string;
  stages: StageProgress[];
}

export class StageTracker {
  private readonly stages = new Map<string, StageProgress>();

  constructor(
    private readonly runKey: string,
    plan: Array<{ stage: string; queue: 'cpu' | 'gpu' }>,
  ) {
    for (const { stage, queue } of plan) this.stages.set(stage, { stage, queue, status: 'pending' });
  }

  /**
   * Runs one stage, recording its start, end and outcome. A result with
   * `cached: true` marks the stage as served from cache.
   */
  async run<T extends { cached?: boolean; detail?: string }>(stage: string, action: () => Promise<T>): Promise<T> {
    const entry = this.entry(stage);
    entry.status = 'running';
    entry.startedAtMs = Date.now();
    try {
      const result = await action();
      entry.status = result.cached === true ? 'cached' : 'done';
      entry.detail = result.detail;
      return result;
    } catch (error) {
      entry.status = 'failed';
      entry.detail = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      entry.finishedAtMs = Date.now();
    }
  }

  skip(stage: string, reason: string): void {
    const entry = this.entry(stage);
    entry.status = 'skipped';
    entry.detail = reason;
  }

  /** Marks every stage that never started as skipped, naming the failure that stopped the run. */
  skipRemaining(reason: string): void {
    for (const entry of this.stages.values()) {
      if (entry.status === 'pending') {
        entry.status = 'skipped';
        entry.detail = reason;
      }
    }
  }

  snapshot(): PipelineProgress {
    return { runKey: this.runKey, stages: [...this.stages.values()].map((entry) => ({ ...entry })) };
  }

  private entry(stage: string): StageProgress {
    const entry = this.stages.get(stage);
    if (entry === undefined) throw new Error(`unknown pipeline stage "${stage}"`);
    return entry;
  }
}
