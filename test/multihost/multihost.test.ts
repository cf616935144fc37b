import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRunConfig } from '../../src/config/run-config';
import type { ActivityRecord } from '../../src/multihost/activity-history';
import { workloadByName } from '../../src/multihost/workloads';
import { MultihostCluster } from './cluster';
import { createTestNetwork, destroyOwnNamespaces, namespaceSupportProblem, removeStaleNamespaces } from './test-network';

/**
 * whorl across five test hosts, each a network namespace on one private /24
 * that exists only inside namespaces this test creates:
 *
 *   services 10.231.42.1   Temporal, MinIO, MLflow (`whorl stack up`, WHORL_STACK_HOST=0.0.0.0)
 *   gpu-a    10.231.42.2   GPU-class worker
 *   gpu-b    10.231.42.3   GPU-class worker
 *   cpu-a    10.231.42.4   CPU-class worker and the search service
 *   client   10.231.42.5   workload driver, index build and queries
 *
 * The workloads are names from src/multihost/workloads.ts. To run another
 * workflow across the hosts, add it there and name it here. A handover
 * workload must declare the long GPU activity whose worker this test kills.
 */
const ACROSS_HOSTS_WORKLOAD = 'pipeline';
/** The pipeline again with a shifted seed, so its stages train afresh instead of coming from the first run's cache. */
const HANDOVER_WORKLOAD = 'pipeline-handover';
/** Its GPU activity must finish within the worker's 30-second shutdown grace. */
const DRAIN_WORKLOAD = 'gpu-drain';

/** The search service runs beside the CPU worker and serves queries from the client host. */
const SEARCH_HOST = 'cpu-a';

const SUBNET_PREFIX = '10.231.42';
const GPU_HOSTS = ['gpu-a', 'gpu-b'];
const CPU_HOSTS = ['cpu-a'];
const CONFIG_PATH = 'test/multihost/pipeline.yaml';
const WORKER_START_TIMEOUT_MS = 180_000;
const RUN_CONFIG = loadRunConfig(CONFIG_PATH);
const QUEUES = RUN_CONFIG.queues;
/** The index that the pipeline workload builds and the search service serves. */
const SEARCH_INDEX = RUN_CONFIG.index?.name ?? 'multihost-pipeline';
/** Estimated to cover the demo pipeline on a loaded 2-core machine (about 3–6 minutes there). */
const PIPELINE_TIMEOUT_MS = 720_000;

/** Returns the first image file under `root`, searching sub-folders in name order. */
async function findImage(root: string): Promise<string> {
  const entries = (await readdir(root, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (entry.isFile() && /\.(png|tif|tiff|bmp)$/i.test(entry.name)) return path;
    if (entry.isDirectory()) {
      const found = await findImage(path).catch(() => undefined);
      if (found !== undefined) return found;
    }
  }
  throw new Error(`no image file under ${root}`);
}

function summarize(activities: ActivityRecord[]): string {
  return activities.map((activity) => `${activity.activityType}@${activity.taskQueue} on ${activity.workerIdentity} attempt ${activity.attempt} ${activity.outcome}`).join('\n  ');
}

describe('multi-host cluster', function () {
  this.timeout(900_000);
  let cluster: MultihostCluster | undefined;
  let scratchDir: string | undefined;
  let namespacesSupported = false;
  const startedAt = Date.now();

  before(async function () {
    const problem = await namespaceSupportProblem();
    if (problem !== undefined) {
      console.warn(`    skipping the multi-host tests: ${problem}`);
      this.skip();
    }
    namespacesSupported = true;

    const stale = await removeStaleNamespaces();
    if (stale.length > 0) console.warn(`    removed namespaces left by an earlier run: ${stale.join(', ')}`);

    scratchDir = await mkdtemp(join(tmpdir(), 'whorl-multihost-'));
    const network = await createTestNetwork({ subnetPrefix: SUBNET_PREFIX, hostNames: ['services', ...GPU_HOSTS, ...CPU_HOSTS, 'client'] });
    cluster = new MultihostCluster(network, scratchDir, CONFIG_PATH);

    await cluster.startServices('services');
    const servicesReadyAt = Date.now();
    await Promise.all([
      ...GPU_HOSTS.map((host) => cluster!.startWorker(host, 'gpu', WORKER_START_TIMEOUT_MS)),
      ...CPU_HOSTS.map((host) => cluster!.startWorker(host, 'cpu', WORKER_START_TIMEOUT_MS)),
    ]);
    console.log(`    services up in ${((servicesReadyAt - startedAt) / 1000).toFixed(1)} s, workers in ${((Date.now() - servicesReadyAt) / 1000).toFixed(1)} s more; scratch ${scratchDir}`);
  });

  after(async function () {
    this.timeout(60_000);
    if (!namespacesSupported) return;
    // Kills every process in the test namespaces (services, workers, drivers) before deleting the namespaces.
    await destroyOwnNamespaces();
    if (scratchDir !== undefined && process.env.WHORL_KEEP_MULTIHOST_LOGS !== '1') await rm(scratchDir, { recursive: true, force: true });
    console.log(`    multi-host suite took ${((Date.now() - startedAt) / 1000).toFixed(1)} s including clean-up`);
  });

  it('runs the workload on remote workers', async function () {
    const started = Date.now();
    const driver = cluster!.drive('client', ACROSS_HOSTS_WORKLOAD, 'run');
    const completed = await driver.next('completed', PIPELINE_TIMEOUT_MS).catch(async (error: Error) => {
      throw new Error(`${error.message}\nworker logs:\n${await cluster!.workerLogTails()}`);
    });
    const activities = completed.activities as ActivityRecord[];
    const overview = summarize(activities);
    const summary = completed.result as { index: { name: string; codes: number } };
    assert.equal(summary.index.name, SEARCH_INDEX);
    assert.ok(summary.index.codes > 0, 'the pipeline indexed no codes');
    console.log(`    ${ACROSS_HOSTS_WORKLOAD} finished in ${((Date.now() - started) / 1000).toFixed(1)} s:\n  ${overview}`);

    assert.ok(activities.length > 0, 'the workflow history lists no activities');
    for (const activity of activities) {
      assert.equal(activity.outcome, 'completed', `${activity.activityType} did not complete:\n  ${overview}`);
      const expectedHosts = activity.taskQueue === QUEUES.gpu ? GPU_HOSTS : CPU_HOSTS;
      assert.ok(expectedHosts.includes(activity.workerHost), `${activity.activityType} on ${activity.taskQueue} ran on "${activity.workerHost}", expected one of ${expectedHosts.join(', ')}`);
    }
    const queues = new Set(activities.map((activity) => activity.taskQueue));
    assert.ok(queues.has(QUEUES.gpu), `no activity ran on the GPU queue:\n  ${overview}`);
    assert.ok(queues.has(QUEUES.cpu), `no activity ran on the CPU queue:\n  ${overview}`);
  });

  it('serves image queries to another host', async function () {
    const started = Date.now();
    // A print the pipeline never saw, written on the client host; the service must rank it exactly like the CLI there.
    const synthDir = join(scratchDir!, 'query-prints');
    const synth = await cluster!.runOnHost('client', [process.execPath, 'scripts/whorl.cjs', 'data', 'synth', '--out', synthDir, '--fingers', '1', '--sensors', '1', '--impressions', '1', '--seed', '99'], 120_000);
    assert.equal(synth.code, 0, `whorl data synth failed:\n${synth.stderr}`);
    const queryImage = await findImage(synthDir);

    const baseUrl = cluster!.startSearchService(SEARCH_HOST, SEARCH_INDEX, 8470);
    const health = await cluster!.httpFromHost('client', `${baseUrl}/healthz`, { waitOkSeconds: 120 });
    assert.equal(health.status, 200, `GET /healthz on ${SEARCH_HOST}: ${JSON.stringify(health.body)}`);

    const imageBase64 = (await readFile(queryImage)).toString('base64');
    const response = await cluster!.httpFromHost('client', `${baseUrl}/search`, { json: { imageBase64, k: 5 } });
    assert.equal(response.status, 200, `POST /search: ${JSON.stringify(response.body)}`);
    const served = response.body as { indexVersion: number; results: Array<{ matches: Array<{ id: number; distance: number }> }> };
    assert.equal(served.results.length, 1);
    assert.equal(served.results[0].matches.length, 5);

    // The exact baseline: the same image searched from the client host, read straight from object storage.
    const exact = await cluster!.runOnHost('client', [process.execPath, 'scripts/whorl.cjs', 'search', '--name', SEARCH_INDEX, '--image', queryImage, '--k', '5', '--json'], 120_000);
    assert.equal(exact.code, 0, `whorl search failed:\n${exact.stderr}`);
    const expected = JSON.parse(exact.stdout) as { indexVersion: number; matches: Array<{ id: number; distance: number }> };
    assert.equal(served.indexVersion, expected.indexVersion);
    assert.deepEqual(
      served.results[0].matches.map((match) => [match.id, match.distance]),
      expected.matches.map((match) => [match.id, match.distance]),
    );
    console.log(`    served an image query on index ${SEARCH_INDEX} across hosts in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it('hands a GPU activity over when its worker dies', async function () {
    const driver = cluster!.drive('client', HANDOVER_WORKLOAD, 'handover');
    const running = await driver.next('running', 300_000);
    const runningActivities = running.activities as Array<{ workflowId: string; activityId: string; workerHost: string; attempt: number }>;
    const handoverTarget = workloadByName(HANDOVER_WORKLOAD).handover!;
    const busyHosts = runningActivities.map((activity) => activity.workerHost);
    for (const host of busyHosts) assert.ok(GPU_HOSTS.includes(host), `${handoverTarget.activityType} runs on ${host}, expected one of ${GPU_HOSTS.join(', ')}`);
    if (handoverTarget.minRunning >= GPU_HOSTS.length) {
      assert.deepEqual([...new Set(busyHosts)].sort(), [...GPU_HOSTS].sort(), `expected one running activity on each GPU host, got ${busyHosts.join(', ')}`);
    }

    const victim = runningActivities[0];
    const survivor = GPU_HOSTS.find((host) => host !== victim.workerHost)!;
    const killedAt = Date.now();
    await cluster!.killWorker(victim.workerHost);

    const completed = await driver.next('completed', PIPELINE_TIMEOUT_MS).catch(async (error: Error) => {
      throw new Error(`${error.message}\nworker logs:\n${await cluster!.workerLogTails()}`);
    });
    const activities = completed.activities as ActivityRecord[];
    const overview = summarize(activities);
    console.log(`    killed the worker on ${victim.workerHost}; the workflow finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s later:\n  ${overview}`);

    const handedOver = activities.find((activity) => activity.workflowId === victim.workflowId && activity.activityId === victim.activityId);
    assert.ok(handedOver, `activity ${victim.activityId} is missing from the history:\n  ${overview}`);
    assert.equal(handedOver.outcome, 'completed');
    assert.equal(handedOver.workerHost, survivor, `the lost activity finished on ${handedOver.workerHost}, expected ${survivor}`);
    assert.ok(handedOver.attempt >= 2, `expected a retry, got attempt ${handedOver.attempt}`);
    assert.equal(handedOver.lastFailure?.timeoutType, 'HEARTBEAT', `expected a heartbeat time-out before the retry, got ${JSON.stringify(handedOver.lastFailure)}`);
    for (const activity of activities) assert.equal(activity.outcome, 'completed', `${activity.activityType} did not complete:\n  ${overview}`);
  });
  it('drains a GPU worker on SIGTERM', async function () {
    const driver = cluster!.drive('client', DRAIN_WORKLOAD, 'handover');
    const running = await driver.next('running', 120_000);
    const [target] = running.activities as Array<{ workflowId: string; activityId: string; workerHost: string }>;
    assert.ok(GPU_HOSTS.includes(target.workerHost), `the activity runs on ${target.workerHost}, expected a GPU host`);

    const stoppedAt = Date.now();
    const exitCode = await cluster!.stopWorker(target.workerHost, 60_000);
    const drainedMs = Date.now() - stoppedAt;
    const completed = await driver.next('completed', 60_000);
    const activities = completed.activities as ActivityRecord[];
    console.log(`    SIGTERM to the worker on ${target.workerHost}; it exited with code ${exitCode} after ${(drainedMs / 1000).toFixed(1)} s:\n  ${summarize(activities)}`);

    assert.equal(exitCode, 0, `the worker on ${target.workerHost} did not exit cleanly`);
    const drained = activities.find((activity) => activity.workflowId === target.workflowId && activity.activityId === target.activityId);
    assert.ok(drained, `activity ${target.activityId} is missing from the history`);
    assert.equal(drained.outcome, 'completed');
    assert.equal(drained.workerHost, target.workerHost, 'the activity should finish on the worker that was stopping');
    assert.equal(drained.attempt, 1, 'a drained activity needs no retry');
  });

  it('keeps the S3 secret out of logs', async function () {
    const leaks = await cluster!.logsContainingSecret();
    assert.deepEqual(leaks, [], `the MinIO secret key appears in ${leaks.join(', ')}`);
  });
});
