import { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { loadEnvironment, type Environment } from '../config/environment';
import { UserInputError } from '../config/errors';
import { loadRunConfig, type RunConfig } from '../config/run-config';
import { connectClient } from '../orchestration/client';
import { readPreparedManifest } from '../datasets/manifest';
import { createStore } from '../storage';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../orchestration/worker-processes';
import { stackUp } from '../stack/services';
import type { PipelineConfig, PipelineSummary } from '../../workflows/training-pipeline';
import type { PipelineProgress, StageProgress } from '../../workflows/stage-tracker';
import { stackContext } from './stack-command';

const PROGRESS_QUERY = 'progress';

/**
 * Checks that a run config has the sections the pipeline needs: data, and
 * something to train. hashing and index come together, because the
 * pipeline indexes the codes of one trained hasher. Without them it trains
 * and evaluates only the sensor and alignment networks.
 */
export function requirePipelineConfig(config: RunConfig, source: string): PipelineConfig {
  const example = 'see configs/demo.yaml for a full run and configs/sensor-protocol.yaml for sensor classification only';
  if (config.data === undefined) throw new UserInputError(`run config ${source} lacks the data section that the pipeline needs; ${example}`);
  if (config.hashing !== undefined && config.index === undefined) {
    throw new UserInputError(`run config ${source} has a hashing section but no index section; add "index: { name: ${config.name} }" to publish the codes, or remove hashing to train only networks`);
  }
  if (config.hashing === undefined && config.index !== undefined) {
    throw new UserInputError(`run config ${source} has an index section but no hashing section, which trains the hasher whose codes it indexes; add a hashing section or remove index`);
  }
  if (config.hashing === undefined && config.sensor === undefined && config.alignment === undefined) {
    throw new UserInputError(`run config ${source} gives the pipeline nothing to train: add a hashing and index section, a sensor section or an alignment section; ${example}`);
  }
  return config as PipelineConfig;
}

/** Returns a run key such as `demo-20261204-203000`, unique per second and sortable. */
export function newRunKey(configName: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${configName}-${stamp}`;
}

function usesLocalStack(environment: Environment): boolean {
  return [environment.s3.endpoint, environment.mlflow.uri, `http://${environment.temporal.address}`].every((address) => /\/\/(127\.0\.0\.1|localhost)[:/]/.test(address));
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/** Width of the stage-name column: the longest stage name, `sensor-shallow`. */
const STAGE_NAME_WIDTH = 14;

/** Renders one stage as a line with a bar: `hashing        [#####.....] running 0:42 hasher 3/6`. */
export function formatStageLine(stage: StageProgress, nowMs: number, activityProgress?: { done: number; total: number }): string {
  const width = 20;
  const finished = stage.status === 'done' || stage.status === 'cached';
  let share = 0;
  if (finished) share = 1;
  else if (stage.status === 'running' && activityProgress !== undefined && activityProgress.total > 0) share = activityProgress.done / activityProgress.total;
  const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '.');
  const elapsed = stage.startedAtMs === undefined ? '' : formatDuration((stage.finishedAtMs ?? nowMs) - stage.startedAtMs);
  const counter = stage.status === 'running' && activityProgress !== undefined ? ` ${activityProgress.done}/${activityProgress.total}` : '';
  const detail = stage.detail !== undefined ? `  ${stage.detail}` : '';
  return `${stage.stage.padEnd(STAGE_NAME_WIDTH)} [${bar}] ${stage.status.padEnd(8)} ${elapsed.padStart(6)}${counter}${detail}`;
}

/** Reads `{ done, total }` from the heartbeat of the first running activity, when it reports one. */
async function runningActivityProgress(handle: WorkflowHandle): Promise<{ done: number; total: number } | undefined> {
  const description = await handle.describe();
  for (const activity of description.raw.pendingActivities ?? []) {
    const payload = activity.heartbeatDetails?.payloads?.[0]?.data;
    if (payload === undefined || payload === null) continue;
    try {
      const details = JSON.parse(Buffer.from(payload).toString('utf8')) as { done?: unknown; total?: unknown };
      if (typeof details.done === 'number' && typeof details.total === 'number') return { done: details.done, total: details.total };
    } catch {
      // Heartbeat details that are not JSON objects carry no progress counter.
    }
  }
  return undefined;
}

/** Polls the workflow's progress query and prints a line whenever a stage changes, until the run ends. */
async function followProgress(handle: WorkflowHandle, result: Promise<unknown>): Promise<void> {
  let finished = false;
  void result.finally(() => (finished = true)).catch(() => undefined);
  const printed = new Map<string, string>();
  while (!finished) {
    try {
      const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY);
      const activity = await runningActivityProgress(handle);
      for (const stage of progress.stages) {
        const state = `${stage.status}:${stage.detail ?? ''}:${stage.status === 'running' ? (activity?.done ?? '') : ''}`;
        if (printed.get(stage.stage) !== state && stage.status !== 'pending') {
          printed.set(stage.stage, state);
          console.log(formatStageLine(stage, Date.now(), stage.status === 'running' ? activity : undefined));
        }
      }
    } catch {
      // The query fails while the workflow has not started on a worker yet; try again on the next tick.
    }
    await new Promise((resolveTimer) => setTimeout(resolveTimer, 1000));
  }
}

/** Formats the sensor-classifier and alignment results of a summary: `CCR shallow vs deep: …` and `alignment grid error before/after: …`. */
export function networkSummaryLines(summary: Pick<PipelineSummary, 'sensor' | 'alignment'>): string[] {
  const lines: string[] = [];
  if (summary.sensor.length > 0) {
    const percent = (fraction: number): string => `${(fraction * 100).toFixed(1)}%`;
    lines.push(`CCR ${summary.sensor.map((row) => row.variant).join(' vs ')}: ${summary.sensor.map((row) => percent(row.ccr)).join(' vs ')} (sensor classification on the test split)`);
  }
  if (summary.alignment !== undefined) {
    const { gridErrorBeforePx, gridErrorAfterPx, pairs } = summary.alignment;
    lines.push(`alignment grid error before/after: ${gridErrorBeforePx.toFixed(2)} px / ${gridErrorAfterPx.toFixed(2)} px (mean over ${pairs} held-out synthetic pairs)`);
    // Summaries of runs from before the model prefix was recorded lack it.
    if (summary.alignment.modelPrefix !== undefined) lines.push(`alignment model: ${summary.alignment.modelPrefix} (for search --rerank --alignment-model)`);
  }
  return lines;
}

/** Lists the quarantined inputs of a prepared data set, one line each with its reason, at most `limit` lines. */
export async function quarantineLines(manifestKey: string, environment: Environment, limit = 20): Promise<string[]> {
  const manifest = await readPreparedManifest(createStore(environment), manifestKey);
  const lines = manifest.quarantine.slice(0, limit).map((entry) => `  ${entry.source}/${entry.path}: ${entry.reason} (${entry.detail})`);
  if (manifest.quarantine.length > limit) lines.push(`  … and ${manifest.quarantine.length - limit} more; see "whorl data inspect ${manifestKey}"`);
  return lines;
}

/** Returns the MLflow UI page of the pipeline's run, under its experiment when the summary names it. */
export function mlflowRunUrl(trackingUri: string, summary: Pick<PipelineSummary, 'mlflowRunId' | 'mlflowExperimentId'>): string {
  const base = trackingUri.replace(/\/+$/, '');
  if (summary.mlflowExperimentId === undefined) return `${base}/#/runs/${summary.mlflowRunId}`;
  return `${base}/#/experiments/${summary.mlflowExperimentId}/runs/${summary.mlflowRunId}`;
}

/** Describes a published index, such as `demo v3, 72 codes`. */
function indexLine(index: NonNullable<PipelineSummary['index']>): string {
  return `${index.name} v${index.version}, ${index.codes} codes`;
}

async function printSummary(summary: PipelineSummary, environment: Environment, workflowId: string, elapsedMs: number): Promise<void> {
  const uiPort = process.env.WHORL_TEMPORAL_UI_PORT ?? '8233';
  const cachedStages = summary.progress.stages.filter((stage) => stage.status === 'cached').map((stage) => stage.stage);
  console.log('');
  console.log(`run ${summary.runKey} finished in ${formatDuration(elapsedMs)}${cachedStages.length > 0 ? `; served from cache: ${cachedStages.join(', ')}` : ''}`);
  console.log(`prepared: ${summary.prepared.images} images, ${summary.prepared.quarantined} quarantined (${summary.prepared.manifestKey})`);
  if (summary.prepared.quarantined > 0) for (const line of await quarantineLines(summary.prepared.manifestKey, environment)) console.log(line);
  if (summary.index !== undefined) {
    console.log(`index:    ${indexLine(summary.index)}`);
    console.log('retrieval on held-out fingers (probe impressions against gallery impressions):');
    console.log(`  ${'hasher'.padEnd(14)} ${'bits'.padStart(4)} ${'mAP'.padStart(7)} ${'rank-1'.padStart(7)} ${'hit@10%'.padStart(8)}`);
    for (const row of summary.retrieval) {
      console.log(`  ${row.kind.padEnd(14)} ${String(row.codeLengthBits).padStart(4)} ${row.mAP.toFixed(3).padStart(7)} ${row.rank1.toFixed(3).padStart(7)} ${row.hitRateAt10Percent.toFixed(3).padStart(8)}`);
    }
  }
  for (const line of networkSummaryLines(summary)) console.log(line);
  console.log(`Temporal: http://127.0.0.1:${uiPort}/namespaces/${environment.temporal.namespace}/workflows/${workflowId}`);
  console.log(`MLflow:   ${mlflowRunUrl(environment.mlflow.uri, summary)}`);
  console.log(`report:   ${summary.reportLocation} (open it with "whorl report ${summary.runKey} --out report.html")`);
}

/** Joins the messages of a Temporal failure and its causes, such as "Activity task failed: disk full". */
function failureChain(error: unknown): string {
  const messages: string[] = [];
  let current: unknown = error instanceof WorkflowFailedError ? error.cause : error;
  while (current instanceof Error && messages.length < 5) {
    messages.push(current.message);
    current = (current as Error & { cause?: unknown }).cause;
  }
  return messages.join(': ') || String(error);
}

/**
 * Returns the status report of one pipeline run. A running pipeline reports
 * its stages through the progress query. A finished one is read from its
 * result or failure, so no worker is needed: a query on a closed workflow
 * would wait for one.
 */
export async function pipelineStatusLines(handle: WorkflowHandle): Promise<string[]> {
  const description = await handle.describe().catch((error: unknown) => {
    if (error instanceof WorkflowNotFoundError) {
      throw new UserInputError(`no pipeline run has the workflow id "${handle.workflowId}"; "whorl pipeline list" shows the recent ones`);
    }
    throw error;
  });
  const status = description.status.name;
  const closed = description.closeTime === undefined ? '' : ` at ${description.closeTime.toISOString()}`;
  const lines = [`${handle.workflowId}: ${status}${closed}`];

  if (status === 'RUNNING') {
    const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY);
    const activity = await runningActivityProgress(handle);
    for (const stage of progress.stages) lines.push(formatStageLine(stage, Date.now(), stage.status === 'running' ? activity : undefined));
    return lines;
  }
  if (status === 'COMPLETED') {
    const summary = (await handle.result()) as PipelineSummary;
    for (const stage of summary.progress.stages) lines.push(formatStageLine(stage, Date.now(), undefined));
    lines.push(`${summary.index !== undefined ? `index: ${indexLine(summary.index)}; ` : ''}report: ${summary.reportLocation}`);
    return lines;
  }
  // Failed, cancelled, terminated or timed out: the result call raises the reason.
  const reason = await handle.result().then(
    () => undefined,
    (error: unknown) => failureChain(error),
  );
  if (reason !== undefined) lines.push(`reason: ${reason}`);
  lines.push('the stages of a run that did not complete are shown in the Temporal UI under its workflow id');
  return lines;
}

/**
 * Checks that the `root` folder of every local data source exists, resolved
 * against the config file's folder as the workers resolve it.
 */
export function checkSourceFolders(config: PipelineConfig, configPath: string): void {
  const baseDir = resolve(dirname(configPath));
  config.data.sources.forEach((source, index) => {
    if (source.root === undefined) return;
    const folder = resolve(baseDir, source.root);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) {
      throw new UserInputError(`data.sources[${index}].root of source "${source.name}" in ${configPath}: folder ${folder} not found; relative roots resolve against the config file's folder`);
    }
  });
}

export interface RunPipelineOptions {
  configPath: string;
  startStack: boolean;
  startWorkers: boolean;
  runKey?: string;
}

/** Starts the pipeline workflow, with local workers and stack unless the options turn them off, follows it and returns its summary. */
export async function runPipeline(options: RunPipelineOptions): Promise<{ summary: PipelineSummary; workflowId: string; elapsedMs: number }> {
  const config = requirePipelineConfig(loadRunConfig(options.configPath), options.configPath);
  // Local workers read the data from this machine's disk, so a missing folder can be reported before anything starts.
  if (options.startWorkers) checkSourceFolders(config, options.configPath);
  const environment = loadEnvironment();
  if (options.startStack && usesLocalStack(environment)) await stackUp(stackContext());

  const workers: WorkerProcess[] = [];
  const logDir = join(environment.stateDir, 'logs');
  try {
    if (options.startWorkers) {
      workers.push(startWorkerProcess({ queueClass: 'cpu', configPath: options.configPath, logDir }));
      workers.push(startWorkerProcess({ queueClass: 'gpu', configPath: options.configPath, logDir }));
      await Promise.all(workers.map((worker) => worker.ready));
      console.log(`workers started; logs in ${logDir}`);
    }

    const client = await connectClient(environment);
    const runKey = options.runKey ?? newRunKey(config.name);
    const workflowId = `pipeline-${runKey}`;
    const started = Date.now();
    const handle = await client.workflow.start('trainingPipeline', {
      taskQueue: config.queues.cpu,
      workflowId,
      args: [{ runKey, config, baseDir: resolve(dirname(options.configPath)), configSource: options.configPath }],
    });
    console.log(`started ${workflowId}`);
    const result = handle.result() as Promise<PipelineSummary>;
    await followProgress(handle, result);
    let summary: PipelineSummary;
    try {
      summary = await result;
    } catch (error) {
      throw new Error(`pipeline ${workflowId} failed: ${failureChain(error)}; see "whorl pipeline status ${workflowId}" and the worker logs in ${logDir}`);
    } finally {
      await client.connection.close();
    }
    return { summary, workflowId, elapsedMs: Date.now() - started };
  } finally {
    await Promise.all(workers.map((worker) => stopWorkerProcess(worker)));
  }
}

export function pipelineCommand(): Command {
  const pipeline = new Command('pipeline').description('run and inspect the training-and-indexing pipeline');

  pipeline
    .command('run')
    .description('start the pipeline for a config, with local workers and stack, and print per-stage progress and a summary')
    .requiredOption('-c, --config <file>', 'run config, such as configs/demo.yaml')
    .option('--no-stack', 'do not start the local stack even when the endpoints point at it')
    .option('--no-workers', 'do not start local workers; use workers already polling the queues')
    .option('--run-key <key>', 'name of the run; defaults to <config name>-<UTC timestamp>')
    .action(async (options: { config: string; stack: boolean; workers: boolean; runKey?: string }) => {
      const environment = loadEnvironment();
      const { summary, workflowId, elapsedMs } = await runPipeline({ configPath: options.config, startStack: options.stack, startWorkers: options.workers, runKey: options.runKey });
      await printSummary(summary, environment, workflowId, elapsedMs);
    });

  pipeline
    .command('status <workflowId>')
    .description('print the stage table of a running or finished pipeline')
    .action(async (workflowId: string) => {
      const client = await connectClient(loadEnvironment());
      try {
        for (const line of await pipelineStatusLines(client.workflow.getHandle(workflowId))) console.log(line);
      } finally {
        await client.connection.close();
      }
    });

  pipeline
    .command('cancel <workflowId>')
    .description('cancel a running pipeline; running activities are cancelled at their next heartbeat')
    .action(async (workflowId: string) => {
      const client = await connectClient(loadEnvironment());
      await client.workflow.getHandle(workflowId).cancel();
      console.log(`cancellation requested for ${workflowId}`);
      await client.connection.close();
    });

  pipeline
    .command('list')
    .description('list pipeline runs, newest first')
    .option('-n, --limit <count>', 'maximum number of runs to list', '20')
    .action(async (options: { limit: string }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UserInputError(`invalid --limit "${options.limit}": expected a positive integer`);
      const client = await connectClient(loadEnvironment());
      let count = 0;
      for await (const execution of client.workflow.list({ query: `WorkflowType = 'trainingPipeline'` })) {
        console.log(`${execution.workflowId.padEnd(40)} ${execution.status.name.padEnd(11)} ${execution.startTime.toISOString()}`);
        if (++count >= limit) break;
      }
      await client.connection.close();
    });

  return pipeline;
}
