import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserInputError } from '../config/errors';
import type { ObjectStore } from '../storage';

/** Orders paths by UTF-16 code units, the same on every platform and locale. */
export function comparePaths(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

/** One file inside a source root. */
export interface SourceFile {
  /** Path relative to the root, `/`-separated. */
  path: string;
  sizeBytes: number;
}

/**
 * Read access to the files of one data set, from a local folder or from an
 * object-store prefix; adapters see only relative paths.
 */
export interface SourceFiles {
  /** Location of the files for messages and source keys, such as `/data/fvc2002` or `s3://whorl/raw/fvc/`. */
  readonly location: string;
  /** Lists every file under the root except hidden ones (a path part starting with `.`), sorted by path. */
  list(): Promise<SourceFile[]>;
  read(path: string): Promise<Uint8Array>;
}

/** Files under a local folder. */
export class LocalFolderFiles implements SourceFiles {
  readonly location: string;

  constructor(root: string) {
    this.location = resolve(root);
  }

  async list(): Promise<SourceFile[]> {
    try {
      const rootStats = await stat(this.location);
      if (!rootStats.isDirectory()) throw new UserInputError(`dataset root ${this.location} is not a folder; set root to the folder that contains the images`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new UserInputError(`dataset root ${this.location} not found; check the source's root path`);
      }
      throw error;
    }
    const files: SourceFile[] = [];
    const walk = async (folder: string, prefix: string): Promise<void> => {
      const entries = await readdir(folder, { withFileTypes: true });
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const path = prefix + entry.name;
        if (entry.isDirectory()) {
          await walk(join(folder, entry.name), path + '/');
        } else if (entry.isFile()) {
          files.push({ path, sizeBytes: (await stat(join(folder, entry.name))).size });
        }
      }
    };
    await walk(this.location, '');
    return files.sort((a, b) => comparePaths(a.path, b.path));
  }

  async read(path: string): Promise<Uint8Array> {
    return readFile(join(this.location, ...path.split('/')));
  }
}

/** Files under a key prefix of an object store; the prefix plays the role of the root folder. */
export class ObjectStoreFiles implements SourceFiles {
  readonly location: string;
  private readonly prefix: string;

  constructor(
    private readonly store: ObjectStore,
    prefix: string,
  ) {
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : prefix + '/';
    this.location = `${store.location.replace(/\/+$/, '')}/${this.prefix}`;
  }

  async list(): Promise<SourceFile[]> {
    const objects = await this.store.list(this.prefix);
    return objects
      .map((object) => ({ path: object.key.slice(this.prefix.length), sizeBytes: object.sizeBytes }))
      .filter((file) => !file.path.split('/').some((part) => part.startsWith('.')));
  }

  async read(path: string): Promise<Uint8Array> {
    return this.store.get(this.prefix + path);
  }
}
