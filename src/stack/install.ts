import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Logger } from '../logging';
import { commandExists, runLogged } from './run-command';
import type { StackVersions } from './versions';

/** Paths of the installed components inside the cache folder. */
export interface InstalledPaths {
  temporalBinary: string;
  minioBinary: string;
  mlflowVenv: string;
  mlflowBinary: string;
}

export function installedPaths(cacheDir: string, versions: StackVersions): InstalledPaths {
  const packagesHash = createHash('sha256').update(versions.mlflow.packages.join('\n')).digest('hex').slice(0, 12);
  const mlflowVenv = join(cacheDir, 'venvs', `mlflow-${packagesHash}`);
  return {
    temporalBinary: join(cacheDir, 'bin', `temporal-${versions.temporal.version}`, 'temporal'),
    minioBinary: join(cacheDir, 'bin', `minio-${versions.minio.version}`, 'minio'),
    mlflowVenv,
    mlflowBinary: join(mlflowVenv, 'bin', 'mlflow'),
  };
}

async function installGoBinary(
  label: string,
  module: string,
  version: string,
  binaryPath: string,
  logDir: string,
  logger: Logger,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  if (existsSync(binaryPath)) {
    logger.info({ component: label, path: binaryPath }, 'component already installed');
    return 0;
  }
  if (!(await commandExists('go', env))) {
    throw new Error(`cannot build ${label}: the Go toolchain is not on PATH; install Go 1.24 or newer (Debian: apt-get install golang-go) and run "whorl stack install" again`);
  }
  const started = Date.now();
  const binDir = join(binaryPath, '..');
  await mkdir(binDir, { recursive: true });
  logger.info({ component: label, module, version }, 'building with go install; a cold build takes several minutes');
  try {
    await runLogged('go', ['install', `${module}@${version}`], {
      logPath: join(logDir, `install-${label}.log`),
      env: { ...env, GOBIN: binDir },
    });
  } catch (error) {
    await rm(binDir, { recursive: true, force: true });
    throw new Error(`failed to build ${label} ${version}: ${(error as Error).message}`);
  }
  const seconds = (Date.now() - started) / 1000;
  logger.info({ component: label, seconds }, 'component built');
  return seconds;
}

async function installMlflow(paths: InstalledPaths, versions: StackVersions, logDir: string, logger: Logger, env: NodeJS.ProcessEnv): Promise<number> {
  const marker = join(paths.mlflowVenv, '.whorl-installed');
  if (existsSync(marker)) {
    logger.info({ component: 'mlflow', path: paths.mlflowVenv }, 'component already installed');
    return 0;
  }
  const python = versions.mlflow.python;
  if (!(await commandExists(python, env))) {
    throw new Error(`cannot install MLflow: ${python} is not on PATH; install Python 3.10 or newer with its venv module (Debian: apt-get install python3 python3-venv)`);
  }
  const started = Date.now();
  const logPath = join(logDir, 'install-mlflow.log');
  await rm(paths.mlflowVenv, { recursive: true, force: true });
  logger.info({ component: 'mlflow', packages: versions.mlflow.packages }, 'installing into a virtual environment');
  try {
    await runLogged(python, ['-m', 'venv', paths.mlflowVenv], { logPath, env });
    await runLogged(join(paths.mlflowVenv, 'bin', 'pip'), ['install', '--disable-pip-version-check', '-q', ...versions.mlflow.packages], { logPath, env });
  } catch (error) {
    await rm(paths.mlflowVenv, { recursive: true, force: true });
    throw new Error(`failed to install MLflow: ${(error as Error).message}`);
  }
  await writeFile(marker, versions.mlflow.packages.join('\n') + '\n');
  const seconds = (Date.now() - started) / 1000;
  logger.info({ component: 'mlflow', seconds }, 'component installed');
  return seconds;
}

/**
 * Installs the Temporal CLI, MinIO and MLflow into the cache folder, in
 * parallel, skipping any component already present. Returns seconds spent
 * per component (0 for a cache hit).
 */
export async function installStack(
  cacheDir: string,
  versions: StackVersions,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<'temporal' | 'minio' | 'mlflow', number>> {
  const paths = installedPaths(cacheDir, versions);
  const logDir = join(cacheDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const results = await Promise.allSettled([
    installGoBinary('temporal', versions.temporal.module, versions.temporal.version, paths.temporalBinary, logDir, logger, env),
    installGoBinary('minio', versions.minio.module, versions.minio.version, paths.minioBinary, logDir, logger, env),
    installMlflow(paths, versions, logDir, logger, env),
  ]);
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [(result.reason as Error).message] : []));
  if (failures.length > 0) {
    throw new Error(`stack install failed:\n- ${failures.join('\n- ')}`);
  }
  const [temporal, minio, mlflow] = results.map((result) => (result.status === 'fulfilled' ? result.value : 0));
  return { temporal, minio, mlflow };
}
