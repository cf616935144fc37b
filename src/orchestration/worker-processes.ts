import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from '../stack/versions';

export interface WorkerProcess {
  queueClass: 'cpu' | 'gpu';
  child: ChildProcess;
  logPath: string;
  /** Resolves once the worker logged that it polls its task queue. */
  ready: Promise<void>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Starts a worker as a child process (`node scripts/worker.cjs <class> <config>`),
 * with its output in `logPath`. Used by `whorl pipeline run` and by tests that
 * kill a worker mid-stage.
 */
export function startWorkerProcess(options: {
  queueClass: 'cpu' | 'gpu';
  configPath: string;
  logDir: string;
  env?: NodeJS.ProcessEnv;
  label?: string;
}): WorkerProcess {
  mkdirSync(options.logDir, { recursive: true });
  const logPath = join(options.logDir, `worker-${options.label ?? options.queueClass}.log`);
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(process.execPath, [join(REPOSITORY_ROOT, 'scripts', 'worker.cjs'), options.queueClass, options.configPath], {
    cwd: REPOSITORY_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      log.write(chunk);
      buffered = (buffered + chunk.toString('utf8')).slice(-4096);
      if (buffered.includes('"msg":"worker started"')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`${options.queueClass} worker exited with code ${code} before it started; see ${logPath}`)));
  });
  // A rejection after start-up is reported through `exited`, so keep it from becoming unhandled.
  ready.catch(() => undefined);
  void exited.then(() => log.end());

  return { queueClass: options.queueClass, child, logPath, ready, exited };
}

/** Asks a worker to shut down gracefully (SIGTERM) and waits up to `graceMs` before SIGKILL. */
export async function stopWorkerProcess(worker: WorkerProcess, graceMs = 40_000): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), graceMs);
  try {
    await worker.exited;
  } finally {
    clearTimeout(timer);
  }
}
