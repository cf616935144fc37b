import type { Logger } from '../logging';
import type { ObjectStore } from '../storage';
import type { Metric, MlflowClient } from '../tracking';
import {
  LOOP_STATE_FILE,
  findLatestCheckpoint,
  pruneCheckpoints,
  writeCheckpoint,
  type EpochRecord,
} from './checkpoints';
import { TrainingRandom } from './random';

/** Result of one training step: the batch loss and optional batch metrics such as accuracy. */
export interface StepResult {
  loss: number;
  metrics?: Record<string, number>;
}

/** Progress reported after every batch; activities send it as their heartbeat details. */
export interface TrainingProgress {
  stage: string;
  runKey: string;
  epoch: number;
  epochs: number;
  batch: number;
  batchesPerEpoch: number;
  loss: number;
  /** Last epoch that has a checkpoint, or -1 before the first one. */
  lastCheckpointEpoch: number;
}

/** Context handed to every step, so callers can draw seeded randomness that survives a resume. */
export interface StepContext {
  /** The loop's generator; its state is saved in every checkpoint and restored on resume. */
  random: TrainingRandom;
  /** Zero-based step index over the whole run: epoch × batchesPerEpoch + batch. */
  globalStep: number;
}

export interface TrainingLoopOptions {
  /** Pipeline stage, such as `sensor-shallow`; the second part of the checkpoint prefix. */
  stage: string;
  /** Identifies the run across retries; the first part of the checkpoint prefix. */
  runKey: string;
  epochs: number;
  batchesPerEpoch: number;
  /** Seeds the loop's generator on a fresh start; a resume continues from the checkpoint's state. */
  seed: number;
  /** Runs one optimizer step on one batch. Epochs and batches are zero-based. */
  trainStep(epoch: number, batch: number, context: StepContext): Promise<StepResult>;
  /** Computes validation metrics after an epoch, before its checkpoint is written. */
  evaluate?(epoch: number): Promise<Record<string, number>>;
  /** Returns every file needed to continue training: model weights, optimizer state, the caller's own counters. */
  saveState(): Promise<Record<string, Uint8Array>>;
  /** Restores the files that `saveState` returned, before the first resumed step. */
  loadState(files: Record<string, Uint8Array>): Promise<void>;
  store: ObjectStore;
  /** When set, per-epoch loss and metrics are logged to this MLflow run with the epoch as step. */
  tracking?: { client: MlflowClient; runId: string };
  onProgress?(progress: TrainingProgress): void;
  /** Aborts between batches; the loop rethrows `signal.reason`. */
  signal?: AbortSignal;
  /** Number of newest checkpoints to keep; older ones are deleted. Keeps all when unset. */
  keepCheckpoints?: number;
  logger?: Logger;
}

export interface TrainingLoopResult {
  /** Every finished epoch, including those done before a resume. */
  history: EpochRecord[];
  /** Epoch the loop continued after, or undefined for a fresh start. */
  resumedFromEpoch?: number;
  /** Number of epochs trained by this call. */
  epochsTrained: number;
}

interface LoopState {
  randomState: number;
}

function validateOptions(options: TrainingLoopOptions): void {
  for (const [name, value] of [
    ['epochs', options.epochs],
    ['batchesPerEpoch', options.batchesPerEpoch],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`invalid ${name} ${value}: expected a positive integer`);
    }
  }
  if (options.keepCheckpoints !== undefined && (!Number.isInteger(options.keepCheckpoints) || options.keepCheckpoints < 1)) {
    throw new Error(`invalid keepCheckpoints ${options.keepCheckpoints}: expected a positive integer or no value to keep all`);
  }
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

/**
 * Runs a seeded training loop with one checkpoint per epoch under
 * `checkpoints/<runKey>/<stage>/epoch-NNNN/`. On start it resumes after the
 * newest complete checkpoint, restoring the caller's state through
 * `loadState` and the loop's generator state, so an interrupted run ends
 * with the same weights as an uninterrupted one on a deterministic backend.
 * A run whose last checkpoint is the final epoch trains nothing and returns
 * the stored history.
 */
export async function runTrainingLoop(options: TrainingLoopOptions): Promise<TrainingLoopResult> {
  validateOptions(options);
  const { stage, runKey, epochs, batchesPerEpoch, store, logger } = options;

  const random = new TrainingRandom(options.seed);
  let history: EpochRecord[] = [];
  let firstEpoch = 0;
  let resumedFromEpoch: number | undefined;

  const checkpoint = await findLatestCheckpoint(store, runKey, stage, (epoch, error) => {
    logger?.warn({ runKey, stage, epoch, err: error }, 'skipped unreadable checkpoint');
  });
  if (checkpoint !== undefined) {
    const { [LOOP_STATE_FILE]: loopStateBytes, ...callerFiles } = checkpoint.files;
    if (loopStateBytes === undefined) {
      throw new Error(`checkpoint epoch ${checkpoint.manifest.epoch} of ${runKey}/${stage} has no ${LOOP_STATE_FILE}`);
    }
    const loopState = JSON.parse(Buffer.from(loopStateBytes).toString('utf8')) as LoopState;
    random.setState(loopState.randomState);
    await options.loadState(callerFiles);
    history = checkpoint.manifest.history;
    resumedFromEpoch = checkpoint.manifest.epoch;
    firstEpoch = checkpoint.manifest.epoch + 1;
    logger?.info({ runKey, stage, epoch: resumedFromEpoch }, 'resumed training from checkpoint');
  }

  for (let epoch = firstEpoch; epoch < epochs; epoch++) {
    const started = Date.now();
    const losses: number[] = [];
    const batchMetrics: Record<string, number[]> = {};

    for (let batch = 0; batch < batchesPerEpoch; batch++) {
      if (options.signal?.aborted) throw options.signal.reason;

      const result = await options.trainStep(epoch, batch, { random, globalStep: epoch * batchesPerEpoch + batch });
      if (!Number.isFinite(result.loss)) {
        throw new Error(`training loss became ${result.loss} at epoch ${epoch}, batch ${batch} of ${runKey}/${stage}; lower the learning rate or check the inputs`);
      }
      losses.push(result.loss);
      for (const [name, value] of Object.entries(result.metrics ?? {})) {
        (batchMetrics[name] ??= []).push(value);
      }

      options.onProgress?.({
        stage,
        runKey,
        epoch,
        epochs,
        batch,
        batchesPerEpoch,
        loss: result.loss,
        lastCheckpointEpoch: epoch - 1,
      });
    }

    const metrics: Record<string, number> = {};
    for (const [name, values] of Object.entries(batchMetrics)) metrics[name] = mean(values);
    Object.assign(metrics, (await options.evaluate?.(epoch)) ?? {});
    const record: EpochRecord = { epoch, loss: mean(losses), metrics, durationMs: Date.now() - started };
    history = [...history, record];

    const loopState: LoopState = { randomState: random.getState() };
    const files = { ...(await options.saveState()), [LOOP_STATE_FILE]: Buffer.from(JSON.stringify(loopState)) };
    await writeCheckpoint(store, { runKey, stage, epoch, files, history });
    if (options.keepCheckpoints !== undefined) await pruneCheckpoints(store, runKey, stage, options.keepCheckpoints);

    if (options.tracking !== undefined) {
      const timestampMs = Date.now();
      const logged: Metric[] = [
        { key: 'loss', value: record.loss, step: epoch, timestampMs },
        { key: 'epoch_duration_ms', value: record.durationMs, step: epoch, timestampMs },
        ...Object.entries(metrics).map(([key, value]) => ({ key, value, step: epoch, timestampMs })),
      ];
      await options.tracking.client.logBatch(options.tracking.runId, { metrics: logged });
    }
    logger?.info({ runKey, stage, epoch, loss: record.loss, metrics }, 'finished training epoch');
  }

  return { history, resumedFromEpoch, epochsTrained: Math.max(0, epochs - firstEpoch) };
}
