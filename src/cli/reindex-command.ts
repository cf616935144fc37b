import { Command } from 'commander';
import { dirname, join, resolve } from 'node:path';
import { ScheduleAlreadyRunning, WorkflowFailedError, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction, type ScheduleSpec } from '@temporalio/client';
import { loadEnvironment } from '../config/environment';
import { UserInputError } from '../config/errors';
import { loadRunConfig, type RunConfig } from '../config/run-config';
import { connectClient } from '../orchestration/client';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../orchestration/worker-processes';
import type { ReindexInput, ReindexSummary, reindexWorkflow } from '../../workflows/reindex';

/** Reads a run config and builds the re-index workflow's input from its `reindex` section. */
export function loadReindexInput(configPath: string): { config: RunConfig; input: ReindexInput } {
  const config = loadRunConfig(configPath);
  if (config.reindex === undefined) {
    throw new UserInputError(`run config ${configPath} has no reindex section; add one with index, gallery (root or storePrefix, layout) and compactAfterDeltas`);
  }
  return { config, input: { reindex: config.reindex, queues: config.queues, baseDir: resolve(dirname(configPath)) } };
}

/** Id of the Temporal Schedule that re-indexes `index`; one schedule per index. */
export function reindexScheduleId(index: string): string {
  return `reindex-${index}`;
}

export interface RunReindexOptions {
  configPath: string;
  /** Start a CPU and a GPU worker process for the run, as `whorl pipeline run` does. */
  startWorkers: boolean;
}

/** Runs the re-index workflow once, now, and returns its summary. */
export async function runReindex(options: RunReindexOptions): Promise<{ summary: ReindexSummary; workflowId: string }> {
  const { config, input } = loadReindexInput(options.configPath);
  const environment = loadEnvironment();
  const workers: WorkerProcess[] = [];
  try {
    if (options.startWorkers) {
      const logDir = join(environment.stateDir, 'logs');
      workers.push(startWorkerProcess({ queueClass: 'cpu', configPath: options.configPath, logDir }));
      workers.push(startWorkerProcess({ queueClass: 'gpu', configPath: options.configPath, logDir }));
      await Promise.all(workers.map((worker) => worker.ready));
    }
    const client = await connectClient(environment);
    try {
      const workflowId = `${reindexScheduleId(input.reindex.index)}-${new Date().toISOString().replace(/[-:.]/g, '')}`;
      try {
        const summary = await client.workflow.execute<typeof reindexWorkflow>('reindexWorkflow', { taskQueue: config.queues.cpu, workflowId, args: [input] });
        return { summary, workflowId };
      } catch (error) {
        if (error instanceof WorkflowFailedError) throw new Error(`re-index ${workflowId} failed: ${failureChain(error)}; see the worker logs in ${join(environment.stateDir, 'logs')}`);
        throw error;
      }
    } finally {
      await client.connection.close();
    }
  } finally {
    await Promise.all(workers.map((worker) => stopWorkerProcess(worker)));
  }
}

/** Joins the messages of a workflow failure's causes, such as "Activity task failed: index not found". */
function failureChain(error: WorkflowFailedError): string {
  const messages: string[] = [];
  let current: unknown = error.cause;
  while (current instanceof Error && messages.length < 5) {
    messages.push(current.message);
    current = (current as Error & { cause?: unknown }).cause;
  }
  return messages.join(': ') || error.message;
}

/**
 * Creates the Temporal Schedule that runs the re-index workflow on `cron`
 * (UTC), or updates its spec and action when it exists. Overlapping runs are
 * skipped, because two writers to one index would lose an update.
 */
export async function scheduleReindex(client: Client, configPath: string, cron: string): Promise<{ scheduleId: string; created: boolean }> {
  const { config, input } = loadReindexInput(configPath);
  const scheduleId = reindexScheduleId(input.reindex.index);
  const spec: ScheduleSpec = { cronExpressions: [cron] };
  const action: ScheduleOptionsStartWorkflowAction<typeof reindexWorkflow> = {
    type: 'startWorkflow',
    workflowType: 'reindexWorkflow',
    taskQueue: config.queues.cpu,
    workflowId: `${scheduleId}-run`,
    args: [input],
  };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
    return { scheduleId, created: true };
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw invalidCron(error, cron);
  }
  try {
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies: { ...previous.policies, overlap: ScheduleOverlapPolicy.SKIP } }));
  } catch (error) {
    throw invalidCron(error, cron);
  }
  return { scheduleId, created: false };
}

/** Turns the server's rejection of a cron expression into a UserInputError; other errors pass through. */
function invalidCron(error: unknown, cron: string): unknown {
  if (error instanceof Error && /cron|invalid/i.test(error.message)) {
    return new UserInputError(`invalid --cron "${cron}": ${error.message}; expected five fields such as "0 2 * * *" (02:00 UTC daily)`);
  }
  return error;
}

/** Deletes the re-index schedule of the config's index; returns false when there was none. */
export async function unscheduleReindex(client: Client, configPath: string): Promise<{ scheduleId: string; deleted: boolean }> {
  const { input } = loadReindexInput(configPath);
  const scheduleId = reindexScheduleId(input.reindex.index);
  try {
    await client.schedule.getHandle(scheduleId).delete();
    return { scheduleId, deleted: true };
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return { scheduleId, deleted: false };
    throw error;
  }
}

function printSummary(summary: ReindexSummary, workflowId: string): void {
  const versions = summary.version === summary.previousVersion ? `v${summary.version} unchanged` : `v${summary.previousVersion} -> v${summary.version}`;
  console.log(`${workflowId}: index ${summary.index} ${versions}${summary.compacted ? ' (compacted)' : ''}`);
  console.log(`  encoded ${summary.encoded}, appended ${summary.appended}, already indexed ${summary.alreadyIndexed}, quarantined ${summary.quarantined.length}`);
  for (const entry of summary.quarantined) console.log(`  quarantined: ${entry}`);
  console.log(`  model version ${summary.modelVersion}, gallery watermark ${summary.galleryWatermark ?? '(none)'}`);
}

export function reindexCommand(): Command {
  const reindex = new Command('reindex').description('add new gallery images to a published index, once or on a Temporal Schedule');

  reindex
    .command('run')
    .description('re-index once, now: encode the gallery images added after the index watermark and publish a new version')
    .requiredOption('-c, --config <file>', 'run config with a reindex section')
    .option('--no-workers', 'do not start local workers; use workers already polling the queues')
    .action(async (options: { config: string; workers: boolean }) => {
      const { summary, workflowId } = await runReindex({ configPath: options.config, startWorkers: options.workers });
      printSummary(summary, workflowId);
    });

  reindex
    .command('schedule')
    .description('create or update the Temporal Schedule that re-indexes on a cron expression; workers must be polling the queues when it fires')
    .requiredOption('-c, --config <file>', 'run config with a reindex section')
    .option('--cron <expression>', 'cron expression in UTC, five fields', '0 2 * * *')
    .action(async (options: { config: string; cron: string }) => {
      const client = await connectClient(loadEnvironment());
      try {
        const { scheduleId, created } = await scheduleReindex(client, options.config, options.cron);
        console.log(`${created ? 'created' : 'updated'} schedule ${scheduleId}: "${options.cron}" (UTC)`);
      } finally {
        await client.connection.close();
      }
    });

  reindex
    .command('unschedule')
    .description('delete the re-index schedule of the config\'s index')
    .requiredOption('-c, --config <file>', 'run config with a reindex section')
    .action(async (options: { config: string }) => {
      const client = await connectClient(loadEnvironment());
      try {
        const { scheduleId, deleted } = await unscheduleReindex(client, options.config);
        console.log(deleted ? `deleted schedule ${scheduleId}` : `no schedule ${scheduleId} to delete`);
      } finally {
        await client.connection.close();
      }
    });

  return reindex;
}
