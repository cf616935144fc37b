import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { UserInputError } from '../config/errors';
import { parseCodeHex } from '../index/codes';
import { silentLogger, type Logger } from '../logging';
import type { GrayImage } from '../imaging';
import type { ObjectStore } from '../storage';
import { MAX_RERANK_CANDIDATES, type RerankMatches, type RerankedMatch } from './rerank';
import { ShardedSearcher } from './sharded-searcher';

/** An uploaded query image, before decoding. */
export interface QueryImage {
  bytes: Uint8Array;
  contentType: string;
}

/** Encoder output for a query image: its packed code plus the details the response shows. */
export interface EncodedQuery {
  code: Uint8Array;
  /** Sensor that the sensor classifier predicts for the query, if the encoder runs one. */
  predictedSensor?: string;
  /** Time per encoding step, such as decode, preprocess, align and hash. */
  timingsMs?: Record<string, number>;
  /** The query after preprocessing, which re-ranking compares with gallery images; absent when the encoder does not return it. */
  image?: GrayImage;
}

/**
 * Encodes a query image with the model version the index manifest names, so
 * queries and gallery codes come from the same encoder chain.
 */
export type EncodeQuery = (image: QueryImage, context: { modelVersion: string | null; codeLengthBits: number }) => Promise<EncodedQuery>;

export interface SearchServiceOptions {
  store: ObjectStore;
  indexName: string;
  /** Worker threads that search shards in parallel; 0 searches on the event loop thread. */
  workerCount?: number;
  /** Encoder for image queries; without it, image queries get 501 Not Implemented. */
  encodeQuery?: EncodeQuery;
  /** Re-ranker for image queries that set `rerank`; without it, such queries get 501 Not Implemented. */
  rerank?: RerankMatches;
  /** Largest accepted request body, JSON or image. */
  bodyLimitBytes?: number;
  /** Largest k a request may ask for. */
  maxK?: number;
  /** Most codes one request may search at once. */
  maxQueriesPerRequest?: number;
  /** How often CURRENT is checked for a new version; 0 turns the check off. */
  refreshIntervalMs?: number;
  logger?: Logger;
  /** A searcher to use in place of creating one (tests pass one to share it). */
  searcher?: ShardedSearcher;
}

export interface SearchService {
  app: FastifyInstance;
  searcher: ShardedSearcher;
  /** Checks CURRENT now; errors are logged and recorded, and the last good version stays active. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_BODY_LIMIT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_K = 1000;
export const DEFAULT_MAX_QUERIES_PER_REQUEST = 1000;
export const DEFAULT_REFRESH_INTERVAL_MS = 10_000;

interface SearchBody {
  code?: string;
  codes?: string[];
  imageBase64?: string;
  k?: number;
  radius?: number;
  rerank?: number;
}

/**
 * Creates the HTTP search service:
 *
 * - `POST /search` with JSON `{ code | codes | imageBase64, k?, radius?, rerank? }`,
 *   or a raw image body (`image/*` or `application/octet-stream`) with `?k=`
 *   and `?rerank=`. Returns matches per query (id, label, distance) ordered by
 *   distance, then id, with the index and model versions and timings. An
 *   image query with `rerank: N` takes the first max(k, N) Hamming matches,
 *   orders the first N by the alignment model's match score (each match then
 *   also has `matchScore` and `hammingRank`) and returns the first k.
 * - `GET /index`: the served version's manifest summary and the last refresh error.
 * - `GET /healthz`: 200 while a version is loaded, 503 before.
 *
 * The first version is loaded before this returns (a failure is logged and
 * leaves /healthz at 503), then CURRENT is polled every refreshIntervalMs.
 */
export async function createSearchService(options: SearchServiceOptions): Promise<SearchService> {
  const logger = options.logger ?? silentLogger;
  const maxK = options.maxK ?? DEFAULT_MAX_K;
  const maxQueries = options.maxQueriesPerRequest ?? DEFAULT_MAX_QUERIES_PER_REQUEST;
  const searcher =
    options.searcher ?? new ShardedSearcher({ store: options.store, indexName: options.indexName, workerCount: options.workerCount, logger });
  let lastRefresh: { at: string; error?: string } | undefined;

  const refresh = async (): Promise<void> => {
    try {
      await searcher.refresh();
      lastRefresh = { at: new Date().toISOString() };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (lastRefresh?.error !== message) {
        logger.error({ err: error, index: options.indexName, servedVersion: searcher.published?.version }, 'index refresh failed; serving the last good version');
      }
      lastRefresh = { at: new Date().toISOString(), error: message };
    }
  };

  const app = Fastify({ bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES, logger: false });
  // Only JSON and image bodies are accepted, so other types get 415.
  app.removeContentTypeParser('text/plain');
  const passBuffer = (_request: unknown, body: string | Buffer, done: (error: Error | null, body?: Buffer) => void): void =>
    done(null, Buffer.isBuffer(body) ? body : Buffer.from(body));
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, passBuffer);
  app.addContentTypeParser(/^image\/.*/, { parseAs: 'buffer' }, passBuffer);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error instanceof UserInputError ? 400 : (error.statusCode ?? 500);
    if (status >= 500) logger.error({ err: error, url: request.url, requestId: request.id }, 'search request failed');
    void reply.status(status).send({ error: error.message });
  });

  app.get('/healthz', async (_request, reply) => {
    const published = searcher.published;
    if (published === undefined) {
      return reply.status(503).send({ status: 'unavailable', reason: lastRefresh?.error ?? 'no index version loaded yet' });
    }
    return { status: 'ok', indexVersion: published.version };
  });

  app.get('/index', async (_request, reply) => {
    const published = searcher.published;
    if (published === undefined) return reply.status(503).send({ error: 'no index version loaded yet', lastRefresh });
    const manifest: Partial<typeof published.manifest> = { ...published.manifest };
    delete manifest.objects;
    return { ...manifest, shardCount: published.manifest.shards.length, lastRefresh };
  });

  app.post<{ Body: SearchBody | Buffer; Querystring: { k?: string; rerank?: string } }>(
    '/search',
    {
      schema: {
        querystring: { type: 'object', properties: { k: { type: 'string', pattern: '^[0-9]{1,6}$' }, rerank: { type: 'string', pattern: '^[0-9]{1,6}$' } } },
      },
    },
    async (request, reply) => {
      const startedAt = performance.now();
      const published = searcher.published;
      if (published === undefined) return reply.status(503).send({ error: 'no index version loaded yet; retry after the index is published' });
      const codeLengthBits = published.manifest.codeLengthBits;

      const body = request.body;
      const parsed = Buffer.isBuffer(body)
        ? {
            image: { bytes: new Uint8Array(body), contentType: request.headers['content-type'] ?? 'application/octet-stream' },
            k: request.query.k === undefined ? undefined : Number(request.query.k),
            rerank: request.query.rerank === undefined ? undefined : Number(request.query.rerank),
          }
        : parseJsonBody(body, codeLengthBits, maxQueries);
      const k = parsed.k ?? 10;
      if (!Number.isInteger(k) || k < 1 || k > maxK) throw new UserInputError(`invalid k ${String(k)}: expected an integer from 1 to ${maxK}`);
      const rerankDepth = 'rerank' in parsed ? parsed.rerank : undefined;
      if (rerankDepth !== undefined) {
        if (!Number.isInteger(rerankDepth) || rerankDepth < 1 || rerankDepth > MAX_RERANK_CANDIDATES) {
          throw new UserInputError(`invalid rerank ${String(rerankDepth)}: expected an integer from 1 to ${MAX_RERANK_CANDIDATES}`);
        }
        if (options.rerank === undefined) return reply.status(501).send({ error: 're-ranking is not available: this service was started without a re-ranker' });
      }

      let codes: Uint8Array;
      let encoded: EncodedQuery | undefined;
      const timingsMs: Record<string, number> = {};
      if ('image' in parsed && parsed.image !== undefined) {
        if (options.encodeQuery === undefined) {
          return reply.status(501).send({ error: 'image queries are not available: this service was started without an encoder; send a packed code as "code" in hexadecimal' });
        }
        const encodeStartedAt = performance.now();
        encoded = await options.encodeQuery(parsed.image, { modelVersion: published.manifest.modelVersion, codeLengthBits });
        if (encoded.code.byteLength !== codeLengthBits / 8) {
          throw new Error(`encoder returned a ${encoded.code.byteLength * 8}-bit code, but index version ${published.version} has ${codeLengthBits}-bit codes`);
        }
        codes = encoded.code;
        timingsMs.encode = performance.now() - encodeStartedAt;
        Object.assign(timingsMs, encoded.timingsMs);
      } else {
        codes = (parsed as { codes: Uint8Array }).codes;
      }

      const searchStartedAt = performance.now();
      const radius = 'radius' in parsed ? parsed.radius : undefined;
      const matches = radius === undefined ? await searcher.search(codes, Math.max(k, rerankDepth ?? 0)) : await searcher.rangeSearch(codes, radius);
      timingsMs.search = performance.now() - searchStartedAt;
      let results: Array<{ matches: Array<{ id: number; label: string | null; distance: number } | RerankedMatch> }> = matches.ids.map((ids, q) => ({
        matches: ids.map((id, i) => ({ id, label: matches.labels[q][i], distance: matches.distances[q][i] })),
      }));

      if (rerankDepth !== undefined && options.rerank !== undefined) {
        if (encoded?.image === undefined) throw new Error('the query encoder returned no preprocessed image, so the query cannot be re-ranked');
        const served = searcher.published;
        if (served === undefined || served.version !== matches.indexVersion) throw new Error(`index version ${matches.indexVersion} was replaced during the request; retry it`);
        const rerankStartedAt = performance.now();
        const candidates = results[0].matches;
        const reranked = await options.rerank(encoded.image, candidates.slice(0, rerankDepth), { published: served });
        results = [{ matches: [...reranked, ...candidates.slice(rerankDepth)].slice(0, k) }];
        timingsMs.rerank = performance.now() - rerankStartedAt;
      }
      timingsMs.total = performance.now() - startedAt;

      return {
        indexVersion: matches.indexVersion,
        modelVersion: matches.modelVersion,
        predictedSensor: encoded?.predictedSensor,
        results,
        timingsMs,
      };
    },
  );

  await refresh();
  const intervalMs = options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
  const timer = intervalMs > 0 ? setInterval(() => void refresh(), intervalMs) : undefined;
  timer?.unref();

  return {
    app,
    searcher,
    refresh,
    close: async () => {
      if (timer !== undefined) clearInterval(timer);
      await app.close();
      await searcher.close();
    },
  };
}

/** Validates a JSON search body and packs its codes; raises UserInputError with the field at fault. */
function parseJsonBody(
  body: unknown,
  codeLengthBits: number,
  maxQueries: number,
): { codes: Uint8Array; k?: number; radius?: number } | { image: QueryImage; k?: number; rerank?: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new UserInputError('invalid request body: expected a JSON object with "code", "codes" or "imageBase64"');
  }
  const fields = body as Record<string, unknown>;
  const known = new Set(['code', 'codes', 'imageBase64', 'k', 'radius', 'rerank']);
  const unknown = Object.keys(fields).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new UserInputError(`invalid request body: unknown field "${unknown[0]}"; expected code, codes, imageBase64, k, radius or rerank`);

  const queryFields = ['code', 'codes', 'imageBase64'].filter((key) => fields[key] !== undefined);
  if (queryFields.length !== 1) {
    throw new UserInputError(`invalid request body: expected exactly one of "code", "codes" or "imageBase64", got ${queryFields.length === 0 ? 'none' : queryFields.join(' and ')}`);
  }
  const k = fields.k;
  if (k !== undefined && typeof k !== 'number') throw new UserInputError(`invalid k ${JSON.stringify(k)}: expected an integer`);
  const radius = fields.radius;
  if (radius !== undefined && (typeof radius !== 'number' || !Number.isInteger(radius) || radius < 0 || radius > codeLengthBits)) {
    throw new UserInputError(`invalid radius ${JSON.stringify(radius)}: expected an integer from 0 to ${codeLengthBits}`);
  }

  const rerank = fields.rerank;
  if (rerank !== undefined && typeof rerank !== 'number') throw new UserInputError(`invalid rerank ${JSON.stringify(rerank)}: expected an integer`);

  if (fields.imageBase64 !== undefined) {
    if (typeof fields.imageBase64 !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(fields.imageBase64)) {
      throw new UserInputError('invalid imageBase64: expected a base64 string');
    }
    if (radius !== undefined && rerank !== undefined) throw new UserInputError('invalid request body: set either radius or rerank, not both, because re-ranking takes the first Hamming matches of a k-nearest search');
    return { image: { bytes: new Uint8Array(Buffer.from(fields.imageBase64, 'base64')), contentType: 'application/octet-stream' }, k, rerank };
  }
  if (rerank !== undefined) throw new UserInputError('invalid rerank: re-ranking compares images, so it needs "imageBase64", not "code" or "codes"');

  const hexCodes = fields.code !== undefined ? [fields.code] : fields.codes;
  if (!Array.isArray(hexCodes) || hexCodes.length === 0 || hexCodes.length > maxQueries) {
    throw new UserInputError(`invalid codes: expected a list of 1 to ${maxQueries} hexadecimal strings`);
  }
  const rowBytes = codeLengthBits / 8;
  const codes = new Uint8Array(hexCodes.length * rowBytes);
  hexCodes.forEach((hex, i) => {
    if (typeof hex !== 'string') throw new UserInputError(`invalid code at position ${i}: expected a hexadecimal string`);
    codes.set(parseCodeHex(hex, codeLengthBits), i * rowBytes);
  });
  return { codes, k, radius: radius as number | undefined };
}
