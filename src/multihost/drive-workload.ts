import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { loadEnvironment } from '../config/environment';
import { loadRunConfig } from '../config/run-config';
import { connectClient } from '../orchestration/client';
import { activityRecords, hostOfIdentity } from './activity-history';
import { workloadByName, type HandoverTarget } from './workloads';

/**
 * Drives one workload against the Temporal server named by the environment
 * and reports progress as JSON lines on stdout, one event per line:
 *
 *   {"event":"started","workflowId":…}
 *   {"event":"running","activities":[{activityId,attempt,workerIdentity,workerHost}…]}   handover mode only
 *   {"event":"completed","workflowId":…,"result":…,"activities":[ActivityRecord…]}
 *   {"event":"failed","message":…}
 *
 * In handover mode the driver reports "running" once the workload's handover
 * activity runs on enough workers. The caller then stops one of those workers,
 * and the driver waits for the workflow to finish without it.
 *
 * Usage: node scripts/multihost/drive-workload.cjs WORKLOAD CONFIG [run|handover]
 */

/** PendingActivityState.PENDING_ACTIVITY_STATE_STARTED in temporal/api/enums/v1/workflow.proto. */
const PENDING_ACTIVITY_STATE_STARTED = 2;
const RUNNING_POLL_INTERVAL_MS = 250;
const RUNNING_TIMEOUT_MS = 120_000;

function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}

async function waitUntilRunning(handle: WorkflowHandle, target: HandoverTarget): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + RUNNING_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const description = await handle.describe();
    const running = (description.raw.pendingActivities ?? []).filter(
      (activity) => activity.activityType?.name === target.activityType && activity.state === PENDING_ACTIVITY_STATE_STARTED && activity.lastWorkerIdentity,
    );
    if (running.length >= target.minRunning) {
      return running.map((activity) => ({
        activityId: activity.activityId,
        attempt: activity.attempt,
        workerIdentity: activity.lastWorkerIdentity,
        workerHost: hostOfIdentity(activity.lastWorkerIdentity ?? ''),
      }));
    }
    await new Promise((resolve) => setTimeout(resolve, RUNNING_POLL_INTERVAL_MS));
  }
  throw new Error(`timed out after ${RUNNING_TIMEOUT_MS / 1000} s waiting for ${target.minRunning} running ${target.activityType} activities; check that enough ${target.queueClass} workers poll their queue`);
}

export async function driveWorkload(argv: string[]): Promise<void> {
  const [workloadName, configPath, mode = 'run'] = argv;
  if (workloadName === undefined || configPath === undefined || (mode !== 'run' && mode !== 'handover')) {
    throw new Error('usage: drive-workload WORKLOAD CONFIG [run|handover]');
  }
  const workload = workloadByName(workloadName);
  if (mode === 'handover' && workload.handover === undefined) {
    throw new Error(`workload "${workloadName}" has no handover activity; choose a workload that defines one`);
  }

  const config = loadRunConfig(configPath);
  const client = await connectClient(loadEnvironment());
  try {
    const workflowId = `multihost-${workloadName}-${randomUUID()}`;
    const handle = await workload.start({ client, config, workflowId });
    emit({ event: 'started', workflowId });

    if (mode === 'handover' && workload.handover !== undefined) {
      emit({ event: 'running', activities: await waitUntilRunning(handle, workload.handover) });
    }

    const result: unknown = await handle.result();
    const history = await handle.fetchHistory();
    emit({ event: 'completed', workflowId, result, activities: activityRecords(history.events ?? []) });
  } finally {
    await client.connection.close();
  }
}
