import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import * as tf from '@tensorflow/tfjs';
import type { ActivityDependencies } from '../../activities/dependencies';
import { createSensorActivities, type TrainSensorModelInput } from '../../activities/sensor';
import { loadEnvironment } from '../../src/config/environment';
import { silentLogger } from '../../src/logging';
import type { ObjectStore } from '../../src/storage';
import { MlflowClient, type Run, type RunInfo } from '../../src/tracking';
import { tempStore, writePreparedDataset } from './support';

function runActivity<A extends unknown[], R>(environment: MockActivityEnvironment, activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return environment.run(activity, ...args) as Promise<R>;
}

/** Keeps runs, metrics and artifacts in memory in place of an MLflow server. */
function recordingTracking() {
  const runs: Run[] = [];
  const metricKeys: string[] = [];
  const artifacts: string[] = [];
  const client = {
    trackingUri: 'memory://',
    getOrCreateExperiment: async () => '1',
    searchRuns: async () => [],
    createRun: async (options: { runName?: string; tags?: Record<string, string> }): Promise<RunInfo> => {
      const info = { runId: `run-${runs.length + 1}`, experimentId: '1', runName: options.runName ?? '', status: 'RUNNING' as const, artifactUri: 'memory://', startTimeMs: 0 };
      runs.push({ info, params: {}, tags: options.tags ?? {}, metrics: {} });
      return info;
    },
    getRun: async (runId: string) => runs.find((run) => run.info.runId === runId) as Run,
    logBatch: async (_runId: string, batch: { metrics?: Array<{ key: string }>; tags?: Record<string, string> }) => {
      for (const metric of batch.metrics ?? []) metricKeys.push(metric.key);
    },
    logParamsOnce: async () => [],
    setTags: async () => undefined,
    logArtifact: async (_run: RunInfo, path: string) => {
      artifacts.push(path);
      return path;
    },
    endRun: async (runId: string, status: Run['info']['status']) => {
      const run = runs.find((candidate) => candidate.info.runId === runId);
      if (run !== undefined) run.info.status = status;
    },
  };
  return { client: client as unknown as MlflowClient, runs, metricKeys, artifacts };
}

function dependencies(store: ObjectStore, tracking: MlflowClient): ActivityDependencies {
  return { environment: loadEnvironment({}), store, tracking, logger: silentLogger, taskQueue: 'whorl-gpu-test' };
}

function trainInput(manifestKey: string, overrides: Partial<TrainSensorModelInput> = {}): TrainSensorModelInput {
  return {
    manifestKey,
    variant: 'shallow',
    size: 'cpu',
    overrides: { inputSizePx: 32, trainPatchesPerImage: 1, testPatchGrid: 1, widthMultiplier: 0.0625, epochs: 2, batchSize: 4 },
    seed: 5,
    runKey: 'workflow-1',
    experiment: 'whorl-sensor-test',
    pairKey: 'pair-1',
    tensorBackend: 'cpu',
    ...overrides,
  };
}

describe('sensor activities', function () {
  this.timeout(120_000);

  before(async () => {
    await tf.setBackend('cpu');
  });

  it('trains, heartbeats and evaluates', async () => {
    const store = tempStore();
    const tracking = recordingTracking();
    const activities = createSensorActivities(dependencies(store, tracking.client));
    const manifestKey = await writePreparedDataset(store, { sensors: ['a', 'b'], imagesPerSensor: 4, trainPerSensor: 2, sizePx: 32 });

    const environment = new MockActivityEnvironment();
    const heartbeats: unknown[] = [];
    environment.on('heartbeat', (details: unknown) => heartbeats.push(details));
    const trained = await runActivity(environment, activities.trainSensorModel, trainInput(manifestKey));

    assert.equal(trained.mlflowRunId, 'run-1');
    assert.deepEqual(trained.sensors, ['a', 'b']);
    assert.equal(trained.taskQueue, 'whorl-gpu-test');
    assert.ok(trained.modelPrefix.startsWith('models/sensor-shallow/'));
    // One heartbeat with the run id, then one per batch: 2 epochs of 4 balanced images in batches of 4.
    assert.equal(heartbeats.length, 1 + 2);
    assert.deepEqual(tracking.runs[0].tags['whorl.variant'], 'shallow');
    assert.deepEqual(tracking.runs[0].tags['whorl.pair'], 'pair-1');
    assert.ok(tracking.metricKeys.includes('loss'));
    assert.ok(tracking.artifacts.includes('model/weights.bin'));

    const evaluated = await runActivity(new MockActivityEnvironment(), activities.evaluateSensorModel, {
      modelPrefix: trained.modelPrefix,
      manifestKey,
      mlflowRunId: trained.mlflowRunId,
      seed: 5,
      reportPrefix: 'reports/workflow-1/sensor-shallow/',
      skipRobustness: true,
    });
    assert.equal(evaluated.confusion.flat().reduce((sum, count) => sum + count, 0), 4);
    assert.ok(tracking.metricKeys.includes('ccr'));
    assert.equal(tracking.runs[0].info.status, 'FINISHED');
  });

  describe('MLflow runs of earlier attempts, against the local server', () => {
    const client = MlflowClient.fromEnvironment(loadEnvironment());
    let manifestKey: string;
    let store: ObjectStore;

    before(async () => {
      store = tempStore();
      manifestKey = await writePreparedDataset(store, { sensors: ['a', 'b'], imagesPerSensor: 4, trainPerSensor: 2, sizePx: 32 });
    });

    it('resumes an unfinished run', async () => {
      const runKey = `resume-${randomUUID()}`;
      const experimentId = await client.getOrCreateExperiment('whorl-sensor-test');
      const earlier = await client.createRun({ experimentId, tags: { 'whorl.run_key': runKey, 'whorl.variant': 'shallow' } });
      await client.logParams(earlier.runId, { 'tensors.backend': 'tensorflow-gpu', 'tensors.threads': '8' });

      const activities = createSensorActivities(dependencies(store, client));
      const trained = await runActivity(new MockActivityEnvironment(), activities.trainSensorModel, trainInput(manifestKey, { runKey }));
      assert.equal(trained.mlflowRunId, earlier.runId);
      const run = await client.getRun(earlier.runId);
      assert.equal(run.params['tensors.backend'], 'tensorflow-gpu');
      assert.equal(run.tags['whorl.param_changed.tensors.backend'], 'tensorflow-gpu → cpu');
      assert.equal(run.params.variant, 'shallow', 'the training params were logged too');
    });

    it('starts a new run after a finished one', async () => {
      const runKey = `finished-${randomUUID()}`;
      const first = await runActivity(new MockActivityEnvironment(), createSensorActivities(dependencies(store, client)).trainSensorModel, trainInput(manifestKey, { runKey }));
      await client.endRun(first.mlflowRunId, 'FINISHED');

      // Another store lacks the finished model, so the same settings train again.
      const otherStore = tempStore();
      const otherManifest = await writePreparedDataset(otherStore, { sensors: ['a', 'b'], imagesPerSensor: 4, trainPerSensor: 2, sizePx: 32 });
      const second = await runActivity(new MockActivityEnvironment(), createSensorActivities(dependencies(otherStore, client)).trainSensorModel, trainInput(otherManifest, { runKey }));
      assert.equal(second.reused, false);
      assert.notEqual(second.mlflowRunId, first.mlflowRunId);
      assert.equal((await client.getRun(first.mlflowRunId)).info.status, 'FINISHED');
    });
  });

  it('one-sensor data fails without retry', async () => {
    const store = tempStore();
    const activities = createSensorActivities(dependencies(store, recordingTracking().client));
    const manifestKey = await writePreparedDataset(store, { sensors: ['only'], imagesPerSensor: 4, trainPerSensor: 2, sizePx: 32 });
    await assert.rejects(
      runActivity(new MockActivityEnvironment(), activities.trainSensorModel, trainInput(manifestKey)),
      (error: Error) => error instanceof ApplicationFailure && error.nonRetryable && error.type === 'UserInputError' && /at least 2 sensors/.test(error.message),
    );
  });

  it('invalid model size fails without retry', async () => {
    const store = tempStore();
    const activities = createSensorActivities(dependencies(store, recordingTracking().client));
    await assert.rejects(
      runActivity(new MockActivityEnvironment(), activities.trainSensorModel, trainInput('prepared/x/manifest.json', { size: 'huge' as 'cpu' })),
      (error: Error) => error instanceof ApplicationFailure && error.nonRetryable && /invalid sensor model size "huge"/.test(error.message),
    );
  });
});
