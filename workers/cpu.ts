// CPU-class worker: dataset preparation, index building, evaluation.
// Usage: node scripts/worker.cjs cpu [CONFIG]
import { main } from './run-worker';

main('cpu');
