import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/**
 * Runs a command to completion with its output appended to `logPath`.
 * Raises an error that quotes the last lines of output when it exits non-zero.
 */
export async function runLogged(
  command: string,
  args: string[],
  options: { logPath: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<void> {
  const log = createWriteStream(options.logPath, { flags: 'a' });
  const tail: string[] = [];
  const remember = (chunk: Buffer): void => {
    log.write(chunk);
    tail.push(...chunk.toString('utf8').split('\n').filter((line) => line.trim() !== ''));
    tail.splice(0, Math.max(0, tail.length - 15));
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', remember);
      child.stderr.on('data', remember);
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve();
        else reject(new Error(`${command} ${args.join(' ')} exited with code ${code}; last output:\n  ${tail.join('\n  ')}\nfull log: ${options.logPath}`));
      });
    });
  } finally {
    await new Promise<void>((resolve) => log.end(resolve));
  }
}

/** Returns true when `command` resolves on PATH. */
export async function commandExists(command: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', `command -v ${command}`], { stdio: 'ignore', env });
    child.on('close', (code) => resolve(code === 0));
    child.on('error', () => resolve(false));
  });
}
