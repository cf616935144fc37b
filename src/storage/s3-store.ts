import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
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
import type { S3Credentials } from '../config/environment';
import { EndpointUnreachableError, UserInputError } from '../config/errors';

export interface S3StoreOptions {
  endpoint: string;
  region: string;
  bucket: string;
  /** Static credentials; when absent the AWS SDK's default provider chain is used. */
  credentials?: S3Credentials;
  /** Attempts per request, including the first; the SDK backs off exponentially between them. */
  maxAttempts?: number;
  /** Files larger than this are uploaded in parts of this size. */
  multipartPartSizeBytes?: number;
}

const SHA256_METADATA = 'sha256';
const DEFAULT_PART_SIZE_BYTES = 16 * 1024 * 1024;

/**
 * An object store on S3 or any S3-compatible server such as MinIO. The
 * SHA-256 of each body is stored as user metadata and checked on every read.
 * Conditional writes use S3's If-Match and If-None-Match headers.
 */
export class S3Store implements ObjectStore {
  readonly location: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly endpoint: string;
  private readonly partSizeBytes: number;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.endpoint = options.endpoint;
    this.location = `s3://${options.bucket}`;
    this.partSizeBytes = options.multipartPartSizeBytes ?? DEFAULT_PART_SIZE_BYTES;
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      credentials: options.credentials,
      forcePathStyle: true,
      maxAttempts: options.maxAttempts ?? 5,
      retryMode: 'standard',
    });
  }

  /** Creates the bucket unless it exists already. */
  async ensureBucket(): Promise<void> {
    try {
      await this.send(() => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })), '');
      return;
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
    }
    try {
      await this.send(() => this.client.send(new CreateBucketCommand({ Bucket: this.bucket })), '');
    } catch (error) {
      if (error instanceof S3ServiceException && (error.name === 'BucketAlreadyOwnedByYou' || error.name === 'BucketAlreadyExists')) return;
      throw error;
    }
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<ObjectInfo> {
    validateKey(key);
    const bytes = toBytes(body);
    const sha256 = sha256Hex(bytes);
    const output = await this.send(
      () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: bytes,
            ContentType: options.contentType,
            Metadata: { [SHA256_METADATA]: sha256 },
            IfMatch: options.ifMatch,
            IfNoneMatch: options.ifNoneMatch,
          }),
        ),
      key,
      options,
    );
    return { key, sizeBytes: bytes.byteLength, etag: output.ETag ?? '', sha256 };
  }

  async putFile(key: string, path: string, options: { contentType?: string } = {}): Promise<ObjectInfo> {
    validateKey(key);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    const { size } = await stat(path);

    const upload = new Upload({
      client: this.client,
      partSize: this.partSizeBytes,
      queueSize: 2,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(path),
        ContentType: options.contentType,
        Metadata: { [SHA256_METADATA]: sha256 },
      },
    });
    const output = await this.send(() => upload.done(), key);
    return { key, sizeBytes: size, etag: output.ETag ?? '', sha256 };
  }

  async get(key: string): Promise<Uint8Array> {
    validateKey(key);
    const output = await this.send(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })), key);
    if (output.Body === undefined) throw new ObjectNotFoundError(this.location, key);
    const bytes = await output.Body.transformToByteArray();
    const expected = output.Metadata?.[SHA256_METADATA];
    if (expected !== undefined) {
      const actual = sha256Hex(bytes);
      if (actual !== expected) throw new ChecksumMismatchError(this.location, key, expected, actual);
    }
    return bytes;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    validateKey(key);
    try {
      const output = await this.send(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })), key);
      return { key, sizeBytes: output.ContentLength ?? 0, etag: output.ETag ?? '', sha256: output.Metadata?.[SHA256_METADATA] };
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const results: ObjectInfo[] = [];
    let continuationToken: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.send(
        () => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: continuationToken })),
        prefix,
      );
      for (const item of page.Contents ?? []) {
        if (item.Key !== undefined) results.push({ key: item.Key, sizeBytes: item.Size ?? 0, etag: item.ETag ?? '' });
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
    return results.sort((a, b) => compareKeys(a.key, b.key));
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.send(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })), key);
  }

  /** Runs one request and turns S3 and network errors into errors that name the cause and the fix. */
  private async send<T>(request: () => Promise<T>, key: string, options: PutOptions = {}): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw this.translateError(error, key, options);
    }
  }

  private translateError(error: unknown, key: string, options: PutOptions): unknown {
    if (error instanceof S3ServiceException) {
      const status = error.$metadata.httpStatusCode;
      if (status === 412 || error.name === 'PreconditionFailed' || error.name === 'ConditionalRequestConflict' || status === 409 && options.ifMatch !== undefined) {
        const condition = options.ifNoneMatch === '*' ? 'expected no object' : `expected ETag ${options.ifMatch ?? '(none)'}`;
        return new PreconditionFailedError(this.location, key, condition);
      }
      if (status === 404 || error.name === 'NoSuchKey' || error.name === 'NotFound' || error.name === 'NoSuchBucket') {
        return new ObjectNotFoundError(this.location, key);
      }
      if (error.name === 'InvalidAccessKeyId' || error.name === 'SignatureDoesNotMatch' || status === 403) {
        return new UserInputError(
          `S3 at ${this.endpoint} rejected the credentials (${error.name}) for bucket ${this.bucket}; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or unset both to use the local stack's credentials`,
        );
      }
      return error;
    }
    const code = networkErrorCode(error);
    if (code !== undefined) {
      return new EndpointUnreachableError(
        `cannot reach S3 endpoint ${this.endpoint} (${code}); start the local stack with "whorl stack up" or set WHORL_S3_ENDPOINT`,
      );
    }
    return error;
  }
}

const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN']);

/** Finds a network error code on an error or, for AggregateError, on its parts. */
function networkErrorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && NETWORK_ERROR_CODES.has(code)) return code;
  if (error instanceof AggregateError) {
    for (const part of error.errors) {
      const partCode = networkErrorCode(part);
      if (partCode !== undefined) return partCode;
    }
  }
  return undefined;
}
