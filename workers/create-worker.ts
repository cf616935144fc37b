import { NativeConnection, Runtime, Worker, bundleWorkflowCode, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadEnvironment, type Environment } from '../src/config/environment';
import { EndpointUnreachableError } from '../src/config/errors';
import { temporalConnectionSettings } from '../src/config/temporal-connection';
import type { RunConfig } from '../src/config/run-config';
import { createLogger, type Logger } from '../src/logging';
import { createStore } from '../src/storage';
import { MlflowClient } from '../src/tracking';

export type QueueClass = 'cpu' | 'gpu';

export interface WorkerOptions {
  queueClass: QueueClass;
  config: RunConfig;
  environment?: Environment;
  logger?: Logger;
  /** A bundle shared by several workers in one process, so webpack runs once. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** Activities this worker runs at once; GPU-class workers default to 1 so training jobs do not share a device. */
  maxConcurrentActivities?: number;
}

let runtimeInstalled = false;

/** Installs the Temporal runtime once per process, logging only warnings and errors. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  // Worker heartbeating needs a newer server than the dev server of Temporal CLI v1.5.1, so it is off.
  Runtime.install({ logger: new DefaultLogger('WARN'), workerHeartbeatInterval: 0 });
  runtimeInstalled = true;
}

export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') });
}

/** Connects to Temporal, naming the address and the fix when the server cannot be reached. */
export async function connectWorker(environment: Environment): Promise<NativeConnection> {
  const settings = temporalConnectionSettings(environment);
  try {
    return await NativeConnection.connect(settings);
  } catch (error) {
    throw new EndpointUnreachableError(
      `cannot reach Temporal at ${environment.temporal.address} (${(error as Error).message}); start the local stack with "whorl stack up" or set WHORL_TEMPORAL_ADDRESS`,
    );
  }
}

/** Creates a worker for the CPU-class or GPU-class task queue named in the run config. */
export async function createWorker(options: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection; taskQueue: string }> {
  installRuntime();
  const environment = options.environment ?? loadEnvironment();
  const taskQueue = options.config.queues[options.queueClass];
  const logger = (options.logger ?? createLogger('whorl-worker')).child({ taskQueue });
  const connection = await connectWorker(environment);

  const activities = createActivities({
    environment,
    store: createStore(environment, options.config.storage),
    tracking: MlflowClient.fromEnvironment(environment),
    logger,
    taskQueue,
  });
  const worker = await Worker.create({
    connection,
    namespace: environment.temporal.namespace,
    taskQueue,
    activities,
    ...(options.workflowBundle !== undefined ? { workflowBundle: options.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? (options.queueClass === 'gpu' ? 1 : 2),
    // Running activities get this long to finish or heartbeat their progress before a shutdown cancels them.
    shutdownGraceTime: '30 seconds',
  });
  logger.info({ address: environment.temporal.address, namespace: environment.temporal.namespace }, 'worker created');
  return { worker, connection, taskQueue };
}
