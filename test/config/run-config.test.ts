import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironment } from '../../src/config/environment';
import { UserInputError } from '../../src/config/errors';
import { loadRunConfig, parseRunConfig } from '../../src/config/run-config';

function writeConfig(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'whorl-config-')), 'run.yaml');
  writeFileSync(path, text);
  return path;
}

describe('run config', () => {
  it('loads the demo config with defaults filled in', () => {
    const config = loadRunConfig('configs/demo.yaml');
    assert.equal(config.name, 'demo');
    assert.equal(config.queues.cpu, 'whorl-cpu');
    assert.equal(config.queues.gpu, 'whorl-gpu');
    assert.equal(config.tensors.backend, 'auto');
  });

  const invalidCases: Array<{ title: string; yaml: string; keyPath: string; shown: string }> = [
    { title: 'wrong type', yaml: 'name: demo\nseed: "seven"\n', keyPath: 'seed', shown: '"seven"' },
    { title: 'negative seed', yaml: 'name: demo\nseed: -1\n', keyPath: 'seed', shown: '-1' },
    { title: 'misspelt key', yaml: 'name: demo\nsede: 1\n', keyPath: '(top level)', shown: 'sede' },
    { title: 'bad enum value', yaml: 'name: demo\ntensors:\n  backend: cuda\n', keyPath: 'tensors.backend', shown: '"cuda"' },
    { title: 'missing name', yaml: 'seed: 1\n', keyPath: 'name', shown: 'missing' },
    { title: 'filesystem store without root', yaml: 'name: demo\nstorage:\n  kind: filesystem\n', keyPath: 'storage.root', shown: 'missing' },
    { title: 'an empty section', yaml: 'name: demo\ndata:\n', keyPath: 'data', shown: 'got an empty value); the key has no value; fill it in as configs/demo.yaml does, or remove the key' },
    { title: 'a section without its required list', yaml: 'name: demo\ndata:\n  imageSizePx: 64\n', keyPath: 'data.sources', shown: 'got missing); add it as configs/demo.yaml does' },
    { title: 'a storage prefix, which no store applies', yaml: 'name: demo\nstorage:\n  prefix: runs/\n', keyPath: 'storage.prefix', shown: '"runs/"' },
  ];
  for (const testCase of invalidCases) {
    it(`rejects ${testCase.title} naming key path and value`, () => {
      const path = writeConfig(testCase.yaml);
      assert.throws(
        () => loadRunConfig(path),
        (error: Error) => {
          assert.ok(error instanceof UserInputError, `expected UserInputError, got ${error.name}`);
          assert.match(error.message, new RegExp(`invalid run config ${path}`));
          assert.ok(error.message.includes(testCase.keyPath), `message should name ${testCase.keyPath}: ${error.message}`);
          assert.ok(error.message.includes(testCase.shown), `message should show ${testCase.shown}: ${error.message}`);
          return true;
        },
      );
    });
  }

  it('accepts an empty storage prefix from older configs', () => {
    assert.equal(parseRunConfig({ name: 'demo', storage: { kind: 's3', prefix: '' } }, 'inline').storage.kind, 's3');
  });

  it('rejects invalid YAML with the parser position', () => {
    const path = writeConfig('name: demo\nqueues: [unclosed\n');
    assert.throws(() => loadRunConfig(path), /invalid YAML in run config .*line/);
  });

  it('rejects a missing file naming the path', () => {
    assert.throws(() => loadRunConfig('/nonexistent/run.yaml'), /cannot read run config \/nonexistent\/run.yaml/);
  });

  it('shows a misspelt key without its section', () => {
    const longName = 'x'.repeat(300);
    assert.throws(
      () => parseRunConfig({ name: 'demo', tracking: { experiment: longName, experimnet: 'typo' } }, 'inline'),
      (error: Error) => {
        assert.match(error.message, /tracking: Unrecognized key: "experimnet"; did you mean "experiment"\?/);
        assert.ok(!error.message.includes(longName), `the message repeats the whole section: ${error.message}`);
        return true;
      },
    );
  });

  it('suggests keys in nested sections', () => {
    assert.throws(
      () => parseRunConfig({ name: 'demo', sensor: { augmentation: { maxContrst: 2, keepframe: true } } }, 'inline'),
      /sensor\.augmentation: Unrecognized keys: "maxContrst", "keepframe"; did you mean "maxContrast" for "maxContrst", "keepFrame" for "keepframe"\?/,
    );
    assert.throws(() => parseRunConfig({ name: 'demo', data: { sources: [{ name: 'a', layout: 'fvc', rot: '/x' }] } }, 'inline'), /data\.sources\.0: Unrecognized key: "rot"; did you mean "root"\?/);
  });

  it('keeps spelling advice without a match', () => {
    assert.throws(() => parseRunConfig({ name: 'demo', tracking: { zzzz: 1 } }, 'inline'), /tracking: Unrecognized key: "zzzz"; check its spelling/);
  });

  it('lists every problem at once', () => {
    assert.throws(
      () => parseRunConfig({ name: 'Bad Name', seed: 1.5 }, 'inline'),
      (error: Error) => error.message.includes('name:') && error.message.includes('seed:'),
    );
  });
});

describe('environment', () => {
  it('defaults to the local stack on loopback', () => {
    const environment = loadEnvironment({ HOME: '/home/user' });
    assert.equal(environment.temporal.address, '127.0.0.1:7233');
    assert.equal(environment.s3.endpoint, 'http://127.0.0.1:9000');
    assert.equal(environment.mlflow.uri, 'http://127.0.0.1:5000');
    assert.equal(environment.cacheDir, '/home/user/.cache/whorl');
  });

  it('rejects a malformed endpoint naming the variable', () => {
    assert.throws(() => loadEnvironment({ WHORL_S3_ENDPOINT: 'minio:9000' }), /invalid WHORL_S3_ENDPOINT "minio:9000"/);
    assert.throws(() => loadEnvironment({ WHORL_TEMPORAL_ADDRESS: 'http://x' }), /invalid WHORL_TEMPORAL_ADDRESS/);
  });

  it('requires both AWS credential variables together', () => {
    assert.throws(() => loadEnvironment({ AWS_ACCESS_KEY_ID: 'only-the-id' }), /must be set together/);
  });

  it('prefers AWS credential variables over the local stack file', () => {
    const environment = loadEnvironment({ AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', WHORL_STATE_DIR: '/nonexistent' });
    assert.deepEqual(environment.s3.credentials, { accessKeyId: 'id', secretAccessKey: 'secret' });
  });
});
