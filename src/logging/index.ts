import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Field paths whose values are replaced before a log line is written. Any
 * secret that travels inside a logged context object must live under one of
 * these names.
 */
const REDACTED_PATHS = [
  'secretAccessKey',
  'accessKeyId',
  'password',
  'token',
  'apiKey',
  '*.secretAccessKey',
  '*.accessKeyId',
  '*.password',
  '*.token',
  '*.apiKey',
  'credentials',
  '*.credentials',
];

/**
 * Creates the process logger: JSON lines on stderr, a fixed message plus a
 * context object per event. WHORL_LOG_LEVEL sets the level (default `info`).
 */
export function createLogger(name: string, level = process.env.WHORL_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    pino.destination(2),
  );
}

/** A logger that drops everything, for library code called without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
