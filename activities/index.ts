import type { ActivityDependencies } from './dependencies';
import { createDoctorActivities } from './doctor';

export type { ActivityDependencies } from './dependencies';

/** Every activity a worker registers; both queues register the same set and workflows route by queue. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createDoctorActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
