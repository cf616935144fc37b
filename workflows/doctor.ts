import { proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { DoctorActivities, StorageProbe, TrackingProbe, WorkerProbe } from '../activities/doctor';

export interface DoctorInput {
  cpuQueue: string;
  gpuQueue: string;
  experiment: string;
  /** Object key the storage probe writes and deletes. */
  probeKey: string;
}

export interface DoctorResult {
  workers: WorkerProbe[];
  storage: StorageProbe;
  tracking: TrackingProbe;
}

const activityOptions: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '1 second', nonRetryableErrorTypes: ['UserInputError'] },
};

/** Runs one activity on each task queue, then probes storage and tracking from the CPU queue. */
export async function doctorWorkflow(input: DoctorInput): Promise<DoctorResult> {
  const onCpu = proxyActivities<DoctorActivities>({ ...activityOptions, taskQueue: input.cpuQueue });
  const onGpu = proxyActivities<DoctorActivities>({ ...activityOptions, taskQueue: input.gpuQueue });

  const workers = await Promise.all([onCpu.probeWorker(), onGpu.probeWorker()]);
  const storage = await onCpu.probeStorage({ key: input.probeKey });
  const tracking = await onCpu.probeTracking({ experiment: input.experiment, workflowId: workflowInfo().workflowId, workers });

  return { workers, storage, tracking };
}
