import { strict as assert } from 'node:assert';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createAlignmentActivities, type TrainAlignmentInput } from '../../activities/alignment';
import type { ActivityDependencies } from '../../activities/dependencies';
import { loadAlignmentModel } from '../../src/alignment';
import { FilesystemStore } from '../../src/storage';
import type { TrainingProgress } from '../../src/training';
import { BLOB_FINGERS_MANIFEST_KEY, createBlobFingerActivityFixture, runActivity, type BlobFingerActivityFixture } from './activity-fixtures';
import { useFastestBackend } from './backend';

describe('trainAlignmentNetwork activity', function () {
  this.timeout(120_000);
  let fixture: BlobFingerActivityFixture;
  let store: FilesystemStore;
  let tracking: BlobFingerActivityFixture['tracking'];
  let deps: ActivityDependencies;

  before(async function () {
    await useFastestBackend();
  });

  beforeEach(async function () {
    fixture = await createBlobFingerActivityFixture('whorl-alignment-activity-');
    ({ store, tracking, deps } = fixture);
  });

  afterEach(function () {
    fixture.remove();
  });

  function input(overrides: Partial<TrainAlignmentInput> = {}): TrainAlignmentInput {
    return {
      runKey: 'test-run',
      preparedManifestKey: BLOB_FINGERS_MANIFEST_KEY,
      preset: 'cpu',
      modelOverrides: { inputSizePx: 16, featureBlocks: [[4], [4]], regression: [{ kernelSizePx: 3, filters: 4 }] },
      epochs: 2,
      batchesPerEpoch: 2,
      batchSize: 4,
      seed: 3,
      evaluationPairCount: 8,
      referenceMode: 'per-sensor',
      modelPrefix: 'models/alignment/test/',
      experiment: 'whorl-alignment-test',
      ...overrides,
    };
  }

  it('trains, heartbeats and saves the model', async function () {
    const environment = new MockActivityEnvironment();
    const heartbeats: TrainingProgress[] = [];
    environment.on('heartbeat', (details: TrainingProgress) => heartbeats.push(details));
    const result = await runActivity(environment, createAlignmentActivities(deps).trainAlignmentNetwork, input());

    assert.equal(result.epochsTrained, 2);
    assert.equal(result.taskQueue, 'test-gpu');
    assert.equal(result.trainImages, 24);
    assert.equal(result.evaluationImages, 12);
    assert.equal(result.realPairs.pairs, 8);
    assert.equal(heartbeats.length, 4);
    assert.deepEqual(heartbeats.map((beat) => `${beat.epoch}/${beat.batch}`), ['0/0', '0/1', '1/0', '1/1']);
    assert.ok(tracking.metrics.some((metric) => metric.key === 'validation_grid_error'));
    assert.ok(tracking.metrics.some((metric) => metric.key === 'synthetic_aligned_grid_error'));

    const saved = await loadAlignmentModel(store, result.modelPrefix);
    assert.deepEqual(Object.keys(saved.references.bySensor).sort(), ['capacitive', 'optical']);
    saved.model.dispose();
  });

  it('resumes after the last checkpoint', async function () {
    const activities = createAlignmentActivities(deps);
    await runActivity(new MockActivityEnvironment(), activities.trainAlignmentNetwork, input({ epochs: 1 }));
    const resumed = await runActivity(new MockActivityEnvironment(), activities.trainAlignmentNetwork, input({ epochs: 2 }));

    assert.equal(resumed.resumedFromEpoch, 0);
    assert.equal(resumed.epochsTrained, 1);
    assert.equal(tracking.runs.length, 1, 'the retry reuses the MLflow run');
  });

  it('rejects invalid input without retries', async function () {
    const failure = await runActivity(new MockActivityEnvironment(), createAlignmentActivities(deps).trainAlignmentNetwork, input({ epochs: 0 })).then(
      () => undefined,
      (error: unknown) => error,
    );

    assert.ok(failure instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(failure)}`);
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.type, 'UserInputError');
    assert.match(failure.message, /invalid epochs 0: expected a positive integer/);
  });

  it('rejects a run key unsafe for paths', async function () {
    const failure = await runActivity(new MockActivityEnvironment(), createAlignmentActivities(deps).trainAlignmentNetwork, input({ runKey: "x' or 1=1" })).then(
      () => undefined,
      (error: unknown) => error,
    );

    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /invalid runKey/);
  });
});
