import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { LabelledMatches, ShardToLoad } from './shard-set';
import type { WorkerReply, WorkerRequest } from './worker-messages';

type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'requestId'> : never) : never;

/**
 * Worker threads that each keep some shards in a ShardSet. A worker replies
 * to requests in the order they were sent. When a worker exits, its pending
 * requests are rejected and later requests to it fail.
 */
export class ShardWorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void; worker: number }>();
  private readonly exited = new Set<number>();
  private nextRequestId = 1;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(join(__dirname, 'shard-worker.cjs'));
      worker.on('message', (reply: WorkerReply) => {
        const entry = this.pending.get(reply.requestId);
        if (entry === undefined) return;
        this.pending.delete(reply.requestId);
        entry.resolve(reply);
      });
      worker.on('error', (error) => this.failWorker(i, error));
      worker.on('exit', (code) => this.failWorker(i, new Error(`search worker ${i} exited with code ${code}`)));
      this.workers.push(worker);
    }
  }

  async load(worker: number, version: number, shards: ShardToLoad[], tombstones: Float64Array): Promise<void> {
    await this.request(worker, { type: 'load', version, shards, tombstones });
  }

  async retain(worker: number, version: number): Promise<void> {
    await this.request(worker, { type: 'retain', version });
  }

  async search(worker: number, version: number, queries: Uint8Array, queryCount: number, k: number): Promise<LabelledMatches> {
    return (await this.request(worker, { type: 'search', version, queries, queryCount, k })) as LabelledMatches;
  }

  async rangeSearch(worker: number, version: number, queries: Uint8Array, queryCount: number, radius: number): Promise<LabelledMatches> {
    return (await this.request(worker, { type: 'rangeSearch', version, queries, queryCount, radius })) as LabelledMatches;
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  private request(worker: number, body: RequestBody): Promise<LabelledMatches | undefined> {
    if (this.exited.has(worker) || worker >= this.workers.length) {
      return Promise.reject(new Error(`search worker ${worker} is not running; restart the search service`));
    }
    const requestId = this.nextRequestId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject, worker });
      this.workers[worker].postMessage({ ...body, requestId } as WorkerRequest);
    }).then((reply) => {
      if (!reply.ok) {
        const error = new Error(reply.message);
        error.name = reply.errorName;
        throw error;
      }
      return reply.matches;
    });
  }

  private failWorker(worker: number, error: Error): void {
    this.exited.add(worker);
    for (const [requestId, entry] of this.pending) {
      if (entry.worker !== worker) continue;
      this.pending.delete(requestId);
      entry.reject(error);
    }
  }
}
