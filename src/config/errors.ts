/**
 * Raised for input a user must fix: a bad config value, a missing file, an
 * unusable endpoint. Activities turn it into a non-retryable failure, and the
 * CLI prints its message without a stack trace.
 */
export class UserInputError extends Error {
  override readonly name = 'UserInputError';
}

/**
 * Raised when a service endpoint cannot be reached. Unlike UserInputError it
 * stays retryable, because the service may come back (a restarted MinIO, say).
 */
export class EndpointUnreachableError extends Error {
  override readonly name = 'EndpointUnreachableError';
}
