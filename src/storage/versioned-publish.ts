import { PreconditionFailedError, type ObjectStore } from './object-store';
import { ObjectNotFoundError } from './object-store';

/**
 * Atomic publishing of versioned outputs under one root prefix:
 *
 *   <root>v0001/<data objects>      written first
 *   <root>v0001/manifest.json       written after every data object
 *   <root>CURRENT                   replaced last, by a conditional write
 *
 * A reader follows CURRENT to a manifest and trusts only objects the
 * manifest lists, so it reads either the previous version or the new one.
 * `activateVersion` points CURRENT at an earlier version again; versions are
 * never rewritten, so the next publish numbers past the highest one written.
 */
export interface CurrentPointer {
  version: number;
  manifestKey: string;
  publishedAt: string;
  /** Highest version written under the root. Pointers written before activation existed lack it, and then it equals `version`. */
  latestVersion?: number;
}

export interface PublishedVersion<M> {
  version: number;
  prefix: string;
  manifest: M & { version: number; objects: Record<string, { sha256: string; sizeBytes: number }> };
}

export const POINTER_NAME = 'CURRENT';
export const MANIFEST_NAME = 'manifest.json';

export function versionPrefix(root: string, version: number): string {
  return `${root}v${String(version).padStart(4, '0')}/`;
}

async function readPointer(store: ObjectStore, root: string): Promise<{ pointer: CurrentPointer; etag: string } | undefined> {
  const info = await store.head(root + POINTER_NAME);
  if (info === undefined) return undefined;
  const pointer = JSON.parse(Buffer.from(await store.get(root + POINTER_NAME)).toString('utf8')) as CurrentPointer;
  return { pointer, etag: info.etag };
}

/**
 * Publishes a new version. `writeData` receives the version's prefix and
 * writes the data objects; the manifest then records each one's checksum,
 * and CURRENT moves to the new version only if no other writer moved it in
 * between. On a lost race the whole version is written again under the next
 * number, up to `maxAttempts` times.
 */
export async function publishVersion<M extends object>(
  store: ObjectStore,
  root: string,
  writeData: (prefix: string, version: number) => Promise<void>,
  manifest: M,
  options: { maxAttempts?: number } = {},
): Promise<PublishedVersion<M>> {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const current = await readPointer(store, root);
    const version = highestVersion(current?.pointer) + 1;
    const prefix = versionPrefix(root, version);

    await writeData(prefix, version);
    const objects: Record<string, { sha256: string; sizeBytes: number }> = {};
    for (const info of await store.list(prefix)) {
      if (info.key === prefix + MANIFEST_NAME) continue;
      const head = await store.head(info.key);
      objects[info.key.slice(prefix.length)] = { sha256: head?.sha256 ?? '', sizeBytes: info.sizeBytes };
    }
    const fullManifest = { ...manifest, version, objects };
    await store.put(prefix + MANIFEST_NAME, JSON.stringify(fullManifest, null, 2), { contentType: 'application/json' });

    const pointer: CurrentPointer = { version, manifestKey: prefix + MANIFEST_NAME, publishedAt: new Date().toISOString(), latestVersion: version };
    try {
      await writePointer(store, root, pointer, current?.etag);
      return { version, prefix, manifest: fullManifest };
    } catch (error) {
      if (!(error instanceof PreconditionFailedError) || attempt >= maxAttempts) throw error;
    }
  }
}

function highestVersion(pointer: CurrentPointer | undefined): number {
  return Math.max(pointer?.version ?? 0, pointer?.latestVersion ?? 0);
}

/** Replaces CURRENT only if it still has `etag`, or creates it only if it does not exist when `etag` is undefined. */
async function writePointer(store: ObjectStore, root: string, pointer: CurrentPointer, etag: string | undefined): Promise<void> {
  await store.put(root + POINTER_NAME, JSON.stringify(pointer), {
    contentType: 'application/json',
    ...(etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: etag }),
  });
}

/**
 * Points CURRENT at an already published version, for example when a rerun
 * takes a stage's output from cache while another run has published since.
 * Returns false when CURRENT already points there. Raises an Error when the
 * version's manifest does not exist. A concurrent change of CURRENT makes
 * it read the pointer again, up to `maxAttempts` times.
 */
export async function activateVersion(store: ObjectStore, root: string, version: number, options: { maxAttempts?: number } = {}): Promise<boolean> {
  const maxAttempts = options.maxAttempts ?? 5;
  const manifestKey = versionPrefix(root, version) + MANIFEST_NAME;
  for (let attempt = 1; ; attempt++) {
    const current = await readPointer(store, root);
    if (current?.pointer.version === version) return false;
    if ((await store.head(manifestKey)) === undefined) {
      throw new Error(`cannot make version ${version} of ${root} current: ${manifestKey} does not exist; run the stage again without its cache to publish a new version`);
    }
    const pointer: CurrentPointer = { version, manifestKey, publishedAt: new Date().toISOString(), latestVersion: Math.max(version, highestVersion(current?.pointer)) };
    try {
      await writePointer(store, root, pointer, current?.etag);
      return true;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError) || attempt >= maxAttempts) throw error;
    }
  }
}

/** Reads the manifest that CURRENT points to, or undefined when nothing was published yet. */
export async function readCurrentVersion<M>(store: ObjectStore, root: string): Promise<PublishedVersion<M> | undefined> {
  const current = await readPointer(store, root);
  if (current === undefined) return undefined;
  let manifestBytes: Uint8Array;
  try {
    manifestBytes = await store.get(current.pointer.manifestKey);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) {
      throw new Error(`${root}${POINTER_NAME} points at ${current.pointer.manifestKey}, which does not exist; republish the version or restore the manifest`);
    }
    throw error;
  }
  const manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as PublishedVersion<M>['manifest'];
  return { version: current.pointer.version, prefix: versionPrefix(root, current.pointer.version), manifest };
}
