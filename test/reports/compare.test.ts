import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { loadEnvironment } from '../../src/config/environment';
import { UserInputError } from '../../src/config/errors';
import { buildComparisonPage, loadComparedRuns } from '../../src/reports';
import { MlflowClient } from '../../src/tracking';
import { comparedRunsFixture } from './fixtures';

describe('comparison page', function () {
  this.timeout(120_000);

  it('shows runs side by side with differing params first', async () => {
    const built = await buildComparisonPage(comparedRunsFixture());
    assert.match(built.html, /<h1>Comparison of 2 runs: sensor-shallow, sensor-deep<\/h1>/);
    const params = built.html.slice(built.html.indexOf('<section id="params">'));
    assert.ok(params.indexOf('<strong>backbone</strong>') < params.indexOf('>epochs<'), 'differing param not listed first');
    assert.match(params, /<td>vgg19-shallow<\/td><td>resnet50-deep<\/td>/);
  });

  it('plots shared fractions and every metric history', async () => {
    const built = await buildComparisonPage(comparedRunsFixture());
    assert.deepEqual(Object.keys(built.images), ['final-metrics', 'history-train-loss', 'history-validation-accuracy']);
    for (const [name, image] of Object.entries(built.images)) {
      assert.ok(built.html.includes(`id="plot-${name}" src="data:image/png;base64,${Buffer.from(image.png).toString('base64')}"`), `plot ${name} not embedded`);
    }
    assert.doesNotMatch(built.html, /\s(src|href)="(?!data:|#)/);
  });

  it('labels runs with the same name apart', async () => {
    const [first] = comparedRunsFixture();
    const built = await buildComparisonPage([first, { ...first, runId: 'f'.repeat(32) }]);
    assert.match(built.html, /<th>sensor-shallow<\/th><th>sensor-shallow #2<\/th>/);
  });

  it('rejects an empty run list', async () => {
    await assert.rejects(buildComparisonPage([]), UserInputError);
  });

  describe('from MLflow', () => {
    const client = MlflowClient.fromEnvironment(loadEnvironment());
    let experimentId: string;
    const runIds: string[] = [];

    before(async () => {
      experimentId = await client.getOrCreateExperiment(`whorl-test-compare-${randomUUID()}`);
      for (const fixture of comparedRunsFixture()) {
        const created = await client.createRun({ experimentId, runName: fixture.runName });
        await client.logBatch(created.runId, {
          params: fixture.params,
          metrics: Object.entries(fixture.histories).flatMap(([key, history]) => history.map((point) => ({ key, value: point.value, step: point.step }))),
        });
        await client.endRun(created.runId, 'FINISHED');
        runIds.push(created.runId);
      }
    });

    it('loads runs by id with their metric histories', async () => {
      const runs = await loadComparedRuns(client, runIds);
      assert.deepEqual(runs.map((run) => run.runName), ['sensor-shallow', 'sensor-deep']);
      const expected = comparedRunsFixture();
      assert.deepEqual(runs[1].histories['validation-accuracy'], expected[1].histories['validation-accuracy']);
      assert.equal(runs[0].metrics['train-loss'], expected[0].metrics['train-loss']);
      assert.equal(runs[0].params.backbone, 'vgg19-shallow');
      assert.equal(runs[0].status, 'FINISHED');
    });

    it('finds runs by name within an experiment', async () => {
      const runs = await loadComparedRuns(client, ['sensor-deep'], { experimentId });
      assert.deepEqual(runs.map((run) => run.runId), [runIds[1]]);
    });

    it('names a run that is not found', async () => {
      await assert.rejects(loadComparedRuns(client, ['no-such-run'], { experimentId }), /run "no-such-run" not found in MLflow experiment/);
      await assert.rejects(loadComparedRuns(client, ['no-such-run']), /expected a 32-digit hex MLflow run id/);
    });

    it('builds a page from the loaded runs', async () => {
      const built = await buildComparisonPage(await loadComparedRuns(client, runIds));
      assert.ok('history-validation-accuracy' in built.images);
      assert.ok(built.html.includes(runIds[0]));
    });
  });
});
