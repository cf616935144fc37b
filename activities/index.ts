import type { ActivityDependencies } from './dependencies';
import { createDoctorActivities } from './doctor';
import { createHandoverProbeActivities } from './handover-probe';
import { createDatasetActivities } from './datasets';
import { createPipelineRunActivities } from './pipeline-run';
import { createPipelineStageActivities } from './pipeline-stages';
import { createRetrievalActivities } from './retrieval';
import { createRunReportActivities } from './run-report';
import { createAlignmentActivities } from './alignment';
import { createSensorActivities } from './sensor';
import { createReindexActivities } from './reindex';

export type { ActivityDependencies } from './dependencies';

/** Creates every activity a worker registers. Both queues register the same set, and workflows route each call by queue. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createDoctorActivities(deps),
    ...createHandoverProbeActivities(deps),
    ...createDatasetActivities(deps),
    ...createPipelineRunActivities(deps),
    ...createRetrievalActivities(deps),
    ...createRunReportActivities(deps),
    ...createAlignmentActivities(deps),
    ...createSensorActivities(deps),
    ...createPipelineStageActivities(deps),
    ...createReindexActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
