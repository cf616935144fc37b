import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createDatasetActivities } from '../../activities/datasets';
import { loadEnvironment } from '../../src/config/environment';
import { dataConfigSchema, readPreparedImages } from '../../src/datasets';
import { silentLogger } from '../../src/logging';
import { connectClient } from '../../src/orchestration/client';
import { FilesystemStore } from '../../src/storage';
import type { MlflowClient } from '../../src/tracking';
import { connectWorker } from '../../workers/create-worker';
import type { PrepareDatasetsInput, PrepareDatasetsOutput } from '../../workflows/prepare-datasets';
import { createTemporaryFolder, samplePng, writeFiles } from './helpers';

describe('prepareDatasetsWorkflow on the local Temporal', function () {
  this.timeout(180_000);
  let folder: ReturnType<typeof createTemporaryFolder>;
  before(() => {
    folder = createTemporaryFolder('workflow');
  });
  after(() => folder.remove());

  it('fans out over sources and combines their manifests', async function () {
    try {
      // Worker heartbeating needs a newer server than the local dev server, so it is off.
      Runtime.install({ logger: new DefaultLogger('WARN'), workerHeartbeatInterval: 0 });
    } catch {
      // Another test in this process installed the runtime already.
    }
    const environment = loadEnvironment();
    let connection;
    try {
      connection = await connectWorker(environment);
    } catch {
      // The test needs the local stack; without it there is nothing to run against.
      this.skip();
    }
    const store = new FilesystemStore(join(folder.path, 'store'));
    writeFiles(join(folder.path, 'fvc2002'), { 'DB1_B/101_1.png': samplePng(1), 'DB1_B/101_2.png': samplePng(2), 'DB1_B/102_1.png': samplePng(3) });
    writeFiles(join(folder.path, 'iitk'), { fut1: samplePng(4), lum1: samplePng(5) });

    const taskQueue = `test-datasets-${randomUUID()}`;
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows/prepare-datasets'), logger: new DefaultLogger('WARN') });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle,
      activities: createDatasetActivities({ environment, store, tracking: {} as MlflowClient, logger: silentLogger, taskQueue }),
    });
    const client = await connectClient(environment);
    const input: PrepareDatasetsInput = {
      data: dataConfigSchema.parse({ sources: [{ name: 'fvc2002', root: 'fvc2002' }, { name: 'iitk', root: 'iitk' }], imageSizePx: 32 }),
      seed: 0,
      baseDir: folder.path,
      cpuQueue: taskQueue,
    };
    try {
      const output = (await worker.runUntil(
        client.workflow.execute('prepareDatasetsWorkflow', { taskQueue, workflowId: `test-prepare-${randomUUID()}`, args: [input], workflowExecutionTimeout: '2 minutes' }),
      )) as PrepareDatasetsOutput;
      assert.equal(output.images, 5);
      assert.deepEqual(output.sources.map((source) => [source.source, source.images]), [['fvc2002', 3], ['iitk', 2]]);
      const images = await readPreparedImages(store, output.manifestKey);
      assert.deepEqual(new Set(images.map((image) => image.dataset)), new Set(['fvc2002', 'iitk']));
    } finally {
      await client.connection.close();
      await connection.close();
    }
  });
});
