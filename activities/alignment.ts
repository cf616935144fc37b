import { Context } from '@temporalio/activity';
import { trainAlignmentStage, type AlignmentStageRequest, type AlignmentStageResult } from '../src/alignment/stage';
import type { TrainingProgress } from '../src/training';
import type { ActivityDependencies } from './dependencies';
import { failFastOnUserInput } from './failures';

export type TrainAlignmentInput = AlignmentStageRequest;

export interface TrainAlignmentResult extends AlignmentStageResult {
  taskQueue: string;
}

/** Activities of the alignment network; training belongs on the GPU queue. */
export function createAlignmentActivities(deps: ActivityDependencies) {
  return {
    /**
     * Trains, evaluates and saves the alignment network. Heartbeats after
     * every batch with the training progress; a retry resumes after the
     * newest checkpoint under `checkpoints/<runKey>/alignment/`. Invalid
     * input fails without retries.
     */
    async trainAlignmentNetwork(input: TrainAlignmentInput): Promise<TrainAlignmentResult> {
      const context = Context.current();
      const logger = deps.logger.child({ activity: 'trainAlignmentNetwork', runKey: input.runKey, attempt: context.info.attempt });
      const previous = context.info.heartbeatDetails as TrainingProgress | undefined;
      if (previous !== undefined) logger.info({ previous }, 'resuming alignment training after an interrupted attempt');

      const result = await failFastOnUserInput(() =>
        trainAlignmentStage(input, {
          store: deps.store,
          tracking: deps.tracking,
          logger,
          onProgress: (progress) => context.heartbeat(progress),
          signal: context.cancellationSignal,
        }),
      );
      return { ...result, taskQueue: deps.taskQueue };
    },
  };
}

export type AlignmentActivities = ReturnType<typeof createAlignmentActivities>;
