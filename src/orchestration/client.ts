import { Client, Connection } from '@temporalio/client';
import type { Environment } from '../config/environment';
import { EndpointUnreachableError } from '../config/errors';
import { temporalConnectionSettings } from '../config/temporal-connection';

/** Connects a Temporal client, naming the address and the fix when the server cannot be reached. */
export async function connectClient(environment: Environment): Promise<Client> {
  const settings = temporalConnectionSettings(environment);
  try {
    const connection = await Connection.connect({ ...settings, connectTimeout: '5 seconds' });
    return new Client({ connection, namespace: environment.temporal.namespace });
  } catch (error) {
    throw new EndpointUnreachableError(
      `cannot reach Temporal at ${environment.temporal.address} (${(error as Error).message}); start the local stack with "whorl stack up" or set WHORL_TEMPORAL_ADDRESS`,
    );
  }
}
