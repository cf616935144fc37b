import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { dirname } from 'node:path';

/** Record that `whorl stack up` keeps for each process it starts. */
export interface PidRecord {
  pid: number;
  binary: string;
  startedAt: string;
  logPath: string;
}

/** Returns true when `pid` is alive and runs `binary`, so a reused pid is never mistaken for ours. */
export function isOurProcess(record: PidRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch {
    return false;
  }
  try {
    // A script such as mlflow runs as "<interpreter> <script>", so the binary may be the second word.
    const words = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0');
    return words[0] === record.binary || words[1] === record.binary;
  } catch {
    // Without /proc (macOS) only the liveness check is possible.
    return true;
  }
}

export async function readPidRecord(path: string): Promise<PidRecord | undefined> {
  if (!existsSync(path)) return undefined;
  return JSON.parse(await readFile(path, 'utf8')) as PidRecord;
}

/**
 * Starts a detached process whose output goes to `logPath`, records its pid
 * in `pidPath` and returns the record. Secrets go in `env`, never in `args`,
 * because command lines are visible to every user of the machine.
 */
export async function startDetached(
  binary: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; logPath: string; pidPath: string; cwd?: string },
): Promise<PidRecord> {
  await mkdir(dirname(options.logPath), { recursive: true });
  await mkdir(dirname(options.pidPath), { recursive: true });
  const logFd = openSync(options.logPath, 'a');
  try {
    const child = spawn(binary, args, { env: options.env, cwd: options.cwd, detached: true, stdio: ['ignore', logFd, logFd] });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid ?? -1));
    });
    child.unref();
    const record: PidRecord = { pid, binary, startedAt: new Date().toISOString(), logPath: options.logPath };
    await writeFile(options.pidPath, JSON.stringify(record, null, 2) + '\n');
    return record;
  } finally {
    closeSync(logFd);
  }
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. Returns false when the process was not ours or not running. */
export async function stopProcess(record: PidRecord, graceMs = 15_000): Promise<boolean> {
  if (!isOurProcess(record)) return false;
  process.kill(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(record.pid)) return true;
    await sleep(100);
  }
  process.kill(record.pid, 'SIGKILL');
  return true;
}

export async function removePidRecord(path: string): Promise<void> {
  await rm(path, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie process still accepts signal 0, so check for state Z in its /proc status.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Returns true when nothing listens on host:port, by trying to bind it. */
export async function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Returns true when a TCP connection to host:port succeeds within `timeoutMs`. */
export async function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const finish = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.connect(port, host, () => finish(true));
  });
}
