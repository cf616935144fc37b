import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import type { AlignmentStageOutput } from '../../activities/pipeline-stages';
import type { StageOutcome } from '../../activities/retrieval';
import { runPipeline } from '../../src/cli/pipeline-command';
import { loadEnvironment } from '../../src/config/environment';
import { activityRecords } from '../../src/multihost/activity-history';
import { connectClient } from '../../src/orchestration/client';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../../src/orchestration/worker-processes';
import type { TrainingProgress } from '../../src/training';
import { writeTinyPipelineConfig } from './tiny-config';

const EPOCHS = 16;
/** Heartbeat timeout, short so the replacement worker takes over within seconds. The SDK throttles heartbeats to one per 0.8 × this. */
const HEARTBEAT_SECONDS = 10;

/** Writes a tiny pipeline config whose only network stage is the alignment network, with epochs of a few seconds each. */
function writeConfig(seed: number): string {
  return writeTinyPipelineConfig('pipeline-kill', seed, {
    timeouts: { trainingHeartbeatSeconds: HEARTBEAT_SECONDS },
    data: {
      sources: [{ name: 'synthetic', layout: 'synthetic', synthetic: { fingers: 8, sensors: 2, impressionsPerFinger: 3 } }],
      imageSizePx: 48,
      splits: { galleryImpressionsPerFinger: 1, hashingEvalFraction: 0.34 },
    },
    index: { name: 'pipeline-kill', shardCount: 1 },
    alignment: { preset: 'cpu', epochs: EPOCHS, batchesPerEpoch: 40, batchSize: 8, evaluationPairCount: 8, maxImpressionPairs: 4, overlays: 0 },
  });
}

/** Returns the heartbeat of the running alignment-stage activity once it reports a checkpoint, polling every 200 ms. */
async function waitForCheckpointHeartbeat(handle: WorkflowHandle, pipelineDone: Promise<unknown>, timeoutMs: number): Promise<TrainingProgress> {
  let done = false;
  void pipelineDone.finally(() => (done = true)).catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !done) {
    const description = await handle.describe().catch(() => undefined);
    for (const activity of description?.raw.pendingActivities ?? []) {
      const payload = activity.heartbeatDetails?.payloads?.[0];
      if (activity.activityType?.name !== 'trainAlignmentStage' || payload === undefined) continue;
      const progress = defaultPayloadConverter.fromPayload<TrainingProgress>(payload);
      // The details can be one throttle interval old, so kill only with half the epochs left: the first worker must not finish first.
      if (progress.lastCheckpointEpoch >= 1 && progress.epoch < EPOCHS / 2) return progress;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no alignment heartbeat with a checkpoint within ${timeoutMs / 1000} s${done ? ' (the pipeline ended first)' : ''}`);
}

describe('pipeline with a GPU worker killed mid-epoch', function () {
  this.timeout(900_000);
  const workers: WorkerProcess[] = [];

  after(async () => {
    await Promise.all(workers.map((worker) => stopWorkerProcess(worker)));
  });

  it('resumes from the last checkpoint', async () => {
    // A fresh seed means no cached stage output matches, so training really runs.
    const configPath = writeConfig(Date.now() % 100_000);
    const logDir = mkdtempSync(join(tmpdir(), 'whorl-kill-logs-'));
    const first = startWorkerProcess({ queueClass: 'gpu', configPath, logDir, label: 'gpu-first' });
    const cpu = startWorkerProcess({ queueClass: 'cpu', configPath, logDir, label: 'cpu' });
    workers.push(first, cpu);
    await Promise.all([first.ready, cpu.ready]);

    const runKey = `kill-${Date.now()}`;
    const pipeline = runPipeline({ configPath, startStack: false, startWorkers: false, runKey });
    pipeline.catch(() => undefined);
    const client = await connectClient(loadEnvironment());
    try {
      const handle = client.workflow.getHandle(`pipeline-${runKey}`);
      // The workflow starts a moment after runPipeline is called.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const atKill = await waitForCheckpointHeartbeat(handle, pipeline, 600_000);
      first.child.kill('SIGKILL');
      await first.exited;

      const second = startWorkerProcess({ queueClass: 'gpu', configPath, logDir, label: 'gpu-second' });
      workers.push(second);
      await second.ready;
      await pipeline;

      const events = (await handle.fetchHistory()).events ?? [];
      const training = activityRecords(events).filter((record) => record.activityType === 'trainAlignmentStage');
      assert.equal(training.length, 1);
      assert.ok(training[0].attempt >= 2, `the alignment stage ran in ${training[0].attempt} attempt(s); expected a retry after the kill`);
      assert.ok(training[0].workerIdentity.startsWith(`${second.child.pid}@`), `the last attempt ran on ${training[0].workerIdentity}, not on the replacement worker`);
      assert.equal(training[0].lastFailure?.timeoutType, 'HEARTBEAT');

      const outcome = events
        .map((event) => event.activityTaskCompletedEventAttributes)
        .map((attributes) => attributes?.result?.payloads?.[0])
        .filter((payload) => payload !== undefined && payload !== null)
        .map((payload) => defaultPayloadConverter.fromPayload<StageOutcome<AlignmentStageOutput>>(payload))
        .find((outcome) => outcome.output?.gridErrorAfterPx !== undefined);
      assert.ok(outcome, 'no completed alignment stage result in the history');
      const { resumedFromEpoch, epochsTrained, history } = outcome.output;
      console.log(`killed the first GPU worker during epoch ${atKill.epoch}; the replacement resumed after epoch ${resumedFromEpoch ?? 'none'} and trained ${epochsTrained} of ${EPOCHS} epochs`);
      assert.equal(history.length, EPOCHS, 'the final model does not have a history of every epoch');
      assert.ok(resumedFromEpoch !== undefined, 'the replacement worker started afresh instead of resuming');
      // The kill came during epoch atKill.epoch (zero-based) or later, so at most that epoch is trained twice.
      assert.ok(resumedFromEpoch >= atKill.epoch - 1, `resumed after epoch ${resumedFromEpoch}, but the heartbeat before the kill reported epoch ${atKill.epoch} running`);
      assert.equal(epochsTrained, EPOCHS - resumedFromEpoch - 1);
    } finally {
      await client.connection.close();
    }
  });
});
