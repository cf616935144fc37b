// GPU-class worker: network training and gallery encoding.
// Usage: node scripts/worker.cjs gpu [CONFIG]
import { runWorkerProcess } from './run-worker';

runWorkerProcess('gpu').catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
