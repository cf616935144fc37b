import { UserInputError } from '../src/config/errors';
import { loadRunConfig } from '../src/config/run-config';
import { createLogger } from '../src/logging';
import { createWorker, type QueueClass } from './create-worker';

/**
 * Runs one worker process until SIGINT or SIGTERM. The Temporal SDK catches
 * those signals and shuts the worker down gracefully: it stops polling, lets
 * running activities finish within the grace time, then exits.
 */
export async function runWorkerProcess(queueClass: QueueClass): Promise<void> {
  const configPath = process.argv[2] ?? process.env.WHORL_CONFIG ?? 'configs/demo.yaml';
  const logger = createLogger(`whorl-${queueClass}-worker`);
  const config = loadRunConfig(configPath);
  const { worker, connection, taskQueue } = await createWorker({ queueClass, config, logger });
  logger.info({ taskQueue, config: configPath }, 'worker started');
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
