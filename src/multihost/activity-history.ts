import type { WorkflowHandle } from '@temporalio/client';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** Names of Temporal's TimeoutType values (temporal/api/enums/v1/workflow.proto). */
const TIMEOUT_TYPE_NAMES: Record<number, string> = { 1: 'START_TO_CLOSE', 2: 'SCHEDULE_TO_START', 3: 'SCHEDULE_TO_CLOSE', 4: 'HEARTBEAT' };

/** One activity as its workflow history records it: where it was queued, which worker ran its last attempt and how it ended. */
export interface ActivityRecord {
  /** Workflow whose history lists the activity: the workload's workflow or one of its child workflows. */
  workflowId: string;
  activityId: string;
  activityType: string;
  taskQueue: string;
  /** Identity of the worker that ran the last attempt, `<pid>@<hostname>` unless the worker sets its own. */
  workerIdentity: string;
  /** Host part of the identity, or the whole identity when it has no `@`. */
  workerHost: string;
  attempt: number;
  /** Failure of the previous attempt when there was one, such as a heartbeat time-out. */
  lastFailure?: { message: string; timeoutType?: string };
  outcome: 'completed' | 'failed' | 'timed out' | 'canceled' | 'running';
}

/** Returns the host part of a Temporal worker identity such as `4242@gpu-a`. */
export function hostOfIdentity(identity: string): string {
  const at = identity.lastIndexOf('@');
  return at === -1 ? identity : identity.slice(at + 1);
}

function timeoutTypeName(value: number | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  return TIMEOUT_TYPE_NAMES[value] ?? `TIMEOUT_TYPE_${value}`;
}

/**
 * Lists the activities of one workflow run from its history events, in the
 * order they were scheduled. Temporal writes an activity's started event when
 * the activity closes, with the attempt number and the previous attempt's
 * failure, so retries on another worker are visible here.
 */
export function activityRecords(events: HistoryEvent[], workflowId = ''): ActivityRecord[] {
  const byScheduledId = new Map<string, ActivityRecord>();

  for (const event of events) {
    const eventId = String(event.eventId ?? '');
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      byScheduledId.set(eventId, {
        workflowId,
        activityId: scheduled.activityId ?? '',
        activityType: scheduled.activityType?.name ?? '',
        taskQueue: scheduled.taskQueue?.name ?? '',
        workerIdentity: '',
        workerHost: '',
        attempt: 0,
        outcome: 'running',
      });
      continue;
    }

    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const record = byScheduledId.get(String(started.scheduledEventId ?? ''));
      if (record === undefined) continue;
      record.workerIdentity = started.identity ?? '';
      record.workerHost = hostOfIdentity(record.workerIdentity);
      record.attempt = started.attempt ?? 0;
      if (started.lastFailure) {
        record.lastFailure = {
          message: started.lastFailure.message ?? '',
          timeoutType: timeoutTypeName(started.lastFailure.timeoutFailureInfo?.timeoutType),
        };
      }
      continue;
    }

    // Each event carries exactly one attributes field, named after its type.
    const closings: Array<[ActivityRecord['outcome'], { scheduledEventId?: unknown } | null | undefined]> = [
      ['completed', event.activityTaskCompletedEventAttributes],
      ['failed', event.activityTaskFailedEventAttributes],
      ['timed out', event.activityTaskTimedOutEventAttributes],
      ['canceled', event.activityTaskCanceledEventAttributes],
    ];
    for (const [outcome, attributes] of closings) {
      const record = attributes ? byScheduledId.get(String(attributes.scheduledEventId ?? '')) : undefined;
      if (record !== undefined) record.outcome = outcome;
    }
  }

  return [...byScheduledId.values()];
}

/** Lists the child workflows that a history started, so their activities can be read from their own histories. */
export function childWorkflowExecutions(events: HistoryEvent[]): Array<{ workflowId: string; runId: string }> {
  const children: Array<{ workflowId: string; runId: string }> = [];
  for (const event of events) {
    const execution = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (execution?.workflowId) children.push({ workflowId: execution.workflowId, runId: execution.runId ?? '' });
  }
  return children;
}
