import { strict as assert } from 'node:assert';
import { mlflowRunUrl, pipelineStatusLines, requirePipelineConfig, runPipeline } from '../../src/cli/pipeline-command';
import { loadEnvironment } from '../../src/config/environment';
import { UserInputError } from '../../src/config/errors';
import { parseRunConfig } from '../../src/config/run-config';
import { connectClient } from '../../src/orchestration/client';
import { reportKeys } from '../../src/reports/publish';
import { parseRunReportJson } from '../../src/reports/run-report-json';
import { createStore, readCurrentVersion } from '../../src/storage';

const RETRIEVAL_STAGES = ['hashing', 'encode', 'index', 'evaluate'];

describe('pipeline config sections', () => {
  const data = { sources: [{ name: 'synthetic', layout: 'synthetic', synthetic: { fingers: 4 } }] };
  const hashing = { kinds: ['lsh'], codeLengthsBits: [32], indexed: { kind: 'lsh', codeLengthBits: 32 } };

  /** Asserts that requirePipelineConfig rejects the config with a UserInputError matching every pattern. */
  function assertRejected(config: Record<string, unknown>, patterns: RegExp[]): void {
    const parsed = parseRunConfig({ name: 'sections', ...config }, 'inline.yaml');
    assert.throws(
      () => requirePipelineConfig(parsed, 'inline.yaml'),
      (error: Error) => {
        assert.ok(error instanceof UserInputError, `expected a UserInputError, got ${error.name}`);
        for (const pattern of patterns) assert.match(error.message, pattern);
        return true;
      },
    );
  }

  it('rejects a config without data', () => {
    assertRejected({ sensor: { variants: ['deep'] } }, [/inline\.yaml lacks the data section/, /configs\/sensor-protocol\.yaml/]);
  });

  it('rejects hashing or index alone', () => {
    assertRejected({ data, hashing }, [/has a hashing section but no index section/, /index: \{ name: sections \}/]);
    assertRejected({ data, index: { name: 'sections' } }, [/has an index section but no hashing section/]);
  });

  it('rejects a config with nothing to train', () => {
    assertRejected({ data }, [/gives the pipeline nothing to train/, /a sensor section or an alignment section/]);
  });

  it('accepts a sensor section alone', () => {
    const config = requirePipelineConfig(parseRunConfig({ name: 'sections', data, sensor: { variants: ['shallow'] } }, 'inline.yaml'), 'inline.yaml');
    assert.equal(config.hashing, undefined);
    assert.deepEqual(config.sensor?.variants, ['shallow']);
  });
});

describe('pipeline without hashing', function () {
  this.timeout(600_000);

  it('skips the retrieval stages', async () => {
    const { summary, workflowId } = await runPipeline({ configPath: 'test/fixtures/pipeline-sensor-only.yaml', startStack: false, startWorkers: true, runKey: `sensor-only-${Date.now()}` });
    const byStage = new Map(summary.progress.stages.map((stage) => [stage.stage, stage]));
    for (const stage of ['prepare', 'sensor-shallow', 'report']) {
      const status = byStage.get(stage)?.status;
      assert.ok(status === 'done' || status === 'cached', `${stage} ended ${status}`);
    }
    assert.equal(byStage.get('sensor-deep')?.status, 'skipped');
    for (const stage of RETRIEVAL_STAGES) {
      assert.equal(byStage.get(stage)?.status, 'skipped', `${stage} should be skipped`);
      assert.equal(byStage.get(stage)?.detail, 'the run config has no hashing and index sections');
    }
    assert.equal(mlflowRunUrl('http://127.0.0.1:5000/', summary), `http://127.0.0.1:5000/#/experiments/${summary.mlflowExperimentId}/runs/${summary.mlflowRunId}`);
    assert.match(summary.mlflowExperimentId ?? '', /^\d+$/);
    assert.equal(summary.index, undefined);
    assert.deepEqual(summary.retrieval, []);
    assert.deepEqual(summary.sensor.map((row) => row.variant), ['shallow']);
    assert.ok(summary.sensor[0].ccr >= 0, `CCR is ${summary.sensor[0].ccr}`);
    assert.ok(summary.sensor[0].ccr <= 1, `CCR is ${summary.sensor[0].ccr}`);

    const store = createStore(loadEnvironment());
    assert.equal(await readCurrentVersion(store, 'index/pipeline-sensor-only/'), undefined, 'a run without hashing published an index');
    const report = parseRunReportJson(Buffer.from(await store.get(reportKeys(summary.runKey).runReport)).toString('utf8'), summary.runKey);
    assert.equal(report.status, 'succeeded');
    assert.equal(report.stages.find((stage) => stage.name === 'report')?.status, 'succeeded', 'the page shows its own stage as running');
    const html = Buffer.from(await store.get(reportKeys(summary.runKey).html)).toString('utf8');
    assert.match(html, /The run config turns the robustness tables off \(sensor\.robustness: false\)/);
    assert.deepEqual(report.sensorClassification?.variants.map((variant) => variant.variant), ['shallow']);
    assert.deepEqual(report.retrieval?.results ?? [], []);

    const client = await connectClient(loadEnvironment());
    try {
      const lines = await pipelineStatusLines(client.workflow.getHandle(workflowId));
      assert.match(lines[0], new RegExp(`^${workflowId}: COMPLETED at `));
      assert.match(lines[lines.length - 1], /^report: /);
    } finally {
      await client.connection.close();
    }
  });
});
