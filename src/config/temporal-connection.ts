import { readFileSync } from 'node:fs';
import type { Environment } from './environment';
import { UserInputError } from './errors';

/**
 * TLS and authentication settings for a Temporal cluster or Temporal Cloud,
 * read from the environment. Values are file paths or the API key itself;
 * none of them is ever logged.
 *
 * | variable                         | meaning |
 * |----------------------------------|---------|
 * | WHORL_TEMPORAL_TLS_CERT, WHORL_TEMPORAL_TLS_KEY | client certificate and key files for mTLS, set together |
 * | WHORL_TEMPORAL_TLS_CA            | server root CA file, when the OS does not trust the server's issuer |
 * | WHORL_TEMPORAL_TLS_SERVER_NAME   | TLS server name, when it differs from the address host |
 * | WHORL_TEMPORAL_API_KEY           | Temporal Cloud API key; turns TLS on |
 */
export interface TemporalConnectionSettings {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Uint8Array;
    clientCertPair?: { crt: Uint8Array; key: Uint8Array };
  };
  apiKey?: string;
}

function readPemFile(variable: string, path: string): Uint8Array {
  try {
    const bytes = readFileSync(path);
    if (!bytes.toString('utf8').includes('-----BEGIN ')) {
      throw new UserInputError(`invalid ${variable} file ${path}: expected a PEM file starting with "-----BEGIN"`);
    }
    return bytes;
  } catch (error) {
    if (error instanceof UserInputError) throw error;
    throw new UserInputError(`cannot read ${variable} file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; point ${variable} at a readable PEM file`);
  }
}

/** Validates the TLS and API key variables and returns options for a Temporal connection. */
export function temporalConnectionSettings(environment: Environment, env: NodeJS.ProcessEnv = process.env): TemporalConnectionSettings {
  const certPath = env.WHORL_TEMPORAL_TLS_CERT;
  const keyPath = env.WHORL_TEMPORAL_TLS_KEY;
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new UserInputError('WHORL_TEMPORAL_TLS_CERT and WHORL_TEMPORAL_TLS_KEY must be set together for mTLS; set both or neither');
  }
  const apiKey = env.WHORL_TEMPORAL_API_KEY;
  if (apiKey !== undefined && apiKey.trim() === '') {
    throw new UserInputError('WHORL_TEMPORAL_API_KEY is set but empty; set it to a Temporal Cloud API key or unset it');
  }
  const caPath = env.WHORL_TEMPORAL_TLS_CA;
  const serverName = env.WHORL_TEMPORAL_TLS_SERVER_NAME;

  const useTls = certPath !== undefined || caPath !== undefined || serverName !== undefined || apiKey !== undefined;
  if (!useTls) return { address: environment.temporal.address };

  return {
    address: environment.temporal.address,
    tls: {
      serverNameOverride: serverName,
      serverRootCACertificate: caPath === undefined ? undefined : readPemFile('WHORL_TEMPORAL_TLS_CA', caPath),
      clientCertPair:
        certPath === undefined || keyPath === undefined
          ? undefined
          : { crt: readPemFile('WHORL_TEMPORAL_TLS_CERT', certPath), key: readPemFile('WHORL_TEMPORAL_TLS_KEY', keyPath) },
    },
    apiKey,
  };
}
