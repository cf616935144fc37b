import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Folder of real fingerprint samples shared beside the repository, or
 * WHORL_SHARED_DATASETS; undefined when neither exists, so tests can skip.
 */
export function sharedDatasetsDir(): string | undefined {
  const candidate = process.env.WHORL_SHARED_DATASETS ?? resolve(__dirname, '../../../shared/datasets');
  return existsSync(candidate) ? candidate : undefined;
}
