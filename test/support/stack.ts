import { randomUUID } from 'node:crypto';
import { loadEnvironment } from '../../src/config/environment';
import { S3Store } from '../../src/storage';

/** A unique key prefix per test run, so tests never see each other's objects. */
export function uniquePrefix(label: string): string {
  return `test/${label}/${randomUUID()}/`;
}

/** The local MinIO started by `whorl stack up`, on the project's bucket. */
export function localS3Store(options: { maxAttempts?: number; multipartPartSizeBytes?: number } = {}): S3Store {
  return new S3Store({ ...loadEnvironment().s3, ...options });
}
