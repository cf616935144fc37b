import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadEnvironment } from '../../src/config/environment';
import { EndpointUnreachableError } from '../../src/config/errors';
import { MlflowClient, MlflowRequestError, PARAM_CHANGED_TAG_PREFIX, PARENT_RUN_TAG } from '../../src/tracking';
import { unusedPort } from '../support/stack';

describe('MLflow client against the local server', () => {
  const client = MlflowClient.fromEnvironment(loadEnvironment());
  const experimentName = `whorl-test-${randomUUID()}`;
  let experimentId: string;

  before(async () => {
    experimentId = await client.getOrCreateExperiment(experimentName);
  });

  it('returns the same experiment id on a second call', async () => {
    assert.equal(await client.getOrCreateExperiment(experimentName), experimentId);
  });

  it('records params, tags and the final status', async () => {
    const run = await client.createRun({ experimentId, runName: 'params', tags: { stage: 'sensor' } });
    await client.logParams(run.runId, { learningRate: 0.001, backbone: 'vgg19-shallow', augment: true });
    await client.endRun(run.runId, 'FINISHED');
    const stored = await client.getRun(run.runId);
    assert.equal(stored.params.learningRate, '0.001');
    assert.equal(stored.params.augment, 'true');
    assert.equal(stored.tags.stage, 'sensor');
    assert.equal(stored.info.status, 'FINISHED');
    assert.equal(stored.info.runName, 'params');
  });

  it('keeps the first param values', async () => {
    const run = await client.createRun({ experimentId, runName: 'params-once' });
    assert.deepEqual(await client.logParamsOnce(run.runId, { backend: 'wasm', threads: 1 }), []);
    assert.deepEqual(await client.logParamsOnce(run.runId, { backend: 'tensorflow', threads: 1, epochs: 3 }), ['backend']);
    const stored = await client.getRun(run.runId);
    assert.deepEqual(stored.params, { backend: 'wasm', threads: '1', epochs: '3' });
    assert.equal(stored.tags[`${PARAM_CHANGED_TAG_PREFIX}backend`], 'wasm → tensorflow');
    assert.equal(stored.tags[`${PARAM_CHANGED_TAG_PREFIX}threads`], undefined);
  });

  it('keeps the metric history of more points than one batch holds', async () => {
    const run = await client.createRun({ experimentId, runName: 'history' });
    const metrics = Array.from({ length: 1500 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1), step }));
    await client.logBatch(run.runId, { metrics });
    const history = await client.getMetricHistory(run.runId, 'loss');
    assert.equal(history.length, 1500);
    assert.equal(history[0].step, 0);
    assert.equal(history[1499].step, 1499);
    assert.ok(Math.abs(history[9].value - 0.1) < 1e-12);
    assert.equal((await client.getRun(run.runId)).metrics.loss, 1 / 1500);
  });

  it('stores NaN and infinite metric values', async () => {
    const run = await client.createRun({ experimentId, runName: 'non-finite' });
    await client.logBatch(run.runId, { metrics: [{ key: 'ratio', value: Number.NaN }, { key: 'bound', value: Number.POSITIVE_INFINITY }, { key: 'floor', value: Number.NEGATIVE_INFINITY }] });
    const stored = await client.getRun(run.runId);
    assert.ok(Number.isNaN(Number(stored.metrics.ratio)), `ratio is ${stored.metrics.ratio}`);
    // MLflow 3.17 stores infinities as the largest finite doubles.
    assert.ok(Number(stored.metrics.bound) >= Number.MAX_VALUE, `bound is ${stored.metrics.bound}`);
    assert.ok(Number(stored.metrics.floor) <= -Number.MAX_VALUE, `floor is ${stored.metrics.floor}`);
  });

  it('links nested runs to their parent and finds them by tag', async () => {
    const parent = await client.createRun({ experimentId, runName: 'pipeline', tags: { 'whorl.kind': 'pipeline' } });
    const shallow = await client.createRun({ experimentId, runName: 'shallow', parentRunId: parent.runId, tags: { variant: 'shallow' } });
    const deep = await client.createRun({ experimentId, runName: 'deep', parentRunId: parent.runId, tags: { variant: 'deep' } });
    const children = await client.searchRuns({ experimentIds: [experimentId], filter: `tags.\`${PARENT_RUN_TAG}\` = '${parent.runId}'` });
    assert.deepEqual(children.map((run) => run.info.runId).sort(), [shallow.runId, deep.runId].sort());
    const onlyDeep = await client.searchRuns({ experimentIds: [experimentId], filter: `tags.variant = 'deep'` });
    assert.deepEqual(onlyDeep.map((run) => run.info.runId), [deep.runId]);
  });

  it('uploads artifacts to the run location that the server then lists', async () => {
    const run = await client.createRun({ experimentId, runName: 'artifacts' });
    assert.match(run.artifactUri, /^s3:\/\//);
    await client.logArtifact(run, 'reports/summary.json', JSON.stringify({ ccr: 0.99 }), 'application/json');
    const listed = await client.listArtifacts(run.runId, 'reports');
    assert.deepEqual(listed.map((file) => file.path), ['reports/summary.json']);
    assert.equal(listed[0].sizeBytes, JSON.stringify({ ccr: 0.99 }).length);
  });

  it('raises MlflowRequestError with the server error code', async () => {
    await assert.rejects(client.getRun('0000000000000000000000000000dead'), (error: Error) => {
      assert.ok(error instanceof MlflowRequestError, `expected MlflowRequestError, got ${error.name}`);
      assert.equal(error.errorCode, 'RESOURCE_DOES_NOT_EXIST');
      return true;
    });
  });

  it('names the address and the fix when the server is unreachable', async () => {
    const port = await unusedPort();
    const offline = new MlflowClient({ trackingUri: `http://127.0.0.1:${port}` });
    await assert.rejects(offline.getExperimentByName('x'), (error: Error) => {
      assert.ok(error instanceof EndpointUnreachableError, `expected EndpointUnreachableError, got ${error.name}`);
      assert.ok(error.message.includes(`cannot reach MLflow at http://127.0.0.1:${port} (ECONNREFUSED)`), error.message);
      assert.match(error.message, /WHORL_MLFLOW_URI/);
      return true;
    });
  });

  it('logs a delivered batch once after a retry', async () => {
    // A loopback proxy that forwards the first log-batch request to MLflow, then drops the client's connection, so the client sends the batch again.
    const environment = loadEnvironment();
    const run = await client.createRun({ experimentId, runName: 'retried-batch' });
    let batches = 0;
    const proxy = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        void (async () => {
          const forwarded = await fetch(environment.mlflow.uri + (request.url ?? ''), {
            method: request.method,
            headers: { 'content-type': request.headers['content-type'] ?? 'application/json' },
            body: request.method === 'POST' ? Buffer.concat(chunks) : undefined,
          });
          const text = await forwarded.text();
          if (request.url?.endsWith('/runs/log-batch') === true && ++batches === 1) {
            request.socket.destroy();
            return;
          }
          response.writeHead(forwarded.status, { 'content-type': 'application/json' });
          response.end(text);
        })();
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as AddressInfo;
      const retrying = new MlflowClient({ trackingUri: `http://127.0.0.1:${port}` });
      await retrying.logBatch(run.runId, { metrics: [0, 1, 2].map((step) => ({ key: 'loss', value: 1 / (step + 1), step })), params: { lr: 0.001 } });
      assert.equal(batches, 2);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
    const history = await client.getMetricHistory(run.runId, 'loss');
    assert.deepEqual(
      history.map((point) => point.step),
      [0, 1, 2],
    );
    assert.equal((await client.getRun(run.runId)).params.lr, '0.001');
  });

  it('sends a request again when the connection closes under it', async () => {
    // A loopback server that drops the first connection without a reply, as a server closing an idle kept-alive connection does.
    let connections = 0;
    const server = createServer((request, response) => {
      connections++;
      if (connections === 1) {
        request.socket.destroy();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ experiment: { experiment_id: '7' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const flaky = new MlflowClient({ trackingUri: `http://127.0.0.1:${port}` });
      assert.equal(await flaky.getExperimentByName('x'), '7');
      assert.equal(connections, 2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
