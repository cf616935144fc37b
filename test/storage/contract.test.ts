import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  ChecksumMismatchError,
  FilesystemStore,
  ObjectNotFoundError,
  PreconditionFailedError,
  S3Store,
  sha256Hex,
  type ObjectStore,
} from '../../src/storage';
import { loadEnvironment } from '../../src/config/environment';
import { EndpointUnreachableError, UserInputError } from '../../src/config/errors';
import { localS3Store, uniquePrefix, unusedPort } from '../support/stack';

/** Overwrites an object's bytes behind the store's back, keeping its recorded checksum. */
type Corrupt = (key: string, bytes: Uint8Array) => Promise<void>;

function contractSuite(name: string, makeStore: () => { store: ObjectStore; corrupt: Corrupt }): void {
  describe(`object store contract: ${name}`, () => {
    let store: ObjectStore;
    let corrupt: Corrupt;
    let prefix: string;

    beforeEach(() => {
      ({ store, corrupt } = makeStore());
      prefix = uniquePrefix('contract');
    });

    it('round-trips bytes and strings', async () => {
      const bytes = randomBytes(1000);
      await store.put(`${prefix}a.bin`, bytes);
      await store.put(`${prefix}b.txt`, 'hello whorl');
      assert.deepEqual(Buffer.from(await store.get(`${prefix}a.bin`)), bytes);
      assert.equal(Buffer.from(await store.get(`${prefix}b.txt`)).toString('utf8'), 'hello whorl');
    });

    it('reports size and checksum in head', async () => {
      const bytes = randomBytes(321);
      await store.put(`${prefix}x`, bytes);
      const info = await store.head(`${prefix}x`);
      assert.equal(info?.sizeBytes, 321);
      assert.equal(info?.sha256, sha256Hex(bytes));
      assert.equal(await store.head(`${prefix}missing`), undefined);
    });

    it('lists a prefix in key order', async () => {
      for (const key of ['c', 'a', 'sub/b', 'b']) await store.put(`${prefix}${key}`, key);
      await store.put(`${prefix.slice(0, -1)}-sibling/x`, 'not listed');
      const keys = (await store.list(prefix)).map((info) => info.key.slice(prefix.length));
      assert.deepEqual(keys, ['a', 'b', 'c', 'sub/b']);
    });

    it('raises ObjectNotFoundError for a missing key', async () => {
      await assert.rejects(store.get(`${prefix}nothing`), ObjectNotFoundError);
    });

    it('deletes, and deleting twice is no error', async () => {
      await store.put(`${prefix}gone`, 'x');
      await store.delete(`${prefix}gone`);
      await store.delete(`${prefix}gone`);
      assert.equal(await store.head(`${prefix}gone`), undefined);
    });

    it('writes with ifNoneMatch only when the key is absent', async () => {
      await store.put(`${prefix}p`, 'first', { ifNoneMatch: '*' });
      await assert.rejects(store.put(`${prefix}p`, 'second', { ifNoneMatch: '*' }), PreconditionFailedError);
      assert.equal(Buffer.from(await store.get(`${prefix}p`)).toString(), 'first');
    });

    it('writes with ifMatch only while the ETag is current', async () => {
      const first = await store.put(`${prefix}p`, 'first');
      const second = await store.put(`${prefix}p`, 'second', { ifMatch: first.etag });
      await assert.rejects(store.put(`${prefix}p`, 'third', { ifMatch: first.etag }), PreconditionFailedError);
      await store.put(`${prefix}p`, 'fourth', { ifMatch: second.etag });
      assert.equal(Buffer.from(await store.get(`${prefix}p`)).toString(), 'fourth');
    });

    it('lets exactly one of several racing conditional writers win', async () => {
      const base = await store.put(`${prefix}race`, 'base');
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, (_, index) => store.put(`${prefix}race`, `writer-${index}`, { ifMatch: base.etag })),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      for (const result of results) {
        if (result.status === 'rejected') assert.ok(result.reason instanceof PreconditionFailedError, String(result.reason));
      }
    });

    it('detects a corrupted body on read', async () => {
      await store.put(`${prefix}c`, 'original body');
      await corrupt(`${prefix}c`, Buffer.from('tampered body'));
      await assert.rejects(store.get(`${prefix}c`), (error: Error) => {
        assert.ok(error instanceof ChecksumMismatchError, `expected ChecksumMismatchError, got ${error.name}`);
        assert.match(error.message, /checksum mismatch for .*\/c/);
        return true;
      });
    });

    it('uploads a file larger than one part', async () => {
      const path = join(mkdtempSync(join(tmpdir(), 'whorl-upload-')), 'big.bin');
      const bytes = randomBytes(11 * 1024 * 1024 + 17);
      writeFileSync(path, bytes);
      const info = await store.putFile(`${prefix}big.bin`, path);
      assert.equal(info.sizeBytes, bytes.byteLength);
      assert.equal(info.sha256, sha256Hex(bytes));
      assert.equal(sha256Hex(await store.get(`${prefix}big.bin`)), sha256Hex(bytes));
    });

    it('rejects keys that escape the store', async () => {
      for (const key of ['/absolute', 'a/../b', 'a//b', '']) {
        await assert.rejects(store.put(key, 'x'), /invalid object key/);
      }
    });
  });
}

contractSuite('filesystem', () => {
  const root = mkdtempSync(join(tmpdir(), 'whorl-store-'));
  return {
    store: new FilesystemStore(root),
    corrupt: async (key, bytes) => writeFileSync(join(root, ...key.split('/')), bytes),
  };
});

contractSuite('S3 on MinIO', () => {
  // 5 MiB is S3's minimum part size, so an 11 MiB file takes three parts.
  const store = localS3Store({ multipartPartSizeBytes: 5 * 1024 * 1024 });
  const { bucket } = loadEnvironment().s3;
  return {
    store,
    corrupt: async (key, bytes) => {
      const head = await store.head(key);
      await store.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, Metadata: { sha256: head?.sha256 ?? '' } }));
    },
  };
});

describe('S3 store errors', () => {
  it('names the endpoint and the fix when it is unreachable', async () => {
    const port = await unusedPort();
    const store = new S3Store({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', bucket: 'whorl', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    await assert.rejects(store.get('any'), (error: Error) => {
      assert.ok(error instanceof EndpointUnreachableError, `expected EndpointUnreachableError, got ${error.name}: ${error.message}`);
      assert.ok(error.message.includes(`cannot reach S3 endpoint http://127.0.0.1:${port} (ECONNREFUSED)`), error.message);
      return true;
    });
  });

  it('names the credential variables when the server rejects them', async () => {
    const { s3 } = loadEnvironment();
    const store = new S3Store({ ...s3, credentials: { accessKeyId: 'wrong-key', secretAccessKey: 'wrong-secret-value' }, maxAttempts: 1 });
    await assert.rejects(store.get('any'), (error: Error) => {
      assert.ok(error instanceof UserInputError, `expected UserInputError, got ${error.name}: ${error.message}`);
      assert.match(error.message, /rejected the credentials/);
      assert.match(error.message, /AWS_ACCESS_KEY_ID/);
      assert.ok(!error.message.includes('wrong-secret-value'), 'the secret must not appear in the message');
      return true;
    });
  });
});
