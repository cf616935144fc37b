import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { UserInputError } from '../src/config/errors';
import type { ActivityDependencies } from './dependencies';

/** Upper bound on one hold, so a typo cannot pin a GPU worker for hours. */
export const MAX_HOLD_MS = 10 * 60_000;

export interface HoldInput {
  holdMs: number;
  heartbeatIntervalMs: number;
}

export interface HoldResult {
  taskQueue: string;
  hostname: string;
  pid: number;
  /** Attempt number of the run that finished: 1 unless an earlier worker was lost. */
  attempt: number;
  heldMs: number;
}

function checkDuration(name: string, value: number, maxMs: number): void {
  if (!Number.isFinite(value) || value < 0 || value > maxMs) {
    throw new UserInputError(`invalid ${name} ${value}: expected a number of milliseconds between 0 and ${maxMs}`);
  }
}

/**
 * Activities that check how work moves between workers of one queue: a long
 * heartbeating activity whose worker can be stopped or lost while it runs.
 */
export function createHandoverProbeActivities(deps: ActivityDependencies) {
  return {
    /**
     * Occupies one activity slot of this worker for `holdMs`, heartbeating every
     * `heartbeatIntervalMs`. When the worker dies, the heartbeat timeout lets
     * Temporal retry the hold on another worker of the same queue.
     */
    async holdWorkerSlot(input: HoldInput): Promise<HoldResult> {
      checkDuration('holdMs', input.holdMs, MAX_HOLD_MS);
      checkDuration('heartbeatIntervalMs', input.heartbeatIntervalMs, 60_000);
      const context = Context.current();
      const started = Date.now();

      while (Date.now() - started < input.holdMs) {
        context.heartbeat({ heldMs: Date.now() - started });
        // Context.sleep rejects with a CancelledFailure when Temporal cancels the activity.
        await context.sleep(Math.max(1, Math.min(input.heartbeatIntervalMs, input.holdMs - (Date.now() - started))));
      }

      return { taskQueue: deps.taskQueue, hostname: hostname(), pid: process.pid, attempt: context.info.attempt, heldMs: Date.now() - started };
    },
  };
}

export type HandoverProbeActivities = ReturnType<typeof createHandoverProbeActivities>;
