import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadStackVersions, REPOSITORY_ROOT } from '../../src/stack/versions';
import type { S3Credentials } from '../../src/config/environment';
import type { TestHost, TestNetwork } from './test-network';

/**
 * whorl spread over test hosts: the local stack's services on one host,
 * worker processes on others and a workload driver on a client host. Every
 * process runs inside a test namespace with its own hostname, so Temporal's
 * default worker identity `<pid>@<hostname>` names the host.
 */

export type QueueClass = 'cpu' | 'gpu';

export interface DriverEvent {
  event: 'started' | 'running' | 'completed' | 'failed';
  [key: string]: unknown;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function tail(path: string, lines = 20): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join('\n  ');
}

/** Copies the environment without any whorl, AWS or MLflow setting, so only what the cluster sets reaches its processes. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(WHORL_|AWS_|MLFLOW_)/.test(name) && name !== 'WHORL_CACHE_DIR') continue;
    env[name] = value;
  }
  return env;
}

/** Runs `argv` inside the host's namespace under its own hostname (a new UTS namespace). */
function spawnOnHost(host: TestHost, argv: string[], options: { env: NodeJS.ProcessEnv; stdio: Array<'ignore' | 'pipe' | number> }): ChildProcess {
  // `ip netns exec`, `unshare` and `sh -c exec` all replace themselves, so the child's pid is the pid of argv[0].
  return spawn('ip', ['netns', 'exec', host.namespace, 'unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', host.name, ...argv], {
    cwd: REPOSITORY_ROOT,
    env: options.env,
    stdio: options.stdio as never,
  });
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${timeoutMs / 1000} s`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** A workload driver on the client host, read one JSON event at a time. */
export class DriverProcess {
  private readonly events: DriverEvent[] = [];
  private readonly waiters: Array<() => void> = [];
  private readonly stderr: string[] = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as DriverEvent);
      } catch {
        this.stderr.push(line);
      }
      this.waiters.splice(0).forEach((wake) => wake());
    });
    child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString('utf8')));
    child.once('exit', () => this.waiters.splice(0).forEach((wake) => wake()));
  }

  /** Waits for the next event named `name`, failing on a "failed" event, an early exit or after `timeoutMs`. */
  async next(name: DriverEvent['event'], timeoutMs: number): Promise<DriverEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.events.findIndex((event) => event.event === name || event.event === 'failed');
      if (index !== -1) {
        const [event] = this.events.splice(0, index + 1).slice(-1);
        if (event.event === 'failed') throw new Error(`workload driver failed: ${String(event.message)}`);
        return event;
      }
      if (this.child.exitCode !== null) {
        throw new Error(`workload driver exited with code ${this.child.exitCode} before "${name}"; stderr:\n${this.stderr.join('').slice(-3000)}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for the driver's "${name}" event`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 1000);
      });
    }
  }
}

export class MultihostCluster {
  private readonly workers = new Map<string, { child: ChildProcess; logPath: string; queueClass: QueueClass }>();
  private credentials?: S3Credentials;
  private servicesHost?: TestHost;
  private readonly ports = loadStackVersions().ports;

  constructor(
    readonly network: TestNetwork,
    /** Scratch folder for the services' state and every log. */
    readonly scratchDir: string,
    readonly configPath: string,
  ) {}

  host(name: string): TestHost {
    const host = this.network.hosts.find((candidate) => candidate.name === name);
    if (host === undefined) throw new Error(`no test host named "${name}"; hosts are ${this.network.hosts.map((candidate) => candidate.name).join(', ')}`);
    return host;
  }

  /** Starts Temporal, MinIO and MLflow with `whorl stack up` on the services host, with state in the scratch folder. */
  async startServices(hostName: string): Promise<void> {
    const host = this.host(hostName);
    const stateDir = join(this.scratchDir, 'services-state');
    const logPath = join(this.scratchDir, 'stack-up.log');
    const logFd = openSync(logPath, 'a');
    try {
      const child = spawnOnHost(host, [process.execPath, 'scripts/whorl.cjs', 'stack', 'up'], {
        // NOTE: the Temporal dev server of Temporal CLI v1.5.1 binds its internal services on the --ip
        // address but dials them at 127.0.0.1, so any address other than 127.0.0.1 or 0.0.0.0 leaves it
        // unable to start workflows. 0.0.0.0 inside this namespace exposes the services on the test network only.
        env: { ...cleanEnvironment(), WHORL_STACK_HOST: '0.0.0.0', WHORL_STATE_DIR: stateDir, WHORL_LOG_LEVEL: 'warn' },
        stdio: ['ignore', logFd, logFd],
      });
      const code = await waitForExit(child, 280_000);
      if (code !== 0) throw new Error(`whorl stack up on ${host.name} exited with code ${code}:\n  ${await tail(logPath)}\nservice logs: ${join(stateDir, 'logs')}`);
    } finally {
      closeSync(logFd);
    }
    this.credentials = JSON.parse(await readFile(join(stateDir, 'minio', 'credentials.json'), 'utf8')) as S3Credentials;
    this.servicesHost = host;
  }

  /** Connection settings for a process on another host, as a deployment would set them. */
  clientEnvironment(hostName: string): NodeJS.ProcessEnv {
    const services = this.servicesHost;
    if (services === undefined || this.credentials === undefined) throw new Error('start the services before any worker or driver');
    return {
      ...cleanEnvironment(),
      WHORL_TEMPORAL_ADDRESS: `${services.address}:${this.ports.temporal}`,
      WHORL_S3_ENDPOINT: `http://${services.address}:${this.ports.minio}`,
      WHORL_MLFLOW_URI: `http://${services.address}:${this.ports.mlflow}`,
      AWS_ACCESS_KEY_ID: this.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.credentials.secretAccessKey,
      // A state folder of its own, so no process falls back to the local stack's credentials file.
      WHORL_STATE_DIR: join(this.scratchDir, `${hostName}-state`),
      WHORL_LOG_LEVEL: 'info',
    };
  }

  /** Starts `node scripts/worker.cjs CLASS CONFIG` on a host and waits until it polls. */
  async startWorker(hostName: string, queueClass: QueueClass, timeoutMs: number): Promise<void> {
    const host = this.host(hostName);
    const logPath = join(this.scratchDir, `worker-${hostName}.log`);
    const logFd = openSync(logPath, 'a');
    let child: ChildProcess;
    try {
      // One activity per GPU worker, as the Kubernetes manifests set it, so two long activities occupy both GPU hosts.
      const env = { ...this.clientEnvironment(hostName), ...(queueClass === 'gpu' ? { WHORL_MAX_CONCURRENT_ACTIVITIES: '1' } : {}) };
      child = spawnOnHost(host, [process.execPath, 'scripts/worker.cjs', queueClass, this.configPath], { env, stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    this.workers.set(hostName, { child, logPath, queueClass });

    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await readFile(logPath, 'utf8')).includes('"msg":"worker started"')) return;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${queueClass} worker on ${hostName} exited with code ${child.exitCode} during start-up:\n  ${await tail(logPath)}`);
      }
      await sleep(250);
    }
    throw new Error(`${queueClass} worker on ${hostName} did not start within ${timeoutMs / 1000} s:\n  ${await tail(logPath)}`);
  }

  workerPid(hostName: string): number | undefined {
    return this.workers.get(hostName)?.child.pid;
  }

  /** Kills a host's worker with SIGKILL, as if the host had been lost, and waits until it is gone. */
  async killWorker(hostName: string): Promise<void> {
    const worker = this.workers.get(hostName);
    if (worker === undefined) throw new Error(`no worker runs on ${hostName}`);
    worker.child.kill('SIGKILL');
    await waitForExit(worker.child, 10_000);
  }

  /** Sends SIGTERM to a host's worker, as Kubernetes does when it stops a pod, and returns the exit code once the worker has drained. */
  async stopWorker(hostName: string, timeoutMs: number): Promise<number | null> {
    const worker = this.workers.get(hostName);
    if (worker === undefined) throw new Error(`no worker runs on ${hostName}`);
    worker.child.kill('SIGTERM');
    return waitForExit(worker.child, timeoutMs);
  }

  /** Starts the workload driver on a host. */
  drive(hostName: string, workload: string, mode: 'run' | 'handover'): DriverProcess {
    const child = spawnOnHost(this.host(hostName), [process.execPath, 'scripts/multihost/drive-workload.cjs', workload, this.configPath, mode], {
      env: { ...this.clientEnvironment(hostName), WHORL_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new DriverProcess(child);
  }

  /** Runs a command to completion on a host with the client settings and returns its exit code and output. */
  async runOnHost(hostName: string, argv: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawnOnHost(this.host(hostName), argv, { env: { ...this.clientEnvironment(hostName), WHORL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    try {
      const code = await waitForExit(child, timeoutMs);
      return { code, stdout, stderr };
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${argv.join(' ')} on ${hostName}: ${(error as Error).message}; stderr:\n${stderr.slice(-2000)}`);
    }
  }

  /** Sends an HTTP request from a host with test/multihost/http-client.cjs and returns its status and parsed body. */
  async httpFromHost(hostName: string, url: string, options: { json?: unknown; waitOkSeconds?: number } = {}): Promise<{ status: number; body: unknown }> {
    const argv = [process.execPath, join(__dirname, 'http-client.cjs'), url];
    if (options.waitOkSeconds !== undefined) argv.push('--wait-ok', String(options.waitOkSeconds));
    if (options.json !== undefined) argv.push('--json', JSON.stringify(options.json));
    const { code, stdout, stderr } = await this.runOnHost(hostName, argv, ((options.waitOkSeconds ?? 0) + 30) * 1000);
    if (code !== 0) throw new Error(`HTTP client on ${hostName} exited with code ${code}: ${stderr.slice(-2000)}`);
    return JSON.parse(stdout) as { status: number; body: unknown };
  }

  /** Starts `whorl index serve` for `indexName` on a host, listening on the host's address; returns its base URL. */
  startSearchService(hostName: string, indexName: string, port: number): string {
    const host = this.host(hostName);
    const logPath = join(this.scratchDir, `search-${hostName}.log`);
    const logFd = openSync(logPath, 'a');
    try {
      spawnOnHost(host, [process.execPath, 'scripts/whorl.cjs', 'index', 'serve', '--name', indexName, '--host', host.address, '--port', String(port), '--workers', '0', '--refresh-ms', '2000'], {
        env: this.clientEnvironment(hostName),
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      closeSync(logFd);
    }
    return `http://${host.address}:${port}`;
  }

  /** Returns the log files under the scratch folder that contain the local MinIO secret key. */
  async logsContainingSecret(): Promise<string[]> {
    if (this.credentials === undefined) throw new Error('start the services before checking logs');
    const secret = this.credentials.secretAccessKey;
    const found: string[] = [];
    for (const entry of await readdir(this.scratchDir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.log')) continue;
      const path = join(entry.parentPath, entry.name);
      if ((await readFile(path, 'utf8')).includes(secret)) found.push(path);
    }
    return found;
  }

  /** Returns the last lines of every worker log, for failure messages. */
  async workerLogTails(): Promise<string> {
    const parts: string[] = [];
    for (const [hostName, worker] of this.workers) parts.push(`${hostName} (${worker.logPath}):\n  ${await tail(worker.logPath, 8)}`);
    return parts.join('\n');
  }
}
