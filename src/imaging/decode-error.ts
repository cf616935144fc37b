/** Reason a file could not be decoded, kept in quarantine records. */
export type DecodeFailureReason = 'empty-file' | 'truncated' | 'corrupt' | 'unsupported-format' | 'oversized';

/** Raised when bytes cannot become a GrayImage; `reason` classifies the failure. */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
  constructor(
    readonly reason: DecodeFailureReason,
    message: string,
  ) {
    super(message);
  }
}

/** Turns anything a third-party decoder throws (some throw strings) into a message. */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  return String(thrown);
}
