import * as tf from '@tensorflow/tfjs';
import type { RunConfig } from '../src/config/run-config';
import type { ActivityDependencies } from './dependencies';
import type { TrackingContext } from './retrieval';

/** Activities that open and close the pipeline's parent MLflow run; every stage logs a nested run under it. */
export function createPipelineRunActivities(deps: ActivityDependencies) {
  return {
    async startPipelineRun(input: { runKey: string; workflowId: string; config: RunConfig }): Promise<TrackingContext> {
      const experimentId = await deps.tracking.getOrCreateExperiment(input.config.tracking.experiment);
      const run = await deps.tracking.createRun({
        experimentId,
        runName: input.runKey,
        tags: { 'whorl.kind': 'pipeline', 'whorl.run_key': input.runKey, 'whorl.workflow_id': input.workflowId, 'whorl.config_name': input.config.name },
      });
      // MLflow limits a param value to 6000 characters, so the full config goes into the run report instead.
      const params = { seed: input.config.seed, config: JSON.stringify(input.config).slice(0, 6000), 'tensors.backend': tf.getBackend() ?? 'none' };
      await deps.tracking.logBatch(run.runId, { params });
      return { experimentId, parentRunId: run.runId };
    },

    async finishPipelineRun(input: { tracking: TrackingContext; status: 'FINISHED' | 'FAILED' | 'KILLED'; summary: Record<string, number> }): Promise<void> {
      const metrics = Object.entries(input.summary).map(([key, value]) => ({ key, value }));
      await deps.tracking.logBatch(input.tracking.parentRunId, { metrics });
      await deps.tracking.endRun(input.tracking.parentRunId, input.status);
    },
  };
}

export type PipelineRunActivities = ReturnType<typeof createPipelineRunActivities>;
