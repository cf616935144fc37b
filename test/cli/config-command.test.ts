import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeConnectionSettings, formatSettings, maskAccessKeyId } from '../../src/cli/config-command';
import { UserInputError } from '../../src/config/errors';

const execFileAsync = promisify(execFile);

/** Copies the environment without whorl, AWS or MLflow variables and with an empty home, so no local credentials file is found. */
function bareEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(WHORL_|AWS_|MLFLOW_|XDG_)/.test(name)) env[name] = value;
  }
  return { ...env, HOME: mkdtempSync(join(tmpdir(), 'whorl-config-home-')) };
}

async function runConfigCheck(env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['scripts/whorl.cjs', 'config', 'check'], { env, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: (failed.stdout ?? '') + (failed.stderr ?? '') };
  }
}

describe('whorl config check', () => {
  const folder = mkdtempSync(join(tmpdir(), 'whorl-config-'));
  const pem = join(folder, 'client.pem');
  writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

  const secrets = {
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI-secret-value-9f3a',
    WHORL_TEMPORAL_API_KEY: 'temporal-cloud-api-key-7c1e',
    MLFLOW_TRACKING_PASSWORD: 'mlflow-password-4d2b',
  };
  const remote: NodeJS.ProcessEnv = {
    WHORL_TEMPORAL_ADDRESS: 'whorl.a1b2c.tmprl.cloud:7233',
    WHORL_TEMPORAL_NAMESPACE: 'whorl.a1b2c',
    WHORL_S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com',
    WHORL_S3_REGION: 'eu-west-1',
    WHORL_S3_BUCKET: 'whorl-prod',
    WHORL_MLFLOW_URI: 'https://mlflow.example.internal',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    MLFLOW_TRACKING_USERNAME: 'whorl-ci',
    ...secrets,
  };

  it('prints resolved endpoints without secrets', async function () {
    this.timeout(60_000);
    const { code, output } = await runConfigCheck({ ...bareEnvironment(), ...remote });
    assert.equal(code, 0, output);
    for (const expected of ['whorl.a1b2c.tmprl.cloud:7233', 'whorl.a1b2c', 'https://s3.eu-west-1.amazonaws.com', 'eu-west-1', 'whorl-prod', 'https://mlflow.example.internal', 'user whorl-ci', '****MPLE']) {
      assert.ok(output.includes(expected), `expected "${expected}" in:\n${output}`);
    }
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(!output.includes(value), `${name} leaked into the output:\n${output}`);
    }
    assert.ok(!output.includes('AKIAIOSFODNN7EXAMPLE'), `the full access key id leaked into the output:\n${output}`);
  });

  it('exits 1 naming an invalid variable', async function () {
    this.timeout(60_000);
    const { code, output } = await runConfigCheck({ ...bareEnvironment(), WHORL_S3_ENDPOINT: 'minio:9000', AWS_SECRET_ACCESS_KEY: secrets.AWS_SECRET_ACCESS_KEY, AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE' });
    assert.equal(code, 1, output);
    assert.match(output, /^error: invalid WHORL_S3_ENDPOINT "minio:9000": expected an http:\/\/ or https:\/\/ URL/m);
    assert.ok(!output.includes(secrets.AWS_SECRET_ACCESS_KEY), `the secret leaked into the error output:\n${output}`);
  });

  it('reports the default provider chain without static credentials', () => {
    const sections = describeConnectionSettings({ ...bareEnvironment(), AWS_PROFILE: 'whorl', AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/whorl' });
    const s3 = sections.find((section) => section.component === 's3');
    const credentials = s3?.settings.find(([label]) => label === 'credentials')?.[1] ?? '';
    assert.match(credentials, /default provider chain \(set: AWS_PROFILE, AWS_ROLE_ARN\)/);
  });

  it('describes mTLS files and warns about basic auth over http', () => {
    const text = formatSettings(
      describeConnectionSettings({
        ...bareEnvironment(),
        WHORL_TEMPORAL_TLS_CERT: pem,
        WHORL_TEMPORAL_TLS_KEY: pem,
        WHORL_TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
        WHORL_MLFLOW_URI: 'http://10.0.0.5:5000',
        MLFLOW_TRACKING_USERNAME: 'whorl',
        MLFLOW_TRACKING_PASSWORD: secrets.MLFLOW_TRACKING_PASSWORD,
      }),
    );
    assert.match(text, new RegExp(`tls +on: client certificate ${pem}, key ${pem}, system CAs, server name temporal\\.internal`));
    assert.match(text, /warning +credentials would travel unencrypted over http:\/\//);
    assert.ok(!text.includes(secrets.MLFLOW_TRACKING_PASSWORD));
  });

  it('masks short access key ids completely', () => {
    assert.equal(maskAccessKeyId('AKIAIOSFODNN7EXAMPLE'), '****MPLE');
    assert.equal(maskAccessKeyId('shortkey'), '[redacted]');
  });

  const invalid: Array<[string, NodeJS.ProcessEnv, RegExp]> = [
    ['Temporal address without a port', { WHORL_TEMPORAL_ADDRESS: 'temporal.internal' }, /invalid WHORL_TEMPORAL_ADDRESS "temporal\.internal": expected host:port/],
    ['namespace with a space', { WHORL_TEMPORAL_NAMESPACE: 'my namespace' }, /invalid WHORL_TEMPORAL_NAMESPACE "my namespace"/],
    ['empty namespace', { WHORL_TEMPORAL_NAMESPACE: '' }, /invalid WHORL_TEMPORAL_NAMESPACE ""/],
    ['bucket with capitals', { WHORL_S3_BUCKET: 'Whorl_Data' }, /invalid WHORL_S3_BUCKET "Whorl_Data": expected an S3 bucket name/],
    ['bucket of two characters', { WHORL_S3_BUCKET: 'wh' }, /invalid WHORL_S3_BUCKET "wh"/],
    ['region with a space', { WHORL_S3_REGION: 'eu west' }, /invalid WHORL_S3_REGION "eu west"/],
    ['S3 endpoint without a scheme', { WHORL_S3_ENDPOINT: 's3.amazonaws.com' }, /invalid WHORL_S3_ENDPOINT/],
    ['MLflow URI with another scheme', { WHORL_MLFLOW_URI: 'file:///tmp/mlruns' }, /invalid WHORL_MLFLOW_URI "file:\/\/\/tmp\/mlruns": expected an http:\/\/ or https:\/\/ URL, got protocol file:/],
    ['access key without secret', { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE' }, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together/],
    ['MLflow username without password', { MLFLOW_TRACKING_USERNAME: 'whorl' }, /MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD must be set together/],
    ['MLflow token and username', { MLFLOW_TRACKING_TOKEN: 't', MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p' }, /both MLFLOW_TRACKING_TOKEN and MLFLOW_TRACKING_USERNAME are set/],
    ['empty MLflow token', { MLFLOW_TRACKING_TOKEN: ' ' }, /MLFLOW_TRACKING_TOKEN is set but empty/],
    ['TLS certificate without key', { WHORL_TEMPORAL_TLS_CERT: '/etc/whorl/tls/client.pem' }, /WHORL_TEMPORAL_TLS_CERT and WHORL_TEMPORAL_TLS_KEY must be set together/],
    ['missing CA file', { WHORL_TEMPORAL_TLS_CA: '/nonexistent/ca.pem' }, /cannot read WHORL_TEMPORAL_TLS_CA file \/nonexistent\/ca\.pem: ENOENT/],
  ];
  for (const [title, env, pattern] of invalid) {
    it(`rejects ${title}`, () => {
      assert.throws(
        () => describeConnectionSettings({ ...bareEnvironment(), ...env }),
        (error: unknown) => error instanceof UserInputError && pattern.test(error.message),
      );
    });
  }
});
