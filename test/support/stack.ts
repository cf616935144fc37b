import { randomUUID } from 'node:crypto';
import { loadEnvironment } from '../../src/config/environment';
import { S3Store } from '../../src/storage';

/** Returns a unique key prefix per test run, so tests never read each other's objects. */
export function uniquePrefix(label: string): string {
  return `test/${label}/${randomUUID()}/`;
}

/** Returns a store on the local MinIO that `whorl stack up` started, on the project's bucket. */
export function localS3Store(options: { maxAttempts?: number; multipartPartSizeBytes?: number } = {}): S3Store {
  return new S3Store({ ...loadEnvironment().s3, ...options });
}

/** Returns a loopback port that nothing listens on: the OS assigns it to a server that is closed at once. */
export async function unusedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
