import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { UserInputError } from '../config/errors';
import { silentLogger, type Logger } from '../logging';
import { registerConv2dGradient } from './conv2d-gradients';
import { registerCpuKernelFixes } from './cpu-kernels';
import { registerGatherGradient } from './gather-gradients';
import { registerNativeKernelFixes } from './native-kernels';
import { registerWasmTrainingKernels } from './wasm-kernels';

/** Values of `tensors.backend` in a run config and of WHORL_TENSOR_BACKEND. */
export const TENSOR_BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type TensorBackendChoice = (typeof TENSOR_BACKEND_CHOICES)[number];
export type TensorBackendName = Exclude<TensorBackendChoice, 'auto'>;

/** Order in which `auto` tries the backends: fastest first. */
export const AUTO_BACKEND_ORDER: readonly TensorBackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface TensorBackendOptions {
  /** Requested backend; WHORL_TENSOR_BACKEND overrides it. Default `auto`. */
  backend?: TensorBackendChoice;
  /**
   * Threads for the backend's kernels; WHORL_TENSOR_THREADS overrides it.
   * Default: os.availableParallelism(). Only the native backends use more than one.
   */
  threads?: number;
  /** Environment to read the overrides from; default process.env. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/** The backend in use after initialization. */
export interface TensorBackendInfo {
  name: TensorBackendName;
  /** Backend name inside tfjs: `tensorflow` for both native packages. */
  tfjsBackend: string;
  /** Threads the kernels run on. */
  threads: number;
  /** libtensorflow version for the native backends, else the tfjs package version. */
  version: string;
  /** True when the native GPU package found a GPU device. */
  gpuDevice: boolean;
  /** Backends tried before this one, with the reason each was skipped. */
  skipped: { name: TensorBackendName; reason: string }[];
}

/** The native package behind each native backend name. */
const NATIVE_PACKAGES = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
} as const;

type NativeBackendName = keyof typeof NATIVE_PACKAGES;

/** Part of tfjs-node's NodeJSKernelBackend that is read here. */
interface NativeKernelBackend {
  binding: { TF_Version: string };
  isUsingGpuDevice: boolean;
}

class BackendUnavailableError extends Error {}

let loadedNativePackage: { name: NativeBackendName; threads: number } | undefined;

function resolveChoice(options: TensorBackendOptions, env: NodeJS.ProcessEnv): TensorBackendChoice {
  const fromEnv = env.WHORL_TENSOR_BACKEND;
  const requested = fromEnv !== undefined && fromEnv !== '' ? fromEnv : options.backend ?? 'auto';
  if (!(TENSOR_BACKEND_CHOICES as readonly string[]).includes(requested)) {
    const source = fromEnv ? 'WHORL_TENSOR_BACKEND' : 'tensors.backend';
    throw new UserInputError(`invalid ${source} "${requested}": expected one of ${TENSOR_BACKEND_CHOICES.join(', ')}`);
  }
  return requested as TensorBackendChoice;
}

function resolveThreads(options: TensorBackendOptions, env: NodeJS.ProcessEnv): number {
  const fromEnv = env.WHORL_TENSOR_THREADS;
  if (fromEnv !== undefined && fromEnv !== '') {
    const threads = Number(fromEnv);
    if (!Number.isInteger(threads) || threads < 1) {
      throw new UserInputError(`invalid WHORL_TENSOR_THREADS "${fromEnv}": expected a positive integer such as 2`);
    }
    return threads;
  }
  if (options.threads !== undefined) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new UserInputError(`invalid tensors.threads ${options.threads}: expected a positive integer such as 2`);
    }
    return options.threads;
  }
  return availableParallelism();
}

function describeLoadError(packageName: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && message.includes(`'${packageName}'`)) {
    return `${packageName} is not installed`;
  }
  if (message.includes('tfjs_binding.node')) {
    return `the ${packageName} native addon is not built; run scripts/install-native-tensorflow.sh`;
  }
  return `loading ${packageName} failed: ${message.split('\n')[0]}`;
}

async function initializeNative(name: NativeBackendName, threads: number, logger: Logger): Promise<Omit<TensorBackendInfo, 'skipped'>> {
  const packageName = NATIVE_PACKAGES[name];
  if (loadedNativePackage !== undefined && loadedNativePackage.name !== name) {
    throw new BackendUnavailableError(
      `${NATIVE_PACKAGES[loadedNativePackage.name]} is already loaded in this process, and both packages register the same tfjs backend`,
    );
  }

  if (loadedNativePackage === undefined) {
    // TensorFlow reads these when tfjs-node creates its eager context, which
    // happens while the package loads, so they must be set before require.
    process.env.TF_NUM_INTRAOP_THREADS ??= String(threads);
    process.env.TF_NUM_INTEROP_THREADS ??= String(threads);
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(packageName);
    } catch (error) {
      throw new BackendUnavailableError(describeLoadError(packageName, error));
    }
    loadedNativePackage = { name, threads: Number(process.env.TF_NUM_INTRAOP_THREADS) };
  } else if (loadedNativePackage.threads !== threads) {
    logger.warn(
      { backend: name, requestedThreads: threads, threads: loadedNativePackage.threads },
      'tensor threads cannot change after TensorFlow has started; keeping the first value',
    );
  }

  registerNativeKernelFixes();
  if (!(await tf.setBackend('tensorflow'))) {
    throw new BackendUnavailableError(`${packageName} loaded, but the tfjs backend "tensorflow" failed to initialize`);
  }
  const backend = tf.backend() as unknown as NativeKernelBackend;
  if (name === 'tensorflow-gpu' && !backend.isUsingGpuDevice) {
    logger.warn({ backend: name }, 'TensorFlow found no GPU device; its kernels run on the CPU');
  }
  return {
    name,
    tfjsBackend: 'tensorflow',
    threads: loadedNativePackage.threads,
    version: backend.binding.TF_Version,
    gpuDevice: backend.isUsingGpuDevice,
  };
}

async function initializeWasm(threads: number, logger: Logger): Promise<Omit<TensorBackendInfo, 'skipped'>> {
  let wasmVersion: string;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    wasmVersion = (require('@tensorflow/tfjs-backend-wasm') as { version_wasm: string }).version_wasm;
  } catch (error) {
    throw new BackendUnavailableError(describeLoadError('@tensorflow/tfjs-backend-wasm', error));
  }
  registerWasmTrainingKernels();

  // NOTE: @tensorflow/tfjs-backend-wasm 4.22 turns its multi-threaded build off
  // in Node.js, and forcing it on fails: its pthread workers start from blob:
  // URLs, which worker_threads rejects with ERR_WORKER_PATH. Kernels run on
  // one thread.
  if (threads > 1) {
    logger.debug({ backend: 'wasm', requestedThreads: threads }, 'the wasm backend runs on one thread in Node.js');
  }
  if (!(await tf.setBackend('wasm'))) {
    throw new BackendUnavailableError('the tfjs backend "wasm" failed to initialize');
  }
  return { name: 'wasm', tfjsBackend: 'wasm', threads: 1, version: wasmVersion, gpuDevice: false };
}

async function initializeCpu(): Promise<Omit<TensorBackendInfo, 'skipped'>> {
  if (!(await tf.setBackend('cpu'))) {
    throw new BackendUnavailableError('the tfjs backend "cpu" failed to initialize');
  }
  return { name: 'cpu', tfjsBackend: 'cpu', threads: 1, version: tf.version_core, gpuDevice: false };
}

async function initializeOne(name: TensorBackendName, threads: number, logger: Logger): Promise<Omit<TensorBackendInfo, 'skipped'>> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      return initializeNative(name, threads, logger);
    case 'wasm':
      return initializeWasm(threads, logger);
    case 'cpu':
      return initializeCpu();
  }
}

/**
 * Selects and starts the tfjs backend for this process: the requested one, or
 * with `auto` the first that starts of tensorflow-gpu (@tensorflow/tfjs-node-gpu),
 * tensorflow (@tensorflow/tfjs-node), wasm and cpu. WHORL_TENSOR_BACKEND and
 * WHORL_TENSOR_THREADS override the options.
 *
 * tfjs keeps one backend per process, so call this once at process start,
 * before building models. It also installs the gradients and kernels that
 * training needs: a Conv2D gradient with dilation and a GatherV2 gradient that
 * accepts computed indices (both for every backend), the kernels the wasm
 * backend lacks, replacements for incorrect wasm and cpu gradient kernels,
 * and a faster Step kernel on the native backend.
 *
 * Raises UserInputError when the request is invalid or the requested backend
 * cannot start.
 */
export async function initializeTensorBackend(options: TensorBackendOptions = {}): Promise<TensorBackendInfo> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger;
  const choice = resolveChoice(options, env);
  const threads = resolveThreads(options, env);
  registerConv2dGradient();
  registerGatherGradient();
  registerCpuKernelFixes();

  const candidates = choice === 'auto' ? AUTO_BACKEND_ORDER : [choice];
  const skipped: TensorBackendInfo['skipped'] = [];
  for (const name of candidates) {
    try {
      const info: TensorBackendInfo = { ...(await initializeOne(name, threads, logger)), skipped };
      logger.info(
        { backend: info.name, threads: info.threads, version: info.version, gpuDevice: info.gpuDevice, skipped },
        'tensor backend ready',
      );
      return info;
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) {
        throw error;
      }
      skipped.push({ name, reason: error.message });
      logger.debug({ backend: name, reason: error.message }, 'tensor backend unavailable');
    }
  }

  const reasons = skipped.map((entry) => `${entry.name}: ${entry.reason}`).join('; ');
  throw new UserInputError(
    `tensor backend "${choice}" is not available (${reasons}); set tensors.backend or WHORL_TENSOR_BACKEND to auto, wasm or cpu`,
  );
}

/** Run parameters that record the backend in an experiment tracker. */
export function tensorBackendRunParameters(info: TensorBackendInfo): Record<string, string> {
  return {
    'tensors.backend': info.name,
    'tensors.threads': String(info.threads),
    'tensors.version': info.version,
  };
}
