import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { loadEnvironment } from '../config/environment';
import { UserInputError } from '../config/errors';
import { ImageDecodeError } from '../imaging/decode-error';
import { createLogger } from '../logging';
import { FilesystemStore, S3Store, sha256Hex, type ObjectStore } from '../storage';
import { formatCodeHex, parseCodeHex, validateCodeLength } from '../index/codes';
import { generateClusteredCodes, generateRandomCodes } from '../index/generators';
import { buildIndex, compactIndex, requireCurrent, type PublishedIndex } from '../index/index-store';
import { readCodesParquet } from '../index/parquet-codes';
import { ShardedSearcher } from '../search/sharded-searcher';
import { createSearchService } from '../search/search-service';
import { createReranker, MAX_RERANK_CANDIDATES, type RerankedMatch } from '../search/rerank';
import { createQueryEncoder, encodeQueryImage, loadEncoderChain } from '../pipeline/query-encoder';
import { initializeTensorBackend } from '../tensors';
import type { GrayImage } from '../imaging';
import { silentLogger } from '../logging';

const DEFAULT_INDEX_NAME = 'gallery';

function parsePositiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return parsed;
}

function parseNonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return parsed;
}

/** Opens the S3 store from the environment, or a folder store when --store-dir is given. */
function openStore(storeDir: string | undefined): ObjectStore {
  return storeDir === undefined ? new S3Store(loadEnvironment().s3) : new FilesystemStore(storeDir);
}

function withStoreOptions(command: Command): Command {
  return command
    .option('--name <name>', 'index name; objects live under index/<name>/', DEFAULT_INDEX_NAME)
    .option('--store-dir <dir>', 'use an object store in this folder in place of the S3 endpoint from the environment');
}

function describeVersion(published: PublishedIndex): string[] {
  const manifest = published.manifest;
  const lines = [
    `index ${manifest.name} version ${published.version} (${manifest.createdAt})`,
    `codes: ${manifest.liveCount} live of ${manifest.codeCount}, ${manifest.codeLengthBits} bits, m = ${manifest.substringCount} substrings, next id ${manifest.nextId}`,
    `model version: ${manifest.modelVersion ?? '(none)'}; gallery watermark: ${manifest.galleryWatermark ?? '(none)'}`,
    `source code shards: ${manifest.sourceCodeShards.length}; tombstones: ${manifest.tombstones?.count ?? 0}`,
  ];
  for (const shard of manifest.shards) {
    lines.push(`  ${shard.kind.padEnd(5)} ${shard.key}  ${shard.codeCount} codes  ${shard.sizeBytes} bytes  sha256 ${shard.sha256.slice(0, 16)}…`);
  }
  return lines;
}

/** `whorl index build|inspect|compact|serve`: manage sharded Hamming indexes in object storage. */
export function indexCommand(): Command {
  const index = new Command('index').description('build, inspect, compact and serve sharded multi-index hash tables of binary codes');

  withStoreOptions(index.command('build'))
    .description('build an index from a Parquet file of codes (or generated codes) and publish it as the next version')
    .option('--codes <file>', 'Parquet file with columns id (utf8) and code (fixed-size binary)')
    .option('--random <count>', 'index this many uniformly random codes instead of a file', parsePositiveInteger)
    .option('--clustered <count>', 'index this many clustered random codes instead of a file', parsePositiveInteger)
    .option('--code-length <bits>', 'code length in bits for generated codes: 32, 64, 128 or 256', parsePositiveInteger, 64)
    .option('--seed <seed>', 'seed of generated codes', parseNonNegativeInteger, 1)
    .option('--shards <count>', 'number of base shards', parsePositiveInteger, 4)
    .option('--substrings <m>', 'substrings per code (m); default ⌈bits / log2(codes per shard)⌉', parsePositiveInteger)
    .option('--model-version <version>', 'model version that produced the codes, recorded in the manifest')
    .option('--watermark <position>', 'latest gallery position the codes cover, recorded in the manifest')
    .action(async (options: {
      name: string; storeDir?: string; codes?: string; random?: number; clustered?: number; codeLength: number;
      seed: number; shards: number; substrings?: number; modelVersion?: string; watermark?: string;
    }) => {
      const sources = [options.codes, options.random, options.clustered].filter((source) => source !== undefined);
      if (sources.length !== 1) throw new UserInputError('index build needs exactly one of --codes FILE, --random COUNT or --clustered COUNT');

      let codes: Uint8Array;
      let codeLengthBits: number;
      let labels: string[] | undefined;
      let sourceCodeShards: { key: string; sha256: string }[] = [];
      if (options.codes !== undefined) {
        const bytes = await readFile(options.codes).catch((error: NodeJS.ErrnoException) => {
          throw new UserInputError(`cannot read code file ${options.codes}: ${error.code ?? error.message}`);
        });
        ({ codes, codeLengthBits, labels } = readCodesParquet(bytes, options.codes));
        sourceCodeShards = [{ key: options.codes, sha256: sha256Hex(bytes) }];
      } else {
        codeLengthBits = validateCodeLength(options.codeLength);
        codes = options.random !== undefined
          ? generateRandomCodes({ count: options.random, codeLengthBits, seed: options.seed })
          : generateClusteredCodes({ count: options.clustered ?? 0, codeLengthBits, clusterCount: Math.max(1, Math.round((options.clustered ?? 0) / 100)), bitFlipProbability: 0.08, seed: options.seed });
      }

      const startedAt = Date.now();
      const published = await buildIndex(openStore(options.storeDir), {
        name: options.name,
        codeLengthBits,
        codes,
        labels,
        shardCount: options.shards,
        substringCount: options.substrings,
        modelVersion: options.modelVersion ?? null,
        galleryWatermark: options.watermark ?? null,
        sourceCodeShards,
      });
      console.log(`published in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
      for (const line of describeVersion(published)) console.log(line);
    });

  withStoreOptions(index.command('inspect'))
    .description('print the current version of an index: counts, code length, shards and provenance')
    .option('--json', 'print the manifest as JSON')
    .action(async (options: { name: string; storeDir?: string; json?: boolean }) => {
      const published = await requireCurrent(openStore(options.storeDir), options.name);
      if (options.json === true) {
        console.log(JSON.stringify(published.manifest, null, 2));
        return;
      }
      for (const line of describeVersion(published)) console.log(line);
    });

  withStoreOptions(index.command('compact'))
    .description('merge delta segments into base shards, drop removed codes, and publish the next version')
    .option('--shards <count>', 'number of base shards after compaction (default: as many as before)', parsePositiveInteger)
    .action(async (options: { name: string; storeDir?: string; shards?: number }) => {
      const published = await compactIndex(openStore(options.storeDir), { name: options.name, shardCount: options.shards });
      for (const line of describeVersion(published)) console.log(line);
    });

  withStoreOptions(index.command('serve'))
    .description('serve POST /search, GET /index and GET /healthz over HTTP for the current index version')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port to listen on', parseNonNegativeInteger, 8470)
    .option('--workers <count>', 'worker threads that search shards in parallel (0: search on the main thread)', parseNonNegativeInteger, 2)
    .option('--refresh-ms <ms>', 'how often to check for a new index version, in milliseconds', parseNonNegativeInteger, 10_000)
    .option('--alignment-model <prefix>', 'alignment model folder that re-ranking scores with, such as models/alignment/<key>/ (default: the one the model version aligned with)')
    .action(async (options: { name: string; storeDir?: string; host: string; port: number; workers: number; refreshMs: number; alignmentModel?: string }) => {
      const logger = createLogger('whorl-search');
      const store = openStore(options.storeDir);
      await initializeTensorBackend({ logger });
      const service = await createSearchService({
        store,
        indexName: options.name,
        encodeQuery: createQueryEncoder(store),
        rerank: createReranker(store, { alignmentModelPrefix: options.alignmentModel, logger }),
        workerCount: options.workers,
        refreshIntervalMs: options.refreshMs,
        logger,
      });
      const address = await service.app.listen({ host: options.host, port: options.port });
      logger.info({ address, index: options.name, version: service.searcher.published?.version }, 'search service started');
      const stop = (): void => {
        logger.info({ address }, 'search service stopping');
        service.close().catch((error: unknown) => logger.error({ err: error }, 'search service failed to stop cleanly'));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  return index;
}

/** `whorl search --image FILE | --code HEX --k 10 [--json]`: query the current index version. */
export function searchCommand(): Command {
  return withStoreOptions(new Command('search'))
    .description('search the current index version for the gallery entries nearest to a fingerprint image or a packed code')
    .option('--image <file>', 'query fingerprint image (TIFF, BMP, PNG, JPEG), encoded with the model version the index names')
    .option('--code <hex>', 'query code in hexadecimal, two digits per byte in row order')
    .option('--k <count>', 'number of nearest codes to return', parsePositiveInteger, 10)
    .option('--radius <bits>', 'return every code within this Hamming distance instead of the k nearest', parseNonNegativeInteger)
    .option('--rerank <count>', `re-rank the first COUNT Hamming matches (at most ${MAX_RERANK_CANDIDATES}) of an --image query by the alignment model's match score`, parsePositiveInteger)
    .option('--alignment-model <prefix>', 'alignment model folder that --rerank scores with, such as models/alignment/<key>/ (default: the one the model version aligned with)')
    .option('--json', 'print the result as JSON')
    .action(async (options: {
      name: string; storeDir?: string; image?: string; code?: string; k: number; radius?: number; rerank?: number; alignmentModel?: string; json?: boolean;
    }) => {
      if ((options.image === undefined) === (options.code === undefined)) {
        throw new UserInputError('pass exactly one of --image FILE or --code HEX');
      }
      if (options.rerank !== undefined) {
        if (options.image === undefined) throw new UserInputError('--rerank compares images, so it needs --image FILE, not --code');
        if (options.radius !== undefined) throw new UserInputError('pass --rerank or --radius, not both, because re-ranking reorders the first matches of a k-nearest search');
        if (options.rerank > MAX_RERANK_CANDIDATES) throw new UserInputError(`invalid --rerank ${options.rerank}: expected at most ${MAX_RERANK_CANDIDATES}`);
      }
      const store = openStore(options.storeDir);
      const searcher = new ShardedSearcher({ store, indexName: options.name });
      try {
        const startedAt = performance.now();
        await searcher.refresh();
        const published = searcher.published as PublishedIndex;
        let query: Uint8Array;
        let queryImage: GrayImage | undefined;
        let encodeTimingsMs: Record<string, number> | undefined;
        if (options.image !== undefined) {
          if (published.manifest.modelVersion === null) {
            throw new UserInputError(`index ${options.name} records no model version, so an image cannot be encoded like its codes; query it with --code`);
          }
          const imagePath = options.image;
          const bytes = await readFile(imagePath).catch((error: NodeJS.ErrnoException) => {
            const reason = error.code === 'ENOENT' ? 'file not found' : (error.code ?? error.message);
            throw new UserInputError(`cannot read query image ${imagePath}: ${reason}; pass the path of a TIFF, PNG, JPEG or BMP file`);
          });
          await initializeTensorBackend({ logger: silentLogger });
          const chain = await loadEncoderChain(store, published.manifest.modelVersion, published.manifest.codeLengthBits);
          const encoded = await encodeQueryImage(chain, bytes).catch((error: unknown) => {
            if (error instanceof ImageDecodeError) throw new UserInputError(`cannot decode query image ${imagePath}: ${error.message}`);
            throw error;
          });
          query = encoded.code;
          queryImage = encoded.image;
          encodeTimingsMs = encoded.timingsMs;
        } else {
          query = parseCodeHex(options.code ?? '', published.manifest.codeLengthBits);
        }
        const loadedAt = performance.now();
        const rerankDepth = options.rerank ?? 0;
        const result = options.radius === undefined ? await searcher.search(query, Math.max(options.k, rerankDepth)) : await searcher.rangeSearch(query, options.radius);
        const searchMs = performance.now() - loadedAt;

        let matches: Array<{ id: number; label: string | null; distance: number } | RerankedMatch> = result.ids[0].map((id, i) => ({ id, label: result.labels[0][i], distance: result.distances[0][i] }));
        let rerankMs: number | undefined;
        if (queryImage !== undefined && rerankDepth > 0) {
          const rerankStartedAt = performance.now();
          const rerank = createReranker(store, { alignmentModelPrefix: options.alignmentModel });
          const reranked = await rerank(queryImage, matches.slice(0, rerankDepth), { published });
          matches = [...reranked, ...matches.slice(rerankDepth)].slice(0, options.k);
          rerankMs = performance.now() - rerankStartedAt;
        }
        if (options.json === true) {
          const timingsMs = { loadAndEncode: loadedAt - startedAt, ...encodeTimingsMs, search: searchMs, rerank: rerankMs };
          console.log(JSON.stringify({ query: formatCodeHex(query), indexVersion: result.indexVersion, modelVersion: result.modelVersion, matches, timingsMs }, null, 2));
          return;
        }
        const rerankNote = rerankMs === undefined ? '' : `, re-rank ${rerankMs.toFixed(0)} ms`;
        console.log(`index ${options.name} version ${result.indexVersion}: ${matches.length} matches (load ${(loadedAt - startedAt).toFixed(0)} ms, search ${searchMs.toFixed(2)} ms${rerankNote})`);
        for (const match of matches) {
          const score = 'matchScore' in match ? `  score ${match.matchScore === null ? '   –  ' : match.matchScore.toFixed(4)}` : '';
          console.log(`${String(match.distance).padStart(4)}${score}  ${String(match.id).padStart(10)}  ${match.label ?? ''}`);
        }
      } finally {
        await searcher.close();
      }
    });
}
