import { ApplicationFailure } from '@temporalio/activity';
import { UserInputError } from '../src/config/errors';

/** Runs `action`, turning UserInputError into a non-retryable failure so Temporal does not retry bad input. */
export async function failFastOnUserInput<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof UserInputError) throw ApplicationFailure.nonRetryable(error.message, 'UserInputError');
    throw error;
  }
}
