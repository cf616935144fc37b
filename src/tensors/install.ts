import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../logging';
import { runLogged } from '../stack/run-command';

/** Repository root, two folders above this file. */
const REPOSITORY_ROOT = resolve(__dirname, '..', '..');

export interface InstallNativeTensorflowOptions {
  /** `cpu` builds @tensorflow/tfjs-node; `gpu` builds @tensorflow/tfjs-node-gpu with CUDA libraries. Default `cpu`. */
  variant?: 'cpu' | 'gpu';
  env?: NodeJS.ProcessEnv;
}

/**
 * Installs the native TensorFlow backend by running
 * infra/tensorflow/install-native.sh: libtensorflow from the PyPI wheel,
 * cached under `<cacheDir>/tensorflow`, and the tfjs-node addon built against
 * it. A second run reuses the cache and takes about a second. The script's
 * output goes to `<cacheDir>/logs/install-native-tensorflow.log`.
 */
export async function installNativeTensorflow(
  cacheDir: string,
  logger: Logger,
  options: InstallNativeTensorflowOptions = {},
): Promise<void> {
  const variant = options.variant ?? 'cpu';
  const logDir = join(cacheDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const logPath = join(logDir, 'install-native-tensorflow.log');

  const started = Date.now();
  logger.info({ variant, cacheDir, logPath }, 'installing native TensorFlow backend');
  await runLogged('bash', [join(REPOSITORY_ROOT, 'infra', 'tensorflow', 'install-native.sh'), variant], {
    logPath,
    cwd: REPOSITORY_ROOT,
    env: { ...(options.env ?? process.env), WHORL_CACHE_DIR: cacheDir },
  });
  logger.info({ variant, seconds: (Date.now() - started) / 1000 }, 'native TensorFlow backend installed');
}
