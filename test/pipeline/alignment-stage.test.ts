import { strict as assert } from 'node:assert';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityDependencies } from '../../activities/dependencies';
import { createPipelineStageActivities } from '../../activities/pipeline-stages';
import { alignmentStageConfigSchema } from '../../src/pipeline/config';
import { FilesystemStore } from '../../src/storage';
import type { TrainingProgress } from '../../src/training';
import { BLOB_FINGERS_MANIFEST_KEY, createBlobFingerActivityFixture, runActivity, type BlobFingerActivityFixture } from '../alignment/activity-fixtures';
import { useFastestBackend } from '../alignment/backend';

describe('trainAlignmentStage activity', function () {
  this.timeout(120_000);
  let fixture: BlobFingerActivityFixture;
  let store: FilesystemStore;
  let tracking: BlobFingerActivityFixture['tracking'];
  let deps: ActivityDependencies;
  const alignment = alignmentStageConfigSchema.parse({ epochs: 2, batchesPerEpoch: 2, batchSize: 4, evaluationPairCount: 8, maxImpressionPairs: 4, overlays: 1 });
  const input = { preparedManifestKey: BLOB_FINGERS_MANIFEST_KEY, alignment, seed: 5, experiment: 'whorl-alignment-stage-test' };

  before(async function () {
    await useFastestBackend();
  });

  beforeEach(async function () {
    fixture = await createBlobFingerActivityFixture('whorl-alignment-stage-');
    ({ store, tracking, deps } = fixture);
  });

  afterEach(function () {
    fixture.remove();
  });

  it('resumes an interrupted attempt, then caches', async function () {
    const activities = createPipelineStageActivities(deps);

    // The first attempt is cancelled in its second epoch, after the first epoch's checkpoint.
    const interrupted = new MockActivityEnvironment();
    interrupted.on('heartbeat', (details: TrainingProgress) => {
      if (details.epoch === 1) interrupted.cancel();
    });
    const failure = await runActivity(interrupted, activities.trainAlignmentStage, input).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(failure !== undefined, 'the interrupted attempt fails');

    const retried = await runActivity(new MockActivityEnvironment(), activities.trainAlignmentStage, input);
    assert.equal(retried.cached, false);
    assert.equal(retried.output.epochsTrained, 1, 'the retry trains only the epoch after the checkpoint');
    assert.deepEqual(
      retried.output.history.map((epoch) => epoch.epoch),
      [1, 2],
    );
    assert.equal(tracking.runs.length, 1, 'the retry logs to the same MLflow run');
    assert.equal(retried.output.gridErrorBeforePx.length, 8);
    assert.equal(retried.output.gridErrorAfterPx.length, 8);
    assert.equal(retried.output.overlays.length, 1);
    assert.ok(await store.head(retried.output.overlays[0].key), 'the overlay PNG is stored');

    const again = await runActivity(new MockActivityEnvironment(), activities.trainAlignmentStage, input);
    assert.equal(again.cached, true);
    assert.equal(again.key, retried.key);
    assert.deepEqual(again.output, retried.output);
  });
});
