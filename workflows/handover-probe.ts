import { proxyActivities } from '@temporalio/workflow';
import type { HandoverProbeActivities, HoldResult } from '../activities/handover-probe';

export interface HandoverProbeInput {
  /** Task queue whose workers share the activities and take over those of a lost worker. */
  taskQueue: string;
  /** Activities started at once. With one activity slot per GPU worker, 2 activities occupy 2 workers. */
  activityCount: number;
  holdMs: number;
}

/**
 * A worker that stops heartbeating for this long is presumed lost and its
 * activity is retried elsewhere. Long enough for a busy event loop, short
 * enough that a handover takes seconds rather than minutes.
 */
const HEARTBEAT_TIMEOUT = '5 seconds';
const HEARTBEAT_INTERVAL_MS = 1000;

/**
 * Runs `activityCount` long heartbeating activities on one task queue at once
 * and returns where each finished. An activity whose worker was lost finishes
 * on another worker with an attempt number above 1.
 */
export async function handoverProbeWorkflow(input: HandoverProbeInput): Promise<HoldResult[]> {
  const onQueue = proxyActivities<HandoverProbeActivities>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: { initialInterval: '500 milliseconds', maximumAttempts: 5, nonRetryableErrorTypes: ['UserInputError'] },
  });

  const activities: Array<Promise<HoldResult>> = [];
  for (let index = 0; index < input.activityCount; index++) {
    activities.push(onQueue.holdWorkerSlot({ holdMs: input.holdMs, heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS }));
  }
  return Promise.all(activities);
}
