import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadEnvironment } from '../../src/config/environment';
import { UserInputError } from '../../src/config/errors';
import { loadRunReport, reportKeys, reportRun, serializeRunReport, storeRunReport, REPORT_ARTIFACT_PATH } from '../../src/reports';
import { FilesystemStore, type ObjectStore } from '../../src/storage';
import { MlflowClient } from '../../src/tracking';
import { localS3Store } from '../support/stack';
import { fixtureFailedRunReport, fixtureRunReport } from './fixtures';

const run = promisify(execFile);

/** Returns a run key that no other test uses, so tests never see each other's reports. */
function uniqueRunKey(label: string): string {
  return `test-${label}-${randomUUID()}`;
}

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['scripts/whorl.cjs', ...args], { timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('report publishing to object storage', function () {
  this.timeout(120_000);

  it('writes the report to a filesystem store', async () => {
    const store = new FilesystemStore(mkdtempSync(join(tmpdir(), 'whorl-report-')));
    const runKey = uniqueRunKey('filesystem');
    const published = await reportRun(store, fixtureFailedRunReport(runKey));
    const keys = reportKeys(runKey);
    assert.equal(published.htmlKey, keys.html);
    assert.equal(published.runReportKey, keys.runReport);
    assert.equal(published.artifactUri, undefined);
    const html = Buffer.from(await store.get(keys.html)).toString('utf8');
    assert.match(html, /Stage train-sensor-deep failed/);
    assert.ok(published.imageKeys.includes(keys.plot('training-sensor-shallow', 'png')));
    assert.ok(published.imageKeys.includes(keys.plot('training-sensor-shallow', 'svg')));
  });

  describe('against MinIO and MLflow', () => {
    let store: ObjectStore;
    let client: MlflowClient;
    let experimentId: string;

    before(async () => {
      store = localS3Store();
      client = MlflowClient.fromEnvironment(loadEnvironment());
      experimentId = await client.getOrCreateExperiment(`whorl-test-reports-${randomUUID()}`);
    });

    it('stores the run report, plots and page, and logs the page to MLflow', async () => {
      const runKey = uniqueRunKey('s3');
      const mlflowRun = await client.createRun({ experimentId, runName: runKey });
      const report = fixtureRunReport(runKey);
      report.tracking = { trackingUri: client.trackingUri, experimentId, runId: mlflowRun.runId };

      const published = await reportRun(store, report, { client, run: mlflowRun });

      const keys = reportKeys(runKey);
      const listed = (await store.list(keys.prefix)).map((info) => info.key);
      assert.ok(listed.includes(keys.runReport));
      assert.ok(listed.includes(keys.html));
      assert.equal(listed.filter((key) => key.startsWith(`${keys.prefix}plots/`)).length, published.imageKeys.length);
      assert.equal(published.imageKeys.length, 36);
      const svg = Buffer.from(await store.get(keys.plot('ccr-per-sensor', 'svg'))).toString('utf8');
      assert.match(svg, /^<svg/);

      assert.equal(published.artifactUri, `${mlflowRun.artifactUri}/${REPORT_ARTIFACT_PATH}`);
      const artifacts = await client.listArtifacts(mlflowRun.runId, 'report');
      assert.deepEqual(artifacts.map((artifact) => artifact.path), [REPORT_ARTIFACT_PATH]);
      const html = Buffer.from(await store.get(keys.html));
      assert.equal(artifacts[0].sizeBytes, html.length);
    });

    it('loads the stored run report unchanged', async () => {
      const runKey = uniqueRunKey('load');
      const report = fixtureRunReport(runKey);
      await storeRunReport(store, report);
      assert.deepEqual(await loadRunReport(store, runKey), report);
    });

    it('names the key when no run report exists', async () => {
      const runKey = uniqueRunKey('missing');
      await assert.rejects(loadRunReport(store, runKey), (error: Error) => {
        assert.ok(error instanceof UserInputError, `expected UserInputError, got ${error.name}`);
        assert.match(error.message, new RegExp(`no run report for run "${runKey}": reports/${runKey}/run-report.json not found`));
        return true;
      });
    });

    it('rejects a run report stored under another run key', async () => {
      const runKey = uniqueRunKey('moved');
      await store.put(reportKeys(runKey).runReport, serializeRunReport(fixtureRunReport('some-other-run')));
      await assert.rejects(loadRunReport(store, runKey), /names run "some-other-run", expected/);
    });

    it('rejects an invalid stored run report', async () => {
      const runKey = uniqueRunKey('invalid');
      const text = serializeRunReport(fixtureRunReport(runKey)).replace('"status": "succeeded"', '"status": "done"');
      await store.put(reportKeys(runKey).runReport, text);
      await assert.rejects(loadRunReport(store, runKey), /invalid run report .*run-report\.json:\n {2}status: /);
    });

    it('rebuilds a report with the CLI', async () => {
      const runKey = uniqueRunKey('cli');
      const mlflowRun = await client.createRun({ experimentId, runName: runKey });
      const report = fixtureFailedRunReport(runKey);
      report.tracking = { runId: mlflowRun.runId };
      await storeRunReport(store, report);
      const outPath = join(mkdtempSync(join(tmpdir(), 'whorl-report-cli-')), 'report.html');

      const result = await runCli(['report', runKey, '--out', outPath]);

      assert.equal(result.code, 0, result.stderr);
      assert.ok(existsSync(outPath));
      assert.match(readFileSync(outPath, 'utf8'), /Stage train-sensor-deep failed/);
      assert.match(result.stdout, new RegExp(`report published to s3://[^/]+/reports/${runKey}/report.html`));
      assert.match(result.stdout, new RegExp(`report logged to MLflow run ${mlflowRun.runId}`));
      assert.ok(await store.head(reportKeys(runKey).html));
      assert.deepEqual((await client.listArtifacts(mlflowRun.runId, 'report')).map((artifact) => artifact.path), [REPORT_ARTIFACT_PATH]);
    });

    it('exits with an error for an unknown run', async () => {
      const runKey = uniqueRunKey('unknown');
      const result = await runCli(['report', runKey, '--no-publish']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`error: no run report for run "${runKey}"`));
    });
  });
});
