#!/usr/bin/env node
// Starts a worker process: `node scripts/worker.cjs cpu|gpu [CONFIG]`.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs');
const queueClass = process.argv[2];
if (queueClass !== 'cpu' && queueClass !== 'gpu') {
  console.error(`error: invalid worker class "${queueClass ?? ''}": expected cpu or gpu, as in "node scripts/worker.cjs cpu configs/demo.yaml"`);
  process.exit(2);
}
process.argv.splice(2, 1);
require(`../workers/${queueClass}.ts`);
