import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../logging';
import { localS3CredentialsPath, type S3Credentials } from '../config/environment';
import { S3Store } from '../storage/s3-store';
import { installedPaths } from './install';
import { canConnect, isOurProcess, isPortFree, readPidRecord, removePidRecord, sleep, startDetached, stopProcess, type PidRecord } from './processes';
import { stackPorts, type StackVersions } from './versions';

export type ServiceName = 'minio' | 'temporal' | 'mlflow';
export const SERVICE_NAMES: ServiceName[] = ['minio', 'temporal', 'mlflow'];

export interface StackContext {
  cacheDir: string;
  stateDir: string;
  versions: StackVersions;
  /** Bind address of every service: loopback unless WHORL_STACK_HOST sets another. */
  host: string;
  bucket: string;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface ServiceStatus {
  name: ServiceName;
  running: boolean;
  healthy: boolean;
  pid?: number;
  address: string;
  uiAddress?: string;
  logPath: string;
}

const HEALTH_TIMEOUT_MS: Record<ServiceName, number> = { minio: 60_000, temporal: 90_000, mlflow: 180_000 };

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function pidPath(context: StackContext, name: ServiceName): string {
  return join(context.stateDir, 'pids', `${name}.json`);
}

function logPath(context: StackContext, name: ServiceName): string {
  return join(context.stateDir, 'logs', `${name}.log`);
}

function addresses(context: StackContext, name: ServiceName): { address: string; uiAddress?: string; ports: number[] } {
  const ports = stackPorts(context.versions, context.env);
  switch (name) {
    case 'minio':
      return { address: `http://${context.host}:${ports.minio}`, uiAddress: `http://${context.host}:${ports.minioConsole}`, ports: [ports.minio, ports.minioConsole] };
    case 'temporal':
      return { address: `${context.host}:${ports.temporal}`, uiAddress: `http://${context.host}:${ports.temporalUi}`, ports: [ports.temporal, ports.temporalUi] };
    case 'mlflow':
      return { address: `http://${context.host}:${ports.mlflow}`, uiAddress: `http://${context.host}:${ports.mlflow}`, ports: [ports.mlflow] };
  }
}

/** Reads the local MinIO credentials, generating and storing them (mode 0600) on first use. */
export async function localCredentials(context: StackContext): Promise<S3Credentials> {
  const path = localS3CredentialsPath({ ...context.env, WHORL_STATE_DIR: context.stateDir });
  if (existsSync(path)) {
    return JSON.parse(await readFile(path, 'utf8')) as S3Credentials;
  }
  const credentials: S3Credentials = {
    accessKeyId: `whorl-${randomBytes(6).toString('hex')}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(credentials) + '\n', { mode: 0o600 });
  context.logger.info({ path }, 'generated local MinIO credentials');
  return credentials;
}

async function isHealthy(context: StackContext, name: ServiceName): Promise<boolean> {
  const { address, uiAddress, ports } = addresses(context, name);
  try {
    switch (name) {
      case 'minio':
        return (await fetch(`${address}/minio/health/ready`, { signal: AbortSignal.timeout(2000) })).ok;
      case 'temporal':
        // The dev server opens its UI port after the frontend service is serving.
        return (await canConnect(context.host, ports[0])) && (await fetch(uiAddress ?? '', { signal: AbortSignal.timeout(2000) })).ok;
      case 'mlflow':
        return (await fetch(`${address}/health`, { signal: AbortSignal.timeout(2000) })).ok;
    }
  } catch {
    return false;
  }
}

async function commandFor(context: StackContext, name: ServiceName): Promise<{ binary: string; args: string[]; env: NodeJS.ProcessEnv }> {
  const paths = installedPaths(context.cacheDir, context.versions);
  const ports = stackPorts(context.versions, context.env);
  const baseEnv = { ...(context.env ?? process.env) };
  const credentials = await localCredentials(context);
  switch (name) {
    case 'minio': {
      const dataDir = join(context.stateDir, 'minio', 'data');
      await mkdir(dataDir, { recursive: true });
      return {
        binary: paths.minioBinary,
        args: ['server', dataDir, '--address', `${context.host}:${ports.minio}`, '--console-address', `${context.host}:${ports.minioConsole}`, '--quiet'],
        env: { ...baseEnv, MINIO_ROOT_USER: credentials.accessKeyId, MINIO_ROOT_PASSWORD: credentials.secretAccessKey, MINIO_UPDATE: 'off' },
      };
    }
    case 'temporal': {
      const dataDir = join(context.stateDir, 'temporal');
      await mkdir(dataDir, { recursive: true });
      return {
        binary: paths.temporalBinary,
        args: [
          'server', 'start-dev',
          // NOTE: the dev server of Temporal CLI v1.5.1 binds its internal services to --ip but dials
          // them at 127.0.0.1, so a non-loopback host only works as 0.0.0.0 (every interface).
          '--ip', isLoopback(context.host) ? context.host : '0.0.0.0',
          '--port', String(ports.temporal),
          '--ui-port', String(ports.temporalUi),
          '--db-filename', join(dataDir, 'temporal.db'),
          '--log-level', 'warn',
        ],
        env: baseEnv,
      };
    }
    case 'mlflow': {
      const dataDir = join(context.stateDir, 'mlflow');
      await mkdir(dataDir, { recursive: true });
      const artifactRoot = `s3://${context.bucket}/mlflow`;
      return {
        binary: paths.mlflowBinary,
        args: [
          'server',
          '--host', context.host,
          '--port', String(ports.mlflow),
          '--backend-store-uri', `sqlite:///${join(dataDir, 'mlflow.db')}`,
          '--default-artifact-root', artifactRoot,
          '--artifacts-destination', artifactRoot,
          '--workers', '1',
        ],
        env: {
          ...baseEnv,
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          MLFLOW_S3_ENDPOINT_URL: `http://${context.host}:${ports.minio}`,
          MLFLOW_S3_IGNORE_TLS: 'true',
        },
      };
    }
  }
}

async function startService(context: StackContext, name: ServiceName): Promise<ServiceStatus> {
  const existing = await readPidRecord(pidPath(context, name));
  if (existing !== undefined && isOurProcess(existing)) {
    await waitHealthy(context, name, existing);
    context.logger.info({ service: name, pid: existing.pid }, 'service already running');
    return status(context, name);
  }
  if (existing !== undefined) await removePidRecord(pidPath(context, name));

  const { binary, args, env } = await commandFor(context, name);
  if (!existsSync(binary)) {
    throw new Error(`${name} is not installed (expected ${binary}); run "whorl stack install" first`);
  }
  const { ports } = addresses(context, name);
  for (const port of ports) {
    if (!(await isPortFree(context.host, port))) {
      throw new Error(
        `port ${port} on ${context.host}, needed by ${name}, is already in use by another process; stop that process (see "ss -ltnp sport = :${port}") or choose other ports with the WHORL_*_PORT variables in docs/operations.md`,
      );
    }
  }

  const record = await startDetached(binary, args, { env, logPath: logPath(context, name), pidPath: pidPath(context, name), cwd: context.stateDir });
  context.logger.info({ service: name, pid: record.pid, log: record.logPath }, 'service started');
  await waitHealthy(context, name, record);
  return status(context, name);
}

async function waitHealthy(context: StackContext, name: ServiceName, record: PidRecord): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS[name];
  while (Date.now() < deadline) {
    if (await isHealthy(context, name)) return;
    if (!isOurProcess(record)) {
      const log = await readFile(record.logPath, 'utf8').catch(() => '');
      const tail = log.trim().split('\n').slice(-10).join('\n  ');
      throw new Error(`${name} exited during start-up; last log lines:\n  ${tail}\nfull log: ${record.logPath}`);
    }
    await sleep(500);
  }
  throw new Error(`${name} did not become healthy within ${HEALTH_TIMEOUT_MS[name] / 1000} s; see ${record.logPath}`);
}

/**
 * Starts MinIO, creates the bucket, then starts Temporal and MLflow.
 * Idempotent: services already running and healthy are left alone.
 */
export async function stackUp(context: StackContext): Promise<ServiceStatus[]> {
  await mkdir(context.stateDir, { recursive: true });
  const minio = await startService(context, 'minio');
  const credentials = await localCredentials(context);
  const store = new S3Store({ endpoint: minio.address, region: 'us-east-1', bucket: context.bucket, credentials });
  await store.ensureBucket();
  const [temporal, mlflow] = await Promise.all([startService(context, 'temporal'), startService(context, 'mlflow')]);
  return [minio, temporal, mlflow];
}

/** Stops one service if `stackUp` started it; returns false when it was not running. */
export async function stopService(context: StackContext, name: ServiceName): Promise<boolean> {
  const record = await readPidRecord(pidPath(context, name));
  const stopped = record !== undefined && (await stopProcess(record));
  await removePidRecord(pidPath(context, name));
  if (stopped) context.logger.info({ service: name, pid: record?.pid }, 'service stopped');
  return stopped;
}

/** Stops exactly the processes that `stackUp` recorded, MLflow and Temporal before MinIO. */
export async function stackDown(context: StackContext): Promise<Array<{ name: ServiceName; stopped: boolean }>> {
  const results: Array<{ name: ServiceName; stopped: boolean }> = [];
  for (const name of ['mlflow', 'temporal', 'minio'] as ServiceName[]) {
    results.push({ name, stopped: await stopService(context, name) });
  }
  return results;
}

export async function status(context: StackContext, name: ServiceName): Promise<ServiceStatus> {
  const record = await readPidRecord(pidPath(context, name));
  const running = record !== undefined && isOurProcess(record);
  const { address, uiAddress } = addresses(context, name);
  return { name, running, healthy: await isHealthy(context, name), pid: running ? record?.pid : undefined, address, uiAddress, logPath: logPath(context, name) };
}

export async function stackStatus(context: StackContext): Promise<ServiceStatus[]> {
  return Promise.all(SERVICE_NAMES.map((name) => status(context, name)));
}
