import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loadEnvironment } from '../config/environment';
import { loadRunConfig } from '../config/run-config';
import { connectClient } from '../orchestration/client';
import { activityRecords, childWorkflowExecutions, hostOfIdentity, type ActivityRecord } from './activity-history';
import { workloadByName, type HandoverTarget } from './workloads';

/**
 * Drives one workload against the Temporal server named by the environment
 * and reports progress as JSON lines on stdout, one event per line:
 *
 *   {"event":"started","workflowId":…}
 *   {"event":"running","activities":[{workflowId,activityId,attempt,workerIdentity,workerHost}…]}   handover mode only
 *   {"event":"completed","workflowId":…,"result":…,"activities":[ActivityRecord…]}
 *   {"event":"failed","message":…}
 *
 * The activity lists include those of child workflows, read from the
 * children's own histories and descriptions.
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
const RUNNING_TIMEOUT_MS = 300_000;

function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}

type PendingActivity = NonNullable<Awaited<ReturnType<WorkflowHandle['describe']>>['raw']['pendingActivities']>[number];

/** Lists the pending activities of a workflow and of its running child workflows, each with the id of its workflow. */
async function pendingActivities(client: Client, handle: WorkflowHandle): Promise<Array<{ workflowId: string; activity: PendingActivity }>> {
  const description = await handle.describe();
  const found = (description.raw.pendingActivities ?? []).map((activity) => ({ workflowId: handle.workflowId, activity }));
  for (const child of description.raw.pendingChildren ?? []) {
    if (!child.workflowId) continue;
    // A child may close between the two calls; its activities are then no longer pending.
    const childActivities = await pendingActivities(client, client.workflow.getHandle(child.workflowId, child.runId ?? undefined)).catch(() => []);
    found.push(...childActivities);
  }
  return found;
}

/** Reads the activities of a workflow's history and, recursively, of every child workflow it started. */
async function collectActivities(client: Client, handle: WorkflowHandle): Promise<ActivityRecord[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const records = activityRecords(events, handle.workflowId);
  for (const child of childWorkflowExecutions(events)) {
    records.push(...(await collectActivities(client, client.workflow.getHandle(child.workflowId, child.runId || undefined))));
  }
  return records;
}

async function waitUntilRunning(client: Client, handle: WorkflowHandle, target: HandoverTarget): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + RUNNING_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const running = (await pendingActivities(client, handle)).filter(
      ({ activity }) => activity.activityType?.name === target.activityType && activity.state === PENDING_ACTIVITY_STATE_STARTED && activity.lastWorkerIdentity,
    );
    if (running.length >= target.minRunning) {
      return running.map(({ workflowId, activity }) => ({
        workflowId,
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
  const environment = loadEnvironment();
  const client = await connectClient(environment);
  try {
    const workflowId = `multihost-${workloadName}-${randomUUID()}`;
    const handle = await workload.start({ client, config, configPath, environment, workflowId });
    emit({ event: 'started', workflowId });

    if (mode === 'handover' && workload.handover !== undefined) {
      emit({ event: 'running', activities: await waitUntilRunning(client, handle, workload.handover) });
    }

    const result: unknown = await handle.result();
    emit({ event: 'completed', workflowId, result, activities: await collectActivities(client, handle) });
  } finally {
    await client.connection.close();
  }
}
