import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { formatCodeHex } from '../../src/index/codes';
import { generateClusteredCodes, generateRandomCodes } from '../../src/index/generators';
import { appendDelta, buildIndex, indexRoot } from '../../src/index/index-store';
import { LinearScanIndex } from '../../src/index/linear-scan-index';
import { createSearchService, type SearchService } from '../../src/search/search-service';
import { localS3Store } from '../support/stack';

const BITS = 64;

describe('search service', function () {
  this.timeout(60_000);
  const store = localS3Store();
  const name = `test-service-${randomUUID()}`;
  const codes = generateClusteredCodes({ count: 5000, codeLengthBits: BITS, clusterCount: 40, bitFlipProbability: 0.08, seed: 31 });
  const labels = Array.from({ length: 5000 }, (_, i) => `gallery/${i}.png`);
  let service: SearchService;

  before(async () => {
    await buildIndex(store, { name, codeLengthBits: BITS, codes, labels, shardCount: 3, modelVersion: 'models/hashing/test' });
    service = await createSearchService({
      store,
      indexName: name,
      workerCount: 2,
      refreshIntervalMs: 0,
      bodyLimitBytes: 64 * 1024,
      maxK: 500,
      encodeQuery: async (image) => ({ code: image.bytes.subarray(0, 8), predictedSensor: 'optical', timingsMs: { hash: 1 } }),
    });
  });

  after(async () => {
    await service.close();
    for (const info of await store.list(indexRoot(name))) await store.delete(info.key);
  });

  it('returns exact matches searched on workers', async () => {
    const queries = [0, 17, 4999].map((row) => formatCodeHex(codes.subarray(row * 8, row * 8 + 8)));
    const response = await service.app.inject({ method: 'POST', url: '/search', payload: { codes: queries, k: 20 } });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.indexVersion, 1);
    assert.equal(body.modelVersion, 'models/hashing/test');
    assert.equal(body.results.length, 3);

    const exact = new LinearScanIndex(BITS);
    exact.add(codes);
    const expected = exact.search(new Uint8Array(Buffer.from(queries.join(''), 'hex')), 20);
    for (let q = 0; q < 3; q++) {
      const matches = body.results[q].matches as { id: number; distance: number; label: string }[];
      assert.deepEqual(matches.map((match) => match.id), Array.from(expected.ids.subarray(q * 20, q * 20 + 20)));
      assert.deepEqual(matches.map((match) => match.distance), Array.from(expected.distances.subarray(q * 20, q * 20 + 20)));
      assert.equal(matches[0].label, `gallery/${matches[0].id}.png`);
    }
  });

  it('answers radius searches', async () => {
    const query = formatCodeHex(codes.subarray(0, 8));
    const response = await service.app.inject({ method: 'POST', url: '/search', payload: { code: query, radius: 4 } });
    assert.equal(response.statusCode, 200, response.body);
    const matches = response.json().results[0].matches as { distance: number }[];
    assert.ok(matches.length >= 1);
    assert.ok(matches.every((match) => match.distance <= 4));
  });

  it('encodes image queries through the hook', async () => {
    const image = Buffer.concat([Buffer.from(codes.subarray(8, 16)), Buffer.alloc(100)]);
    const raw = await service.app.inject({ method: 'POST', url: '/search?k=3', headers: { 'content-type': 'image/png' }, payload: image });
    assert.equal(raw.statusCode, 200, raw.body);
    assert.equal(raw.json().predictedSensor, 'optical');
    assert.equal(raw.json().results[0].matches[0].distance, 0);
    assert.equal(typeof raw.json().timingsMs.encode, 'number');

    const json = await service.app.inject({ method: 'POST', url: '/search', payload: { imageBase64: image.toString('base64'), k: 3 } });
    assert.equal(json.statusCode, 200, json.body);
    assert.equal(json.json().results[0].matches.length, 3);
  });

  it('reports index and health', async () => {
    const health = await service.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 200);
    assert.equal(health.json().indexVersion, 1);
    const index = await service.app.inject({ method: 'GET', url: '/index' });
    assert.equal(index.statusCode, 200);
    assert.equal(index.json().codeCount, 5000);
    assert.equal(index.json().shardCount, 3);
  });

  const badRequests: { name: string; payload: string; contentType?: string; status: number; error: RegExp }[] = [
    { name: 'malformed JSON', payload: '{"code": ', status: 400, error: /JSON/i },
    { name: 'wrong code length', payload: JSON.stringify({ code: 'abcd' }), status: 400, error: /expected 16 hexadecimal digits/ },
    { name: 'no query', payload: JSON.stringify({ k: 3 }), status: 400, error: /exactly one of/ },
    { name: 'two queries', payload: JSON.stringify({ code: '00'.repeat(8), imageBase64: 'AAAA' }), status: 400, error: /exactly one of/ },
    { name: 'unknown field', payload: JSON.stringify({ code: '00'.repeat(8), top: 3 }), status: 400, error: /unknown field "top"/ },
    { name: 'k too large', payload: JSON.stringify({ code: '00'.repeat(8), k: 501 }), status: 400, error: /invalid k 501/ },
    { name: 'k not a number', payload: JSON.stringify({ code: '00'.repeat(8), k: '5' }), status: 400, error: /invalid k "5"/ },
    { name: 'negative radius', payload: JSON.stringify({ code: '00'.repeat(8), radius: -1 }), status: 400, error: /invalid radius -1/ },
    { name: 'array body', payload: '[1,2]', status: 400, error: /expected a JSON object/ },
    { name: 'oversized body', payload: JSON.stringify({ codes: Array(5000).fill('00'.repeat(8)) }), status: 413, error: /too large/i },
    { name: 'unsupported media type', payload: 'code=00', contentType: 'text/plain', status: 415, error: /Unsupported Media Type/i },
  ];
  for (const bad of badRequests) {
    it(`rejects ${bad.name}`, async () => {
      const response = await service.app.inject({
        method: 'POST',
        url: '/search',
        headers: { 'content-type': bad.contentType ?? 'application/json' },
        payload: bad.payload,
      });
      assert.equal(response.statusCode, bad.status, response.body);
      assert.match(response.json().error, bad.error);
    });
  }

  it('keeps serving the last good version', async () => {
    const published = await buildIndex(store, { name, codeLengthBits: BITS, codes: generateRandomCodes({ count: 100, codeLengthBits: BITS, seed: 5 }) });
    await store.put(indexRoot(name) + published.manifest.shards[0].key, new Uint8Array(10));
    await service.refresh();

    const index = await service.app.inject({ method: 'GET', url: '/index' });
    assert.equal(index.json().version, 1);
    assert.match(index.json().lastRefresh.error, /checksum mismatch for .*v0002\/shard-00000\.bin/);
    const search = await service.app.inject({ method: 'POST', url: '/search', payload: { code: formatCodeHex(codes.subarray(0, 8)), k: 1 } });
    assert.equal(search.statusCode, 200);
    assert.equal(search.json().indexVersion, 1);
  });

  it('picks up a new version without restart', async () => {
    await buildIndex(store, { name, codeLengthBits: BITS, codes, labels, shardCount: 3 });
    const extra = generateRandomCodes({ count: 50, codeLengthBits: BITS, seed: 6 });
    const published = await appendDelta(store, { name, codes: extra, labels: Array.from({ length: 50 }, (_, i) => `new/${i}`) });
    await service.refresh();
    const response = await service.app.inject({ method: 'POST', url: '/search', payload: { code: formatCodeHex(extra.subarray(0, 8)), k: 1 } });
    assert.equal(published.version, 4);
    assert.equal(response.json().indexVersion, 4);
    assert.equal(response.json().results[0].matches[0].label, 'new/0');
    assert.equal(response.json().results[0].matches[0].distance, 0);
  });
});

describe('search service without an index', () => {
  it('answers 503 until a version exists', async () => {
    const service = await createSearchService({ store: localS3Store(), indexName: `test-missing-${randomUUID()}`, refreshIntervalMs: 0 });
    try {
      const health = await service.app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(health.statusCode, 503);
      assert.match(health.json().reason, /not found/);
      const search = await service.app.inject({ method: 'POST', url: '/search', payload: { code: '00'.repeat(8) } });
      assert.equal(search.statusCode, 503);
      const image = await service.app.inject({ method: 'POST', url: '/search', headers: { 'content-type': 'image/png' }, payload: Buffer.alloc(10) });
      assert.equal(image.statusCode, 503);
    } finally {
      await service.close();
    }
  });
});
