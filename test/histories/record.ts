// Records the event history of finished workflow runs into test/histories/,
// where test/workflows/replay.test.ts replays them against the current
// workflow code. It uses `temporal workflow show --output json` from the local
// stack, whose JSON is the form the SDK's historyFromJSON reads.
// Usage: npx tsx test/histories/record.ts NAME=WORKFLOW_ID ...
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEnvironment } from '../../src/config/environment';
import { installedPaths } from '../../src/stack/install';
import { loadStackVersions } from '../../src/stack/versions';

const environment = loadEnvironment();
// Replay needs each run's workflow id, because child workflow ids derive from it.
const idsPath = join(__dirname, 'workflow-ids.json');
const workflowIds = (existsSync(idsPath) ? JSON.parse(readFileSync(idsPath, 'utf8')) : {}) as Record<string, string>;
const temporal = installedPaths(environment.cacheDir, loadStackVersions()).temporalBinary;

for (const argument of process.argv.slice(2)) {
  const [name, workflowId] = argument.split('=');
  if (name === undefined || workflowId === undefined || !/^[a-z0-9-]+$/.test(name)) {
    throw new Error(`invalid argument "${argument}": expected NAME=WORKFLOW_ID with NAME in lowercase letters, digits and dashes`);
  }
  const json = execFileSync(temporal, ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', environment.temporal.address, '--namespace', environment.temporal.namespace]);
  const path = join(__dirname, `${name}.json`);
  writeFileSync(path, json);
  workflowIds[name] = workflowId;
  writeFileSync(idsPath, JSON.stringify(workflowIds, null, 2) + '\n');
  console.log(`wrote ${path} (${(JSON.parse(json.toString('utf8')) as { events: unknown[] }).events.length} events of ${workflowId})`);
}
