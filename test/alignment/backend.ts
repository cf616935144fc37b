import * as tf from '@tensorflow/tfjs';
import { initializeTensorBackend } from '../../src/tensors';

let backend: Promise<string> | undefined;

/** Initializes the fastest tensor backend once per test process, as workers do at start. */
export function useFastestBackend(): Promise<string> {
  backend ??= initializeTensorBackend().then(async (info) => {
    await tf.ready();
    return info.name;
  });
  return backend;
}
