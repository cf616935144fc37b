import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkSourceFolders, pipelineStatusLines, requirePipelineConfig, runPipeline } from '../../src/cli/pipeline-command';
import { loadEnvironment } from '../../src/config/environment';
import { UserInputError } from '../../src/config/errors';
import { loadRunConfig } from '../../src/config/run-config';
import { connectClient } from '../../src/orchestration/client';

/** Writes a run config with one FVC-layout source whose root is `root`, beside a scratch folder. */
function configWithRoot(root: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'whorl-status-'));
  const config = {
    name: 'status-check',
    data: { sources: [{ name: 'prints', layout: 'fvc', root }] },
    hashing: { kinds: ['lsh'], codeLengthsBits: [32], indexed: { kind: 'lsh', codeLengthBits: 32 } },
    index: { name: 'status-check' },
  };
  const path = join(folder, 'run.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

describe('pipeline source folder check', () => {
  it('rejects a missing root folder', () => {
    const path = configWithRoot('no-such-folder');
    const config = requirePipelineConfig(loadRunConfig(path), path);
    assert.throws(() => checkSourceFolders(config, path), (error: Error) => {
      assert.ok(error instanceof UserInputError);
      assert.match(error.message, /data\.sources\[0\]\.root of source "prints"/);
      assert.match(error.message, /no-such-folder not found/);
      return true;
    });
  });

  it('accepts an existing root folder', () => {
    // The config's own folder exists, so "." passes.
    const path = configWithRoot('.');
    const config = requirePipelineConfig(loadRunConfig(path), path);
    assert.doesNotThrow(() => checkSourceFolders(config, path));
  });
});

describe('pipeline status', function () {
  this.timeout(600_000);

  it('reports a finished run without workers', async () => {
    const runKey = `status-${Date.now()}`;
    // runPipeline stops its workers when the run ends, so the status below finds none polling.
    const { workflowId } = await runPipeline({ configPath: 'test/fixtures/pipeline-tiny.yaml', startStack: false, startWorkers: true, runKey });
    const client = await connectClient(loadEnvironment());
    try {
      const started = Date.now();
      const lines = await pipelineStatusLines(client.workflow.getHandle(workflowId));
      assert.ok(Date.now() - started < 10_000, 'the status of a finished run waited for a worker');
      assert.match(lines[0], new RegExp(`^${workflowId}: COMPLETED at `));
      for (const stage of ['prepare', 'hashing', 'encode', 'index', 'evaluate', 'report']) {
        assert.ok(lines.some((line) => line.startsWith(stage)), `no line for stage ${stage} in:\n${lines.join('\n')}`);
      }
      assert.ok(lines.some((line) => line.startsWith('index: pipeline-tiny v')), lines.join('\n'));
    } finally {
      await client.connection.close();
    }
  });

  it('rejects an unknown workflow id', async () => {
    const client = await connectClient(loadEnvironment());
    try {
      await assert.rejects(pipelineStatusLines(client.workflow.getHandle('pipeline-no-such-run')), (error: Error) => {
        assert.ok(error instanceof UserInputError, `expected a UserInputError, got ${error.name}`);
        assert.match(error.message, /no pipeline run has the workflow id "pipeline-no-such-run"; "whorl pipeline list" shows the recent ones/);
        return true;
      });
    } finally {
      await client.connection.close();
    }
  });
});
