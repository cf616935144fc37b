import { UserInputError } from '../src/config/errors';
import { loadRunConfig } from '../src/config/run-config';
import { createLogger } from '../src/logging';
import { initializeTensorBackend } from '../src/tensors';
import { createWorker, type QueueClass } from './create-worker';

/**
 * Reads WHORL_MAX_CONCURRENT_ACTIVITIES: activities this worker process runs
 * at once. A deployment sets it to GPUs per pod times activities per GPU.
 * Unset, createWorker's default per queue class applies.
 */
export function maxConcurrentActivitiesFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env.WHORL_MAX_CONCURRENT_ACTIVITIES;
  if (value === undefined || value === '') return undefined;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) {
    throw new UserInputError(`invalid WHORL_MAX_CONCURRENT_ACTIVITIES "${value}": expected a positive integer such as 1`);
  }
  return count;
}

/**
 * Runs one worker process until SIGINT or SIGTERM. The Temporal SDK catches
 * those signals and shuts the worker down gracefully: it stops polling, lets
 * running activities finish within the grace time, then exits.
 */
export async function runWorkerProcess(queueClass: QueueClass): Promise<void> {
  const configPath = process.argv[2] ?? process.env.WHORL_CONFIG ?? 'configs/demo.yaml';
  const logger = createLogger(`whorl-${queueClass}-worker`);
  const config = loadRunConfig(configPath);
  // TensorFlow reads its thread count when it loads, so the backend is chosen before any activity runs.
  await initializeTensorBackend({ backend: config.tensors.backend, threads: config.tensors.threads, logger });
  const maxConcurrentActivities = maxConcurrentActivitiesFromEnv();
  const { worker, connection, taskQueue } = await createWorker({ queueClass, config, logger, maxConcurrentActivities });
  logger.info({ taskQueue, config: configPath, maxConcurrentActivities }, 'worker started');
  try {
    await worker.run();
  } finally {
    await connection.close();
    logger.info({ taskQueue }, 'worker stopped');
  }
}

/** Runs a worker process and exits non-zero on failure, printing bad-input errors without a stack trace. */
export function main(queueClass: QueueClass): void {
  runWorkerProcess(queueClass).catch((error: unknown) => {
    console.error(error instanceof UserInputError ? `error: ${error.message}` : error);
    process.exit(1);
  });
}
