import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorkerProcess, stopWorkerProcess } from '../../src/orchestration/worker-processes';

describe('worker process', () => {
  it('starts polling and stops gracefully on SIGTERM', async function () {
    this.timeout(120_000);
    const logDir = mkdtempSync(join(tmpdir(), 'whorl-worker-'));
    const worker = startWorkerProcess({ queueClass: 'cpu', configPath: 'configs/demo.yaml', logDir });
    await worker.ready;
    await stopWorkerProcess(worker);
    assert.equal(await worker.exited, 0);
    const log = readFileSync(worker.logPath, 'utf8');
    assert.match(log, /"msg":"worker started"/);
    assert.match(log, /"msg":"worker stopped"/);
  });

  it('fails fast with the log path on an invalid config', async function () {
    this.timeout(60_000);
    const logDir = mkdtempSync(join(tmpdir(), 'whorl-worker-'));
    const worker = startWorkerProcess({ queueClass: 'gpu', configPath: '/nonexistent.yaml', logDir });
    await assert.rejects(worker.ready, /gpu worker exited with code 1 before it started; see .*worker-gpu\.log/);
    assert.match(readFileSync(worker.logPath, 'utf8'), /cannot read run config \/nonexistent\.yaml/);
  });
});
