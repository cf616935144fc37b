import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemStore } from '../../src/storage';
import { canonicalJson, runCachedStage, stageKey, type StageKeyInput } from '../../src/pipeline/stage-cache';
import { localS3Store, uniquePrefix } from '../support/stack';

const base: StageKeyInput = { stage: 'hashing', codeVersion: 1, config: { bits: 64, seed: 7 }, inputs: { features: 'abc' } };

describe('stage cache', () => {
  it('serializes keys in sorted order at every depth', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } }), '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
  });

  it('gives equal keys for reordered configs', () => {
    assert.equal(stageKey(base), stageKey({ ...base, config: { seed: 7, bits: 64 } }));
  });

  const changes: Array<[string, StageKeyInput]> = [
    ['config', { ...base, config: { bits: 32, seed: 7 } }],
    ['seed', { ...base, config: { bits: 64, seed: 8 } }],
    ['input hash', { ...base, inputs: { features: 'abd' } }],
    ['code version', { ...base, codeVersion: 2 }],
    ['stage name', { ...base, stage: 'index' }],
  ];
  for (const [what, changed] of changes) {
    it(`changes the key when the ${what} changes`, () => {
      assert.notEqual(stageKey(changed), stageKey(base));
    });
  }

  for (const [name, makeStore] of [
    ['filesystem', () => new FilesystemStore(mkdtempSync(join(tmpdir(), 'whorl-stage-')))],
    ['S3 on MinIO', () => localS3Store()],
  ] as const) {
    it(`reuses a finished stage on ${name}`, async () => {
      const store = makeStore();
      const keyInput = { ...base, inputs: { features: uniquePrefix('stage') } };
      let runs = 0;
      const run = async (prefix: string) => {
        runs++;
        await store.put(`${prefix}codes.bin`, 'codes');
        return { codesKey: `${prefix}codes.bin` };
      };
      const first = await runCachedStage(store, keyInput, run);
      const second = await runCachedStage(store, keyInput, run);
      assert.equal(runs, 1);
      assert.equal(first.cached, false);
      assert.equal(second.cached, true);
      assert.deepEqual(second.output, first.output);
      assert.equal(second.prefix, first.prefix);
    });
  }

  it('runs a stage again when the previous attempt died before finishing', async () => {
    const store = new FilesystemStore(mkdtempSync(join(tmpdir(), 'whorl-stage-')));
    await assert.rejects(
      runCachedStage(store, base, async (prefix) => {
        await store.put(`${prefix}partial.bin`, 'half');
        throw new Error('worker died');
      }),
      /worker died/,
    );
    const retried = await runCachedStage(store, base, async () => 'complete');
    assert.equal(retried.cached, false);
    assert.equal(retried.output, 'complete');
  });
});
