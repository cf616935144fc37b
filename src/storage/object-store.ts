/**
 * The object storage contract shared by the S3 store and the filesystem
 * store. Keys are `/`-separated paths without a leading slash. Every object
 * carries the SHA-256 of its body, and `get` verifies it before returning.
 */
export interface ObjectStore {
  /** Location of the store, such as `s3://whorl` or `file:///tmp/store`. */
  readonly location: string;

  /**
   * Writes an object. With `ifMatch` the write succeeds only while the
   * current object has that ETag; with `ifNoneMatch: '*'` only while no
   * object exists at the key. A failed condition raises PreconditionFailedError.
   */
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<ObjectInfo>;

  /** Uploads a local file, in parts when it is large. */
  putFile(key: string, path: string, options?: { contentType?: string }): Promise<ObjectInfo>;

  /** Reads an object and verifies its checksum; raises ObjectNotFoundError or ChecksumMismatchError. */
  get(key: string): Promise<Uint8Array>;

  /** Returns the object's metadata, or undefined when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;

  /** Lists objects whose keys start with `prefix`, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;

  /** Deletes an object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
}

export interface PutOptions {
  contentType?: string;
  ifMatch?: string;
  ifNoneMatch?: '*';
}

export interface ObjectInfo {
  key: string;
  sizeBytes: number;
  /** Opaque version tag used for conditional writes. */
  etag: string;
  /** Hex SHA-256 of the body, when the store recorded one. */
  sha256?: string;
}

export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  constructor(readonly location: string, readonly key: string) {
    super(`object not found: ${key} in ${location}`);
  }
}

export class PreconditionFailedError extends Error {
  override readonly name = 'PreconditionFailedError';
  constructor(readonly location: string, readonly key: string, condition: string) {
    super(`conditional write of ${key} in ${location} failed: ${condition}; another writer changed it first`);
  }
}

export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';
  constructor(readonly location: string, readonly key: string, expected: string, actual: string) {
    super(`checksum mismatch for ${key} in ${location}: stored SHA-256 ${expected}, read ${actual}; the object is corrupt or truncated, so rewrite it from its source`);
  }
}

/** Orders strings by UTF-16 code units, the order S3 lists keys in; use it as a sort comparator. */
export function compareKeys(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

export function validateKey(key: string): void {
  if (key.length === 0 || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw new Error(`invalid object key "${key}": expected a relative path such as "prepared/abc/manifest.json" with no empty, "." or ".." parts`);
  }
}
