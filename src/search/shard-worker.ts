import { parentPort } from 'node:worker_threads';
import { ShardSet } from './shard-set';
import type { WorkerReply, WorkerRequest } from './worker-messages';

/** Serves one ShardSet to the searching thread over messages; see ShardWorkerPool. */
function serve(): void {
  const port = parentPort;
  if (port === null) throw new Error('shard-worker.ts must run in a worker thread started by ShardWorkerPool');
  const shards = new ShardSet();

  port.on('message', (request: WorkerRequest) => {
    let reply: WorkerReply;
    try {
      switch (request.type) {
        case 'load':
          shards.load(request.version, request.shards, request.tombstones);
          reply = { requestId: request.requestId, ok: true };
          break;
        case 'retain':
          shards.retainOnly(request.version);
          reply = { requestId: request.requestId, ok: true };
          break;
        case 'search':
          reply = { requestId: request.requestId, ok: true, matches: shards.search(request.version, request.queries, request.queryCount, request.k) };
          break;
        case 'rangeSearch':
          reply = {
            requestId: request.requestId,
            ok: true,
            matches: shards.rangeSearch(request.version, request.queries, request.queryCount, request.radius),
          };
          break;
      }
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      reply = { requestId: request.requestId, ok: false, message: failure.message, errorName: failure.name };
    }
    port.postMessage(reply);
  });
}

serve();
