// CPU-class worker: dataset preparation, index building, evaluation.
// Usage: node scripts/worker.cjs cpu [CONFIG]
import { runWorkerProcess } from './run-worker';

runWorkerProcess('cpu').catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
