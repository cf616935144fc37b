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
  const files = readdirSync(HISTORY_DIR).filter((name) => name.endsWith('.json')).sort();

  it('finds recorded histories', () => {
    assert.ok(files.length >= 2, `expected recorded histories in ${HISTORY_DIR}, found ${files.join(', ')}`);
  });

  it('replays every recorded history without nondeterminism', async () => {
    const workflowBundle = await bundleWorkflows();
    const histories = files.map((name) => ({ workflowId: name.replace(/\.json$/, ''), history: historyFromJSON(JSON.parse(readFileSync(join(HISTORY_DIR, name), 'utf8'))) }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      if (result.error !== undefined) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
  });
});
