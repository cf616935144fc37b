#!/usr/bin/env node
// Drives a workload on remote workers and prints JSON-line events:
// `node scripts/multihost/drive-workload.cjs WORKLOAD CONFIG [run|handover]`.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs');
const { driveWorkload } = require('../../src/multihost/drive-workload.ts');
// Messages of the error and of each cause, such as the gRPC status behind "Failed to start Workflow".
function messageChain(error) {
  const messages = [];
  for (let current = error; current !== undefined && current !== null && messages.length < 5; current = current.cause) {
    messages.push(current instanceof Error ? current.message : String(current));
  }
  return messages.join(': ');
}

driveWorkload(process.argv.slice(2)).catch((error) => {
  process.stdout.write(JSON.stringify({ event: 'failed', message: messageChain(error) }) + '\n');
  process.exitCode = 1;
});
