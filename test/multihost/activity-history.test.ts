import { strict as assert } from 'node:assert';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createHandoverProbeActivities, type HoldInput, type HoldResult } from '../../activities/handover-probe';
import type { ActivityDependencies } from '../../activities/dependencies';
import { UserInputError } from '../../src/config/errors';
import { activityRecords, childWorkflowExecutions, hostOfIdentity } from '../../src/multihost/activity-history';

type HistoryEvent = Parameters<typeof activityRecords>[0][number];

/** Types plain objects as history events; protobuf ids are Long objects there, and activityRecords reads them with String(). */
function events(plain: object[]): HistoryEvent[] {
  return plain as unknown as HistoryEvent[];
}

/** Runs holdWorkerSlot in a mock activity context whose logger prints errors only. */
function runHold(environment: MockActivityEnvironment, activity: (input: HoldInput) => Promise<HoldResult>, input: HoldInput): Promise<HoldResult> {
  return environment.run(activity, input) as Promise<HoldResult>;
}

function quietEnvironment(): MockActivityEnvironment {
  return new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
}

describe('activity records from history', () => {
  it('follow a retry onto another worker', () => {
    const records = activityRecords(events([
      { eventId: 5, activityTaskScheduledEventAttributes: { activityId: '1', activityType: { name: 'holdWorkerSlot' }, taskQueue: { name: 'whorl-gpu' } } },
      { eventId: 6, activityTaskScheduledEventAttributes: { activityId: '2', activityType: { name: 'holdWorkerSlot' }, taskQueue: { name: 'whorl-gpu' } } },
      { eventId: 9, activityTaskStartedEventAttributes: { scheduledEventId: 6, identity: '41@gpu-a', attempt: 1 } },
      { eventId: 10, activityTaskCompletedEventAttributes: { scheduledEventId: 6, startedEventId: 9 } },
      {
        eventId: 12,
        activityTaskStartedEventAttributes: {
          scheduledEventId: 5,
          identity: '41@gpu-a',
          attempt: 2,
          lastFailure: { message: 'activity Heartbeat timeout', timeoutFailureInfo: { timeoutType: 4 } },
        },
      },
      { eventId: 13, activityTaskCompletedEventAttributes: { scheduledEventId: 5, startedEventId: 12 } },
    ]));

    assert.equal(records.length, 2);
    assert.deepEqual(records.map((record) => record.activityId), ['1', '2']);
    assert.equal(records[0].workerHost, 'gpu-a');
    assert.equal(records[0].attempt, 2);
    assert.equal(records[0].outcome, 'completed');
    assert.deepEqual(records[0].lastFailure, { message: 'activity Heartbeat timeout', timeoutType: 'HEARTBEAT' });
    assert.equal(records[1].attempt, 1);
    assert.equal(records[1].lastFailure, undefined);
  });

  it('mark activities without a close as running', () => {
    const records = activityRecords(events([{ eventId: 5, activityTaskScheduledEventAttributes: { activityId: '1', activityType: { name: 'probeWorker' }, taskQueue: { name: 'whorl-cpu' } } }]));
    assert.equal(records[0].outcome, 'running');
    assert.equal(records[0].workerIdentity, '');
  });

  it('list child workflows to follow', () => {
    const history = events([
      { eventId: 7, childWorkflowExecutionStartedEventAttributes: { workflowExecution: { workflowId: 'encode-shard-0', runId: 'run-a' } } },
      { eventId: 8, childWorkflowExecutionStartedEventAttributes: { workflowExecution: { workflowId: 'encode-shard-1', runId: 'run-b' } } },
    ]);
    assert.deepEqual(childWorkflowExecutions(history), [
      { workflowId: 'encode-shard-0', runId: 'run-a' },
      { workflowId: 'encode-shard-1', runId: 'run-b' },
    ]);
    assert.deepEqual(activityRecords(history), []);
  });

  const identities: Array<[string, string]> = [
    ['4242@gpu-a', 'gpu-a'],
    ['4242@worker@pod-7', 'pod-7'],
    ['custom-identity', 'custom-identity'],
  ];
  for (const [identity, host] of identities) {
    it(`takes host ${host} from ${identity}`, () => {
      assert.equal(hostOfIdentity(identity), host);
    });
  }
});

describe('holdWorkerSlot activity', () => {
  const activities = createHandoverProbeActivities({ taskQueue: 'whorl-gpu' } as ActivityDependencies);

  it('heartbeats while it holds the slot', async () => {
    const environment = quietEnvironment();
    const heartbeats: unknown[] = [];
    environment.on('heartbeat', (details: unknown) => heartbeats.push(details));
    const result = await runHold(environment, activities.holdWorkerSlot, { holdMs: 120, heartbeatIntervalMs: 30 });
    assert.equal(result.taskQueue, 'whorl-gpu');
    assert.equal(result.attempt, 1);
    assert.ok(result.heldMs >= 120, `held ${result.heldMs} ms`);
    assert.ok(heartbeats.length >= 3, `expected at least 3 heartbeats, got ${heartbeats.length}`);
  });

  const invalid: Array<[string, HoldInput, RegExp]> = [
    ['a negative hold', { holdMs: -1, heartbeatIntervalMs: 10 }, /invalid holdMs -1/],
    ['a hold over 10 minutes', { holdMs: 11 * 60_000, heartbeatIntervalMs: 10 }, /invalid holdMs 660000: expected a number of milliseconds between 0 and 600000/],
    ['a non-finite interval', { holdMs: 10, heartbeatIntervalMs: Number.NaN }, /invalid heartbeatIntervalMs NaN/],
  ];
  for (const [title, input, pattern] of invalid) {
    it(`rejects ${title}`, async () => {
      await assert.rejects(
        runHold(quietEnvironment(), activities.holdWorkerSlot, input),
        (error: unknown) => error instanceof UserInputError && pattern.test(error.message),
      );
    });
  }
});
