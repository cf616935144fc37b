import type { ActivityDependencies } from './dependencies';
import { createDoctorActivities } from './doctor';
import { createHandoverProbeActivities } from './handover-probe';

export type { ActivityDependencies } from './dependencies';

/** Creates every activity a worker registers. Both queues register the same set, and workflows route each call by queue. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createDoctorActivities(deps),
    ...createHandoverProbeActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
