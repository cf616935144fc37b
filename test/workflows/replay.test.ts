import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../../workers/create-worker';

const HISTORY_DIR = join(__dirname, '..', 'histories');

/**
 * Replays histories of real runs against the current workflow code. A change
 * that makes a workflow non-deterministic (a reordered activity call, say)
 * fails here instead of breaking runs that are in flight.
 */
describe('workflow replay', function () {
  this.timeout(180_000);
  const files = readdirSync(HISTORY_DIR).filter((name) => name.endsWith('.json') && name !== 'workflow-ids.json').sort();
  const workflowIds = JSON.parse(readFileSync(join(HISTORY_DIR, 'workflow-ids.json'), 'utf8')) as Record<string, string>;

  it('finds recorded histories', () => {
    assert.ok(files.length >= 2, `expected recorded histories in ${HISTORY_DIR}, found ${files.join(', ')}`);
  });

  it('replays every recorded history without nondeterminism', async () => {
    const workflowBundle = await bundleWorkflows();
    const histories = files.map((file) => {
      const name = file.replace(/\.json$/, '');
      return { workflowId: workflowIds[name] ?? name, history: historyFromJSON(JSON.parse(readFileSync(join(HISTORY_DIR, file), 'utf8'))) };
    });
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      if (result.error !== undefined) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
  });
});
