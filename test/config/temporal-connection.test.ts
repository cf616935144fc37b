import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironment } from '../../src/config/environment';
import { UserInputError } from '../../src/config/errors';
import { temporalConnectionSettings } from '../../src/config/temporal-connection';

describe('Temporal connection settings', () => {
  const environment = loadEnvironment({ HOME: '/home/user' });
  const folder = mkdtempSync(join(tmpdir(), 'whorl-tls-'));
  const pem = join(folder, 'client.pem');
  writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const notPem = join(folder, 'client.txt');
  writeFileSync(notPem, 'not a certificate');

  it('uses plain gRPC without TLS variables', () => {
    assert.deepEqual(temporalConnectionSettings(environment, {}), { address: '127.0.0.1:7233' });
  });

  it('turns TLS on for an API key', () => {
    const settings = temporalConnectionSettings(environment, { WHORL_TEMPORAL_API_KEY: 'key-value' });
    assert.equal(settings.apiKey, 'key-value');
    assert.ok(settings.tls !== undefined);
  });

  it('loads a client certificate pair for mTLS', () => {
    const settings = temporalConnectionSettings(environment, { WHORL_TEMPORAL_TLS_CERT: pem, WHORL_TEMPORAL_TLS_KEY: pem });
    assert.ok(settings.tls?.clientCertPair?.crt.length);
    assert.ok(settings.tls?.clientCertPair?.key.length);
  });

  const invalid: Array<[string, NodeJS.ProcessEnv, RegExp]> = [
    ['certificate without key', { WHORL_TEMPORAL_TLS_CERT: pem }, /must be set together/],
    ['missing CA file', { WHORL_TEMPORAL_TLS_CA: join(folder, 'absent.pem') }, /cannot read WHORL_TEMPORAL_TLS_CA file .*absent\.pem: ENOENT/],
    ['file that is not PEM', { WHORL_TEMPORAL_TLS_CERT: notPem, WHORL_TEMPORAL_TLS_KEY: pem }, /invalid WHORL_TEMPORAL_TLS_CERT file .*expected a PEM file/],
    ['empty API key', { WHORL_TEMPORAL_API_KEY: ' ' }, /WHORL_TEMPORAL_API_KEY is set but empty/],
  ];
  for (const [title, env, pattern] of invalid) {
    it(`rejects ${title}`, () => {
      assert.throws(() => temporalConnectionSettings(environment, env), (error: Error) => {
        assert.ok(error instanceof UserInputError, error.name);
        assert.match(error.message, pattern);
        return true;
      });
    });
  }

  it('keeps the API key out of error messages', () => {
    assert.throws(
      () => temporalConnectionSettings(environment, { WHORL_TEMPORAL_API_KEY: 'secret-key-123', WHORL_TEMPORAL_TLS_CA: join(folder, 'absent.pem') }),
      (error: Error) => !error.message.includes('secret-key-123'),
    );
  });
});
