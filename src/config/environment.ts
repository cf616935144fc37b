import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { UserInputError } from './errors';

/**
 * Connection settings read from the environment. Every name has a default
 * that points at the local stack, so a fresh checkout needs no settings.
 *
 * | variable                    | default                      |
 * |-----------------------------|------------------------------|
 * | WHORL_TEMPORAL_ADDRESS      | 127.0.0.1:7233 (port from WHORL_TEMPORAL_PORT) |
 * | WHORL_TEMPORAL_NAMESPACE    | default                      |
 * | WHORL_S3_ENDPOINT           | http://127.0.0.1:9000 (port from WHORL_MINIO_PORT) |
 * | WHORL_S3_REGION             | us-east-1                    |
 * | WHORL_S3_BUCKET             | whorl                        |
 * | AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY | the local stack's generated credentials |
 * | WHORL_MLFLOW_URI            | http://127.0.0.1:5000 (port from WHORL_MLFLOW_PORT) |
 * | WHORL_CACHE_DIR             | $XDG_CACHE_HOME/whorl or ~/.cache/whorl |
 * | WHORL_STATE_DIR             | $XDG_STATE_HOME/whorl or ~/.local/state/whorl |
 */
export interface Environment {
  temporal: { address: string; namespace: string };
  s3: { endpoint: string; region: string; bucket: string; credentials?: S3Credentials };
  mlflow: { uri: string };
  cacheDir: string;
  stateDir: string;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.WHORL_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), '.cache'), 'whorl');
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.WHORL_STATE_DIR ?? join(env.XDG_STATE_HOME ?? join(env.HOME ?? homedir(), '.local', 'state'), 'whorl');
}

/** Path of the credentials file that `whorl stack up` writes for the local MinIO. */
export function localS3CredentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'minio', 'credentials.json');
}

function readLocalS3Credentials(env: NodeJS.ProcessEnv): S3Credentials | undefined {
  let text: string;
  try {
    text = readFileSync(localS3CredentialsPath(env), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as Partial<S3Credentials>;
  if (typeof parsed.accessKeyId !== 'string' || typeof parsed.secretAccessKey !== 'string') {
    throw new UserInputError(
      `invalid local credentials file ${localS3CredentialsPath(env)}: expected accessKeyId and secretAccessKey; delete it and run "whorl stack up" to generate new ones`,
    );
  }
  return { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey };
}

function validateUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserInputError(`invalid ${name} "${value}": expected an http:// or https:// URL such as http://127.0.0.1:9000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserInputError(`invalid ${name} "${value}": expected an http:// or https:// URL, got protocol ${url.protocol}`);
  }
  return value.replace(/\/+$/, '');
}

function validateHostPort(name: string, value: string): string {
  if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(value)) {
    throw new UserInputError(`invalid ${name} "${value}": expected host:port such as 127.0.0.1:7233`);
  }
  return value;
}

function validateMatch(name: string, value: string, pattern: RegExp, expected: string): string {
  if (!pattern.test(value)) {
    throw new UserInputError(`invalid ${name} "${value}": expected ${expected}`);
  }
  return value;
}

/** Checks that MLflow credentials form one complete method: a bearer token or a username and password. */
function validateMlflowAuth(env: NodeJS.ProcessEnv): void {
  const hasUsername = env.MLFLOW_TRACKING_USERNAME !== undefined;
  const hasPassword = env.MLFLOW_TRACKING_PASSWORD !== undefined;
  if (hasUsername !== hasPassword) {
    throw new UserInputError('MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD must be set together for basic authentication; set both or neither');
  }
  if (hasUsername && env.MLFLOW_TRACKING_TOKEN !== undefined) {
    throw new UserInputError('both MLFLOW_TRACKING_TOKEN and MLFLOW_TRACKING_USERNAME are set; keep the one your MLflow server expects and unset the other');
  }
  if (env.MLFLOW_TRACKING_TOKEN !== undefined && env.MLFLOW_TRACKING_TOKEN.trim() === '') {
    throw new UserInputError('MLFLOW_TRACKING_TOKEN is set but empty; set it to a token or unset it');
  }
}

/**
 * Reads and validates the connection settings. Credentials come from the
 * standard AWS variables when both are set, else from the local stack's
 * credentials file. When neither exists, the S3 client falls back to the AWS
 * SDK's default provider chain.
 */
export function loadEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new UserInputError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together; set both or neither');
  }
  const credentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : readLocalS3Credentials(env);
  validateMlflowAuth(env);

  return {
    temporal: {
      address: validateHostPort('WHORL_TEMPORAL_ADDRESS', env.WHORL_TEMPORAL_ADDRESS ?? `127.0.0.1:${env.WHORL_TEMPORAL_PORT ?? 7233}`),
      namespace: validateMatch('WHORL_TEMPORAL_NAMESPACE', env.WHORL_TEMPORAL_NAMESPACE ?? 'default', /^[A-Za-z0-9._-]+$/, 'a Temporal namespace name of letters, digits, ".", "_" and "-", such as default or whorl.a1b2c'),
    },
    s3: {
      endpoint: validateUrl('WHORL_S3_ENDPOINT', env.WHORL_S3_ENDPOINT ?? `http://127.0.0.1:${env.WHORL_MINIO_PORT ?? 9000}`),
      region: validateMatch('WHORL_S3_REGION', env.WHORL_S3_REGION ?? 'us-east-1', /^[a-z0-9-]+$/, 'a region name such as us-east-1'),
      bucket: validateMatch('WHORL_S3_BUCKET', env.WHORL_S3_BUCKET ?? 'whorl', /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name: 3 to 63 lowercase letters, digits, "." or "-"'),
      credentials,
    },
    mlflow: { uri: validateUrl('WHORL_MLFLOW_URI', env.WHORL_MLFLOW_URI ?? `http://127.0.0.1:${env.WHORL_MLFLOW_PORT ?? 5000}`) },
    cacheDir: cacheDir(env),
    stateDir: stateDir(env),
  };
}
