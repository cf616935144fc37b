import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemStore, activateVersion, publishVersion, readCurrentVersion, sha256Hex, type ObjectStore } from '../../src/storage';
import { localS3Store, uniquePrefix } from '../support/stack';

interface TestManifest {
  label: string;
  shardCount: number;
}

/** Writes `shardCount` shards whose bodies all name the same label, so a mixed read is detectable. */
async function publishLabelled(store: ObjectStore, root: string, label: string, shardCount: number) {
  return publishVersion<TestManifest>(
    store,
    root,
    async (prefix) => {
      for (let shard = 0; shard < shardCount; shard++) {
        await store.put(`${prefix}shard-${shard}.bin`, `${label}:${shard}:${'x'.repeat(2000)}`);
      }
    },
    { label, shardCount },
  );
}

for (const [name, makeStore] of [
  ['filesystem', () => new FilesystemStore(mkdtempSync(join(tmpdir(), 'whorl-publish-')))],
  ['S3 on MinIO', () => localS3Store()],
] as Array<[string, () => ObjectStore]>) {
  describe(`versioned publish: ${name}`, () => {
    it('returns nothing before the first version', async () => {
      assert.equal(await readCurrentVersion(makeStore(), uniquePrefix('publish')), undefined);
    });

    it('publishes consecutive versions with checksums in the manifest', async () => {
      const store = makeStore();
      const root = uniquePrefix('publish');
      const first = await publishLabelled(store, root, 'one', 2);
      const second = await publishLabelled(store, root, 'two', 3);
      assert.equal(first.version, 1);
      assert.equal(second.version, 2);

      const current = await readCurrentVersion<TestManifest>(store, root);
      assert.equal(current?.version, 2);
      assert.equal(current?.manifest.label, 'two');
      assert.deepEqual(Object.keys(current?.manifest.objects ?? {}).sort(), ['shard-0.bin', 'shard-1.bin', 'shard-2.bin']);
      const body = await store.get(`${current?.prefix}shard-1.bin`);
      assert.equal(current?.manifest.objects['shard-1.bin'].sha256, sha256Hex(body));
    });

    it('activates an earlier version and numbers the next publish past the highest', async () => {
      const store = makeStore();
      const root = uniquePrefix('publish');
      await publishLabelled(store, root, 'one', 1);
      await publishLabelled(store, root, 'two', 1);
      assert.equal(await activateVersion(store, root, 1), true);
      assert.equal((await readCurrentVersion<TestManifest>(store, root))?.manifest.label, 'one');
      assert.equal(await activateVersion(store, root, 1), false, 'already current');

      const third = await publishLabelled(store, root, 'three', 1);
      assert.equal(third.version, 3, 'version 2 is not written again');
      assert.equal(Buffer.from(await store.get(`${root}v0002/shard-0.bin`)).toString('utf8').split(':')[0], 'two');
      await assert.rejects(activateVersion(store, root, 9), /cannot make version 9 of .* current: .*v0009\/manifest\.json does not exist/);
    });

    it('gives racing publishers distinct versions', async () => {
      const store = makeStore();
      const root = uniquePrefix('publish');
      const results = await Promise.all([publishLabelled(store, root, 'a', 1), publishLabelled(store, root, 'b', 1), publishLabelled(store, root, 'c', 1)]);
      const versions = results.map((result) => result.version).sort();
      assert.deepEqual(versions, [1, 2, 3]);
      assert.equal((await readCurrentVersion(store, root))?.version, 3);
    });

    it('never shows a concurrent reader a half-written version', async function () {
      this.timeout(120_000);
      const store = makeStore();
      const root = uniquePrefix('publish');
      await publishLabelled(store, root, 'v0', 4);

      let writing = true;
      const writer = (async () => {
        try {
          for (let index = 1; index <= 6; index++) await publishLabelled(store, root, `v${index}`, 4);
        } finally {
          writing = false;
        }
      })();

      let reads = 0;
      const labelsSeen = new Set<string>();
      while (writing) {
        const current = await readCurrentVersion<TestManifest>(store, root);
        assert.ok(current !== undefined, 'CURRENT vanished during a publish');
        assert.equal(Object.keys(current.manifest.objects).length, current.manifest.shardCount);
        for (const name of Object.keys(current.manifest.objects)) {
          const body = Buffer.from(await store.get(current.prefix + name)).toString('utf8');
          assert.ok(body.startsWith(`${current.manifest.label}:`), `shard ${name} of ${current.manifest.label} holds ${body.slice(0, 10)}`);
        }
        labelsSeen.add(current.manifest.label);
        reads++;
      }
      await writer;
      assert.ok(reads > 1, 'the reader should overlap the writer');
      assert.ok(labelsSeen.size > 1, `the reader saw only ${[...labelsSeen].join(',')}`);
    });
  });
}
