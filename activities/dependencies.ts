import type { Environment } from '../src/config/environment';
import type { Logger } from '../src/logging';
import type { ObjectStore } from '../src/storage';
import type { MlflowClient } from '../src/tracking';

/**
 * Dependencies of every activity factory. Workers build one set per process,
 * and tests pass a FilesystemStore or a store on a test prefix.
 */
export interface ActivityDependencies {
  environment: Environment;
  store: ObjectStore;
  tracking: MlflowClient;
  logger: Logger;
  /** Task queue this worker polls, recorded in activity results. */
  taskQueue: string;
}
