import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ChecksumMismatchError,
  compareKeys,
  ObjectNotFoundError,
  PreconditionFailedError,
  validateKey,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from './object-store';
import { sha256Hex, toBytes } from './checksum';

/** Folder under the root with one JSON sidecar of metadata per object. */
const METADATA_DIR = '.whorl-meta';
const LOCK_STALE_MS = 30_000;

interface Sidecar {
  sizeBytes: number;
  sha256: string;
  contentType?: string;
}

/**
 * An object store in a local folder, for single-process use and tests.
 * Writes go to a temporary file that is renamed into place. Every write and
 * read of a key holds that key's lock file while it touches the data file and
 * its checksum sidecar, so a reader gets a matching pair and conditional
 * writes are atomic across processes on one machine.
 */
export class FilesystemStore implements ObjectStore {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = pathToFileURL(root).href;
  }

  private dataPath(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  private sidecarPath(key: string): string {
    return join(this.root, METADATA_DIR, ...key.split('/')) + '.json';
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<ObjectInfo> {
    validateKey(key);
    const bytes = toBytes(body);
    return this.withLock(key, async () => {
      if (options.ifNoneMatch === '*' || options.ifMatch !== undefined) {
        const current = await this.headUnlocked(key);
        if (options.ifNoneMatch === '*' && current !== undefined) {
          throw new PreconditionFailedError(this.location, key, 'expected no object');
        }
        if (options.ifMatch !== undefined && current?.etag !== options.ifMatch) {
          throw new PreconditionFailedError(this.location, key, `expected ETag ${options.ifMatch}, found ${current?.etag ?? 'no object'}`);
        }
      }
      const sidecar: Sidecar = { sizeBytes: bytes.byteLength, sha256: sha256Hex(bytes), contentType: options.contentType };
      await this.writeAtomically(this.dataPath(key), bytes);
      await this.writeAtomically(this.sidecarPath(key), Buffer.from(JSON.stringify(sidecar)));
      return { key, sizeBytes: sidecar.sizeBytes, etag: sidecar.sha256, sha256: sidecar.sha256 };
    });
  }

  async putFile(key: string, path: string, options: { contentType?: string } = {}): Promise<ObjectInfo> {
    validateKey(key);
    const hash = createHash('sha256');
    let sizeBytes = 0;
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      sizeBytes += (chunk as Buffer).byteLength;
    }
    const sidecar: Sidecar = { sizeBytes, sha256: hash.digest('hex'), contentType: options.contentType };
    const target = this.dataPath(key);
    await mkdir(dirname(target), { recursive: true });
    const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await copyFile(path, temporary);
    await this.withLock(key, async () => {
      await rename(temporary, target);
      await this.writeAtomically(this.sidecarPath(key), Buffer.from(JSON.stringify(sidecar)));
    });
    return { key, sizeBytes, etag: sidecar.sha256, sha256: sidecar.sha256 };
  }

  async get(key: string): Promise<Uint8Array> {
    validateKey(key);
    // The data file and its sidecar are replaced one after the other, so both are read under the key's lock.
    const { body, sidecar } = await this.withLock(key, async () => {
      try {
        return { body: await readFile(this.dataPath(key)), sidecar: await this.readSidecar(key) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(this.location, key);
        throw error;
      }
    });
    const actual = sha256Hex(body);
    if (sidecar !== undefined && sidecar.sha256 !== actual) {
      throw new ChecksumMismatchError(this.location, key, sidecar.sha256, actual);
    }
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    validateKey(key);
    return this.withLock(key, () => this.headUnlocked(key));
  }

  private async headUnlocked(key: string): Promise<ObjectInfo | undefined> {
    try {
      const stats = await stat(this.dataPath(key));
      if (!stats.isFile()) return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const sidecar = await this.readSidecar(key);
    const sha256 = sidecar?.sha256 ?? sha256Hex(await readFile(this.dataPath(key)));
    const sizeBytes = sidecar?.sizeBytes ?? (await stat(this.dataPath(key))).size;
    return { key, sizeBytes, etag: sha256, sha256 };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const results: ObjectInfo[] = [];
    const walk = async (folder: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(folder, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        const path = join(folder, entry.name);
        const key = relative(this.root, path).split(sep).join('/');
        if (key === METADATA_DIR || entry.name.endsWith('.tmp') || entry.name.endsWith('.lock')) continue;
        if (entry.isDirectory()) {
          if (prefix.startsWith(key + '/') || (key + '/').startsWith(prefix)) await walk(path);
        } else if (key.startsWith(prefix)) {
          const info = await this.head(key);
          if (info !== undefined) results.push(info);
        }
      }
    };
    await walk(this.root);
    return results.sort((a, b) => compareKeys(a.key, b.key));
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await rm(this.dataPath(key), { force: true });
    await rm(this.sidecarPath(key), { force: true });
  }

  private async readSidecar(key: string): Promise<Sidecar | undefined> {
    try {
      return JSON.parse(await readFile(this.sidecarPath(key), 'utf8')) as Sidecar;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private async writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  }

  /** Runs `action` while holding an exclusive lock file for `key`. */
  private async withLock<T>(key: string, action: () => Promise<T>): Promise<T> {
    const lockPath = this.sidecarPath(key) + '.lock';
    await mkdir(dirname(lockPath), { recursive: true });
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(lockPath, 'wx');
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const lockStats = await stat(lockPath).catch(() => undefined);
        if (lockStats !== undefined && Date.now() - lockStats.mtimeMs > LOCK_STALE_MS) {
          await rm(lockPath, { force: true });
        } else {
          await new Promise((resolve) => setTimeout(resolve, Math.min(5 * 2 ** attempt, 200)));
        }
      }
    }
    try {
      return await action();
    } finally {
      await rm(lockPath, { force: true });
    }
  }
}
