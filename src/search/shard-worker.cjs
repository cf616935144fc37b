// Entry of a search worker thread: worker_threads cannot start a .ts file
// directly, so this loads tsx's CommonJS hook and then the TypeScript worker.
require('tsx/cjs');
require('./shard-worker.ts');
