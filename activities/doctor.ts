import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { ActivityDependencies } from './dependencies';

export interface WorkerProbe {
  taskQueue: string;
  hostname: string;
  pid: number;
  tensorBackend: string;
}

export interface StorageProbe {
  location: string;
  key: string;
  sizeBytes: number;
  roundTripMs: number;
}

export interface TrackingProbe {
  trackingUri: string;
  experimentId: string;
  runId: string;
}

/** Activities behind `whorl doctor`: each touches one component for real. */
export function createDoctorActivities(deps: ActivityDependencies) {
  return {
    /** Reports which worker ran it, so the workflow can show that both queues are served. */
    async probeWorker(): Promise<WorkerProbe> {
      await tf.ready();
      return { taskQueue: deps.taskQueue, hostname: hostname(), pid: process.pid, tensorBackend: tf.getBackend() };
    },

    /** Writes, reads back and deletes one object, and checks the bytes survived. */
    async probeStorage(input: { key: string }): Promise<StorageProbe> {
      const started = Date.now();
      const body = randomBytes(64 * 1024);
      await deps.store.put(input.key, body, { contentType: 'application/octet-stream' });
      const readBack = await deps.store.get(input.key);
      await deps.store.delete(input.key);
      if (Buffer.compare(Buffer.from(readBack), body) !== 0) {
        throw new Error(`storage probe read back different bytes from ${input.key} in ${deps.store.location}`);
      }
      return { location: deps.store.location, key: input.key, sizeBytes: body.byteLength, roundTripMs: Date.now() - started };
    },

    /** Logs a finished MLflow run that records what the other probes found. */
    async probeTracking(input: { experiment: string; workflowId: string; workers: WorkerProbe[] }): Promise<TrackingProbe> {
      const experimentId = await deps.tracking.getOrCreateExperiment(input.experiment);
      const run = await deps.tracking.createRun({
        experimentId,
        runName: `doctor-${input.workflowId}`,
        tags: { 'whorl.kind': 'doctor', 'whorl.workflow_id': input.workflowId },
      });
      const params: Record<string, string> = {};
      for (const worker of input.workers) {
        params[`worker.${worker.taskQueue}.host`] = worker.hostname;
        params[`worker.${worker.taskQueue}.tensor_backend`] = worker.tensorBackend;
      }
      await deps.tracking.logBatch(run.runId, { params, metrics: [{ key: 'workers', value: input.workers.length }] });
      await deps.tracking.endRun(run.runId, 'FINISHED');
      return { trackingUri: deps.tracking.trackingUri, experimentId, runId: run.runId };
    },
  };
}

export type DoctorActivities = ReturnType<typeof createDoctorActivities>;
