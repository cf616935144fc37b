import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Test hosts on one machine: one network namespace per host, each with a
 * veth pair whose other end sits on a bridge inside a separate "switch"
 * namespace. Nothing is added to the machine's own namespace, so the hosts
 * can reach each other and nothing else.
 */

/** Every namespace the multi-host tests create starts with this, followed by the creating process's pid. */
export const NAMESPACE_PREFIX = 'whorlmh-';

export interface TestHost {
  /** Logical name, also the host's hostname inside its processes. */
  name: string;
  namespace: string;
  address: string;
}

export interface TestNetwork {
  switchNamespace: string;
  hosts: TestHost[];
}

export async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ip', args, { timeout: 15_000 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim() ?? '';
    throw new Error(`ip ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
  }
}

/** Returns why namespaces cannot be created here, or undefined when they can. */
export async function namespaceSupportProblem(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces need Linux, and this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root, and this process is not root';
  try {
    await execFileAsync('ip', ['-V']);
  } catch {
    return 'the ip command (Debian package iproute2) is not installed; scripts/setup.sh installs it where apt-get exists';
  }

  const probe = `${NAMESPACE_PREFIX}${process.pid}-probe`;
  try {
    await ip(['netns', 'add', probe]);
    await ip(['netns', 'del', probe]);
  } catch (error) {
    return `cannot create a network namespace: ${(error as Error).message}`;
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills every process inside `namespace` (all of them were started there by a test) and deletes it. */
export async function destroyNamespace(namespace: string): Promise<void> {
  const pids = (await ip(['netns', 'pids', namespace]).catch(() => ''))
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // The process exited after the listing.
    }
  }
  await ip(['netns', 'del', namespace]).catch(() => undefined);
}

/** Lists the namespaces that a multi-host test made, keyed by the pid of the test process that made them. */
async function listTestNamespaces(): Promise<Array<{ namespace: string; ownerPid: number }>> {
  const listing = await ip(['netns', 'list']);
  return listing
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name.startsWith(NAMESPACE_PREFIX))
    .map((namespace) => ({ namespace, ownerPid: Number(namespace.slice(NAMESPACE_PREFIX.length).split('-')[0]) }));
}

/** Deletes namespaces left by earlier test processes that died before their cleanup ran; returns their names. */
export async function removeStaleNamespaces(): Promise<string[]> {
  const stale = (await listTestNamespaces()).filter(({ ownerPid }) => ownerPid !== process.pid && !(Number.isInteger(ownerPid) && isAlive(ownerPid)));
  for (const { namespace } of stale) await destroyNamespace(namespace);
  return stale.map(({ namespace }) => namespace);
}

/** Deletes every namespace this process created, hosts before the switch. */
export async function destroyOwnNamespaces(): Promise<void> {
  const own = (await listTestNamespaces()).filter(({ ownerPid }) => ownerPid === process.pid);
  own.sort((a, b) => Number(a.namespace.endsWith('-switch')) - Number(b.namespace.endsWith('-switch')));
  for (const { namespace } of own) await destroyNamespace(namespace);
}

/**
 * Creates the switch namespace and one namespace per host name, with host
 * `i` at `<subnetPrefix>.<i + 1>/24`. Namespaces are named
 * `whorlmh-<pid>-<host>` so a later run can find and remove them.
 */
export async function createTestNetwork(options: { subnetPrefix: string; hostNames: string[] }): Promise<TestNetwork> {
  const base = `${NAMESPACE_PREFIX}${process.pid}-`;
  const switchNamespace = `${base}switch`;
  await ip(['netns', 'add', switchNamespace]);
  await ip(['-n', switchNamespace, 'link', 'add', 'br0', 'type', 'bridge']);
  await ip(['-n', switchNamespace, 'link', 'set', 'br0', 'up']);

  const hosts: TestHost[] = [];
  for (const [index, name] of options.hostNames.entries()) {
    const namespace = `${base}${name}`;
    const address = `${options.subnetPrefix}.${index + 1}`;
    const switchPort = `port${index}`;
    await ip(['netns', 'add', namespace]);
    await ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
    // Both ends are created inside test namespaces, so no interface ever appears in the machine's own namespace.
    await ip(['-n', switchNamespace, 'link', 'add', switchPort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace]);
    await ip(['-n', switchNamespace, 'link', 'set', switchPort, 'master', 'br0']);
    await ip(['-n', switchNamespace, 'link', 'set', switchPort, 'up']);
    await ip(['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    await ip(['-n', namespace, 'link', 'set', 'eth0', 'up']);
    hosts.push({ name, namespace, address });
  }
  return { switchNamespace, hosts };
}
