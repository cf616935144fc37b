import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Pinned versions and default ports of the local stack, read from infra/versions.json. */
export interface StackVersions {
  temporal: { module: string; version: string };
  minio: { module: string; version: string };
  mlflow: { python: string; packages: string[] };
  ports: { temporal: number; temporalUi: number; minio: number; minioConsole: number; mlflow: number };
}

export const REPOSITORY_ROOT = join(__dirname, '..', '..');

export function loadStackVersions(): StackVersions {
  return JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'infra', 'versions.json'), 'utf8')) as StackVersions;
}

/** Ports after the WHORL_*_PORT overrides. */
export function stackPorts(versions: StackVersions, env: NodeJS.ProcessEnv = process.env): StackVersions['ports'] {
  const read = (name: string, fallback: number): number => {
    const value = env[name];
    if (value === undefined) return fallback;
    const port = Number(value);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`invalid ${name} "${value}": expected a port number between 1 and 65535`);
    }
    return port;
  };
  return {
    temporal: read('WHORL_TEMPORAL_PORT', versions.ports.temporal),
    temporalUi: read('WHORL_TEMPORAL_UI_PORT', versions.ports.temporalUi),
    minio: read('WHORL_MINIO_PORT', versions.ports.minio),
    minioConsole: read('WHORL_MINIO_CONSOLE_PORT', versions.ports.minioConsole),
    mlflow: read('WHORL_MLFLOW_PORT', versions.ports.mlflow),
  };
}
