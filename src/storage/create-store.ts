import type { Environment } from '../config/environment';
import type { RunConfig } from '../config/run-config';
import { FilesystemStore } from './filesystem-store';
import type { ObjectStore } from './object-store';
import { S3Store } from './s3-store';

/** Builds the store that a run config selects, with endpoints from the environment. */
export function createStore(environment: Environment, storage: RunConfig['storage'] = { kind: 's3', prefix: '' }): ObjectStore {
  if (storage.kind === 'filesystem') {
    return new FilesystemStore(storage.root ?? '');
  }
  return new S3Store(environment.s3);
}
