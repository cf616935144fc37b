import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { compareCommand } from '../../src/cli/compare-command';
import { loadEnvironment } from '../../src/config/environment';
import { MlflowClient } from '../../src/tracking';

describe('compare --runs', function () {
  this.timeout(120_000);

  it('writes one page with every named run', async () => {
    const client = MlflowClient.fromEnvironment(loadEnvironment());
    const experiment = `whorl-compare-${randomUUID()}`;
    const experimentId = await client.getOrCreateExperiment(experiment);
    const runNames = ['hashing-dh-64', 'hashing-itq-64'];
    for (const [index, runName] of runNames.entries()) {
      const run = await client.createRun({ experimentId, runName });
      await client.logBatch(run.runId, { params: { kind: runName }, metrics: [0.5, 0.4, 0.3].map((value, step) => ({ key: 'loss', value: value + index / 10, step })) });
      await client.endRun(run.runId);
    }

    const html = join(mkdtempSync(join(tmpdir(), 'whorl-compare-')), 'comparison.html');
    await compareCommand().parseAsync(['--experiment', experiment, '--runs', runNames.join(','), '--html', html], { from: 'user' });
    const page = readFileSync(html, 'utf8');
    for (const runName of runNames) assert.ok(page.includes(runName), `the page should name ${runName}`);
    assert.ok(page.includes('data:image/png;base64,') || page.includes('<svg'), 'the page should embed a chart');
  });
});
