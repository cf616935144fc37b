/**
 * Hamming search benchmark: our multi-index hash (MIH) and linear scan
 * against faiss IndexBinaryFlat and IndexBinaryMultiHash on the same codes,
 * in one run. Also measures MIH build time, load time of a published index
 * from the object store, and memory per code.
 *
 *   npx tsx bench/index/hamming-bench.ts [--sizes 100000,1000000] [--queries 200]
 *       [--kinds random,clustered] [--python ~/.cache/whorl/venvs/faiss-bench/bin/python] [--no-store]
 *
 * The faiss side needs a virtual environment with faiss-cpu and numpy; see
 * docs/benchmarks.md for the commands that create it. Every index runs on
 * one thread.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadEnvironment } from '../../src/config/environment';
import { createRandom, generateClusteredCodes, generateRandomCodes } from '../../src/index/generators';
import { LinearScanIndex } from '../../src/index/linear-scan-index';
import { MultiIndexHashIndex } from '../../src/index/multi-index-hash-index';
import type { BinaryIndex, SearchResult } from '../../src/index/binary-index';
import { buildIndex, indexRoot } from '../../src/index/index-store';
import { S3Store } from '../../src/storage';
import { ShardedSearcher } from '../../src/search/sharded-searcher';

const BITS = 64;
const KS = [1, 10, 100];

interface Arguments {
  sizes: number[];
  kinds: string[];
  queryCount: number;
  python: string;
  useStore: boolean;
}

function parseArguments(argv: string[]): Arguments {
  const value = (name: string): string | undefined => {
    const position = argv.indexOf(name);
    return position >= 0 ? argv[position + 1] : undefined;
  };
  return {
    sizes: (value('--sizes') ?? '100000,1000000').split(',').map(Number),
    kinds: (value('--kinds') ?? 'random,clustered').split(','),
    queryCount: Number(value('--queries') ?? 200),
    python: value('--python') ?? join(homedir(), '.cache/whorl/venvs/faiss-bench/bin/python'),
    useStore: !argv.includes('--no-store'),
  };
}

/**
 * Queries for clustered codes: gallery codes with 6 random bits flipped, like
 * a second impression of an enrolled finger. Random codes get random queries.
 */
function makeQueries(kind: string, codes: Uint8Array, queryCount: number): Uint8Array {
  if (kind === 'random') return generateRandomCodes({ count: queryCount, codeLengthBits: BITS, seed: 999 });
  const next = createRandom(998);
  const rowBytes = BITS / 8;
  const codeCount = codes.byteLength / rowBytes;
  const queries = new Uint8Array(queryCount * rowBytes);
  for (let q = 0; q < queryCount; q++) {
    const row = next() % codeCount;
    queries.set(codes.subarray(row * rowBytes, (row + 1) * rowBytes), q * rowBytes);
    for (let flip = 0; flip < 6; flip++) {
      const bit = next() % BITS;
      queries[q * rowBytes + (bit >> 3)] ^= 1 << (bit & 7);
    }
  }
  return queries;
}

/**
 * CPU milliseconds per query (process.cpuUsage, user + system), searching one
 * query per call (single) or all queries in one call (batch). CPU time rather
 * than wall time, because the benchmark machine may be shared.
 */
function timeSearch(index: BinaryIndex, queries: Uint8Array, k: number, single: boolean): number {
  const rowBytes = BITS / 8;
  const queryCount = queries.byteLength / rowBytes;
  const before = process.cpuUsage();
  if (single) {
    for (let q = 0; q < queryCount; q++) index.search(queries.subarray(q * rowBytes, (q + 1) * rowBytes), k);
  } else {
    index.search(queries, k);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / queryCount;
}

function sameResults(a: SearchResult, b: SearchResult): boolean {
  for (let i = 0; i < a.ids.length; i++) if (a.ids[i] !== b.ids[i] || a.distances[i] !== b.distances[i]) return false;
  return true;
}

/** Bytes of every typed array the MIH index keeps per code: codes, ids, tombstones, tables, visited stamps. */
function mihMemoryBytes(index: MultiIndexHashIndex): number {
  const storage = index.storage;
  let bytes = storage.rowCount * (storage.rowBytes + 8 + 1 + 4);
  for (const table of index.substringTables()) {
    bytes += table.keys.byteLength + table.offsets.byteLength + table.postings.byteLength;
    bytes += (table.postingCodes?.byteLength ?? 0) + (table.directOffsets?.byteLength ?? 0);
  }
  return bytes;
}

/** Wall and CPU milliseconds of an async step; MinIO's own CPU time is not included. */
async function timeStep<T>(step: () => Promise<T>): Promise<{ result: T; wallMs: number; cpuMs: number }> {
  const startedAt = performance.now();
  const before = process.cpuUsage();
  const result = await step();
  const used = process.cpuUsage(before);
  return { result, wallMs: performance.now() - startedAt, cpuMs: (used.user + used.system) / 1000 };
}

async function measureStoreLoad(codes: Uint8Array): Promise<{ publish: string; load: string; shardBytes: number }> {
  const store = new S3Store(loadEnvironment().s3);
  const name = `bench-${randomUUID()}`;
  try {
    const publish = await timeStep(() => buildIndex(store, { name, codeLengthBits: BITS, codes, shardCount: 4 }));
    const searcher = new ShardedSearcher({ store, indexName: name });
    const load = await timeStep(() => searcher.refresh());
    await searcher.close();
    return {
      publish: `${publish.wallMs.toFixed(0)} / ${publish.cpuMs.toFixed(0)}`,
      load: `${load.wallMs.toFixed(0)} / ${load.cpuMs.toFixed(0)}`,
      shardBytes: publish.result.manifest.shards.reduce((sum, shard) => sum + shard.sizeBytes, 0),
    };
  } finally {
    for (const info of await store.list(indexRoot(name))) await store.delete(info.key);
  }
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const folder = mkdtempSync(join(tmpdir(), 'whorl-hamming-bench-'));
  const rows: string[] = [];
  const loadRows: string[] = [];
  console.error(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${args.queryCount} queries, 64-bit codes`);

  for (const size of args.sizes) {
    for (const kind of args.kinds) {
      const codes =
        kind === 'random'
          ? generateRandomCodes({ count: size, codeLengthBits: BITS, seed: 1 })
          : generateClusteredCodes({ count: size, codeLengthBits: BITS, clusterCount: Math.round(size / 10), bitFlipProbability: 0.05, seed: 1 });
      const queries = makeQueries(kind, codes, args.queryCount);
      const codesPath = join(folder, `codes-${kind}-${size}.u8`);
      const queriesPath = join(folder, `queries-${kind}-${size}.u8`);
      writeFileSync(codesPath, codes);
      writeFileSync(queriesPath, queries);

      const linear = new LinearScanIndex(BITS);
      linear.add(codes);
      const cpuBefore = process.cpuUsage();
      const mih = new MultiIndexHashIndex(BITS);
      mih.add(codes);
      mih.substringTables();
      const cpuUsed = process.cpuUsage(cpuBefore);
      const buildMs = (cpuUsed.user + cpuUsed.system) / 1000;
      const memoryPerCode = mihMemoryBytes(mih) / size;
      const mihMore = new MultiIndexHashIndex(BITS, { substringCount: mih.substringCount + 1 }, mih.storage);
      mihMore.substringTables();

      // Warm up the indexes' compiled code before timing.
      for (const index of [linear, mih, mihMore]) index.search(queries.subarray(0, 50 * 8), 10);

      const faissOutput = execFileSync(args.python, [join(__dirname, 'faiss_binary.py'), '--codes', codesPath, '--queries', queriesPath, '--bits', String(BITS), '--nhash', String(mih.substringCount)], {
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
      });
      const faiss = JSON.parse(faissOutput) as {
        faissVersion: string;
        multiHashBuildMs: number;
        multiHash: { nflip: number };
        searches: { k: number; flatSingleMs: number; flatBatchMs: number; multiHashSingleMs: number; multiHashBatchMs: number; multiHashRecall: number }[];
      };

      for (const k of KS) {
        const expected = linear.search(queries, k);
        const exact = sameResults(mih.search(queries, k), expected) && sameResults(mihMore.search(queries, k), expected);
        const linearSingle = timeSearch(linear, queries, k, true);
        const linearBatch = timeSearch(linear, queries, k, false);
        const mihSingle = timeSearch(mih, queries, k, true);
        const mihBatch = timeSearch(mih, queries, k, false);
        const mihMoreSingle = timeSearch(mihMore, queries, k, true);
        const f = faiss.searches.find((entry) => entry.k === k);
        if (f === undefined) throw new Error(`faiss output has no k=${k}`);
        rows.push(
          `| ${size.toLocaleString('en-US')} | ${kind} | ${k} | ${mihSingle.toFixed(3)} | ${mihBatch.toFixed(3)} | ${mihMoreSingle.toFixed(3)} | ${linearSingle.toFixed(3)} | ${linearBatch.toFixed(3)} | ` +
            `${f.flatSingleMs.toFixed(3)} | ${f.flatBatchMs.toFixed(3)} | ${f.multiHashSingleMs.toFixed(3)} (${(f.multiHashRecall * 100).toFixed(0)}%) | ` +
            `${(linearSingle / mihSingle).toFixed(1)}× | ${(linearSingle / mihMoreSingle).toFixed(1)}× | ${(f.multiHashSingleMs / mihSingle).toFixed(1)}× | ${(linearSingle / f.flatSingleMs).toFixed(2)} | ${exact ? 'yes' : 'NO'} |`,
        );
        console.error(rows[rows.length - 1]);
      }

      let storeColumns = '– | – | –';
      if (args.useStore && kind === 'random') {
        const load = await measureStoreLoad(codes);
        storeColumns = `${load.publish} | ${load.load} | ${(load.shardBytes / size).toFixed(1)}`;
      }
      loadRows.push(
        `| ${size.toLocaleString('en-US')} | ${kind} | ${mih.substringCount} | ${buildMs.toFixed(0)} | ${faiss.multiHashBuildMs.toFixed(0)} | ${memoryPerCode.toFixed(1)} | ${storeColumns} |`,
      );
      console.error(loadRows[loadRows.length - 1]);
    }
  }
  rmSync(folder, { recursive: true, force: true });

  console.log(
    '| N | codes | k | MIH single | MIH batch | MIH m+1 single | linear single | linear batch | faiss Flat single | faiss Flat batch | faiss MultiHash single (recall) | linear / MIH | linear / MIH m+1 | faiss MultiHash / MIH | linear / faiss Flat | MIH = linear |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log('');
  console.log('| N | codes | m | MIH build CPU ms | faiss MultiHash build CPU ms | MIH memory B/code | publish to MinIO ms (wall / CPU) | load from MinIO ms (wall / CPU) | shard B/code |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const row of loadRows) console.log(row);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
