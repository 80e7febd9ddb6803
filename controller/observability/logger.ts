/**
 * Structured JSON logging on winston. Messages are constant strings; details go into key/value
 * fields (`pod`, `node`, `vmss`, `identity`, `cycle`, ...), errors under `err`.
 */
import winston from 'winston';

/** The logger type used across the controller. */
export type Logger = winston.Logger;

/** Keys whose values are never written to a log line. */
const SECRET_KEYS = /secret|password|token|authorization|credential/i;

/** Serialises an Error (and its cause chain) into a plain object winston's JSON format keeps. */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return err;
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  const extra = err as unknown as Record<string, unknown>;
  for (const key of ['code', 'statusCode', 'reason', 'retryAfterMs', 'target', 'identity']) {
    if (extra[key] !== undefined && typeof extra[key] !== 'object') out[key] = extra[key];
  }
  if (err.stack) out.stack = err.stack;
  if (err.cause !== undefined && depth < 3) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

/** winston format: turns Error-valued fields into objects and redacts secret-looking keys. */
export const errorFields = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const value = (info as Record<string, unknown>)[key];
    if (value instanceof Error) (info as Record<string, unknown>)[key] = serializeError(value);
    else if (SECRET_KEYS.test(key) && typeof value === 'string') (info as Record<string, unknown>)[key] = '[REDACTED]';
  }
  return info;
});

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: string;
  /** `json` (default) or `text` (upstream's `--log-format`); both are single-line. */
  format?: 'json' | 'text';
  /** Extra fields on every line. */
  defaultMeta?: Record<string, unknown>;
  /** Where lines go; defaults to stderr. Tests pass a stream to capture lines. */
  stream?: NodeJS.WritableStream;
  silent?: boolean;
}

/** Creates the process logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const { combine, timestamp, json, printf } = winston.format;
  const text = printf((info) => {
    const { level, message, timestamp: ts, ...rest } = info as Record<string, unknown>;
    const fields = Object.entries(rest)
      .filter(([k]) => typeof k === 'string')
      .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`)
      .join(' ');
    return `${String(ts)} ${String(level).toUpperCase()} ${String(message)}${fields ? ' ' + fields : ''}`;
  });
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] });
  return winston.createLogger({
    level: options.level ?? 'info',
    silent: options.silent ?? false,
    defaultMeta: { component: 'mic', ...(options.defaultMeta ?? {}) },
    format: combine(timestamp(), errorFields(), options.format === 'text' ? text : json()),
    transports: [transport],
  });
}

/** A logger that drops everything (for tests that do not inspect logs). */
export function createNullLogger(): Logger {
  return createLogger({ silent: true });
}
