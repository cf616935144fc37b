import type { LabelledMatches, ShardToLoad } from './shard-set';

/** Requests from the searching thread to a search worker. */
export type WorkerRequest =
  | { type: 'load'; requestId: number; version: number; shards: ShardToLoad[]; tombstones: Float64Array }
  | { type: 'retain'; requestId: number; version: number }
  | { type: 'search'; requestId: number; version: number; queries: Uint8Array; queryCount: number; k: number }
  | { type: 'rangeSearch'; requestId: number; version: number; queries: Uint8Array; queryCount: number; radius: number };

/** Replies from a search worker; `matches` is set for search and rangeSearch requests. */
export type WorkerReply =
  | { requestId: number; ok: true; matches?: LabelledMatches }
  | { requestId: number; ok: false; message: string; errorName: string };
