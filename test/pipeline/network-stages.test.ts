import { strict as assert } from 'node:assert';
import { loadEnvironment } from '../../src/config/environment';
import { networkSummaryLines, runPipeline } from '../../src/cli/pipeline-command';
import { reportKeys } from '../../src/reports/publish';
import { parseRunReportJson } from '../../src/reports/run-report-json';
import { createStore } from '../../src/storage';

const NETWORK_STAGES = ['sensor-shallow', 'sensor-deep', 'alignment'];

describe('pipeline network stages', function () {
  this.timeout(900_000);
  const configPath = 'test/fixtures/pipeline-networks.yaml';

  it('trains sensor and alignment nets, then reuses them', async () => {
    const first = await runPipeline({ configPath, startStack: false, startWorkers: true, runKey: `networks-${Date.now()}` });
    const stages = first.summary.progress.stages;
    assert.deepEqual(
      stages.map((stage) => stage.stage),
      ['prepare', ...NETWORK_STAGES, 'hashing', 'encode', 'index', 'evaluate', 'report'],
    );
    for (const stage of stages) assert.ok(stage.status === 'done' || stage.status === 'cached', `${stage.stage} ended ${stage.status}: ${stage.detail ?? ''}`);

    // The three network stages run before hashing starts.
    const hashingStart = stages.find((stage) => stage.stage === 'hashing')?.startedAtMs ?? 0;
    for (const stage of stages.filter((entry) => NETWORK_STAGES.includes(entry.stage))) {
      assert.ok((stage.finishedAtMs ?? Infinity) <= hashingStart, `${stage.stage} finished after hashing started`);
    }

    const { summary } = first;
    assert.deepEqual(summary.sensor.map((row) => row.variant), ['shallow', 'deep']);
    for (const row of summary.sensor) assert.ok(row.ccr >= 0 && row.ccr <= 1, `CCR of ${row.variant} is ${row.ccr}`);
    assert.equal(summary.alignment?.pairs, 8);
    assert.ok((summary.alignment?.gridErrorBeforePx ?? 0) > 0, 'synthetic pairs are warped, so the error before alignment is positive');
    assert.ok(Number.isFinite(summary.alignment?.gridErrorAfterPx), 'the error after alignment is a number');
    const lines = networkSummaryLines(summary);
    assert.match(lines[0], /^CCR shallow vs deep: \d+\.\d% vs \d+\.\d%/);
    assert.match(lines[1], /^alignment grid error before\/after: \d+\.\d\d px \/ \d+\.\d\d px/);

    const store = createStore(loadEnvironment());
    const report = parseRunReportJson(Buffer.from(await store.get(reportKeys(summary.runKey).runReport)).toString('utf8'), summary.runKey);
    assert.deepEqual(report.sensorClassification?.variants.map((variant) => variant.variant), ['shallow', 'deep']);
    assert.deepEqual(report.sensorClassification?.sensors.length, 2);
    assert.deepEqual([...new Set(report.robustness?.map((curve) => curve.perturbation))].sort(), ['noise', 'occlusion', 'rotation']);
    assert.deepEqual(
      report.training?.map((history) => history.network),
      ['sensor-shallow', 'sensor-deep', 'alignment'],
    );
    for (const history of report.training ?? []) assert.equal(history.epochs.length, 1, `${history.network} has one epoch`);
    assert.equal(report.alignment?.gridErrorBeforePx.length, 8);
    assert.equal(report.alignment?.gridErrorAfterPx.length, 8);
    assert.equal(report.alignment?.overlays.length, 2);
    assert.deepEqual(
      report.versions.models.map((model) => model.stage).slice(0, 3),
      ['sensor-shallow', 'sensor-deep', 'alignment'],
    );

    const second = await runPipeline({ configPath, startStack: false, startWorkers: true, runKey: `networks-${Date.now()}-again` });
    for (const stage of second.summary.progress.stages.filter((entry) => NETWORK_STAGES.includes(entry.stage))) {
      assert.equal(stage.status, 'cached', `${stage.stage} should be served from cache`);
    }
    assert.deepEqual(second.summary.sensor, summary.sensor);
    assert.deepEqual(second.summary.alignment, summary.alignment);
  });
});
