import type { ActivityDependencies } from './dependencies';
import { createDoctorActivities } from './doctor';

export type { ActivityDependencies } from './dependencies';

/** Creates every activity a worker registers. Both queues register the same set, and workflows route each call by queue. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createDoctorActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
