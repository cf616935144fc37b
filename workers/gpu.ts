// GPU-class worker: network training and gallery encoding.
// Usage: node scripts/worker.cjs gpu [CONFIG]
import { main } from './run-worker';

main('gpu');
