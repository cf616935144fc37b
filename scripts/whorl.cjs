#!/usr/bin/env node
// Entry point of the `whorl` CLI: loads TypeScript sources through tsx, so no
// build step sits between a checkout and a run.
// The AWS SDK warns on Node 20 that releases after January 2027 will need
// Node 22; package-lock.json pins a release that supports Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs');
require('../src/cli/main.ts');
