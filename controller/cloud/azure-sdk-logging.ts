/**
 * Routes the Azure SDK's own log output (`@azure/logger`, which writes to stderr by default) through
 * our winston logger, one JSON line per SDK message at the matching level.
 */
import { format } from 'node:util';
import { AzureLogger, getLogLevel, setLogLevel, type AzureLogLevel } from '@azure/logger';
import type { Logger } from '../observability/logger.js';

/** winston level of each SDK level. SDK `info` is per-request detail (every request and response), so `verbose`. */
const WINSTON_LEVEL: Record<AzureLogLevel, string> = { error: 'error', warning: 'warn', info: 'verbose', verbose: 'debug' };

/** The SDK level that produces what a winston level shows (inverse of {@link WINSTON_LEVEL}). */
export function azureLogLevelFor(winstonLevel: string): AzureLogLevel {
  switch (winstonLevel) {
    case 'error':
      return 'error';
    case 'warn':
    case 'info':
    case 'http':
      return 'warning';
    case 'verbose':
      return 'info';
    default:
      return 'verbose';
  }
}

/** SDK log lines start with their namespace, e.g. `azure:core-rest-pipeline:warning <text>`. */
const NAMESPACE = /^azure:(\S+):(error|warning|info|verbose) ?([\s\S]*)$/;

/**
 * Sends every `@azure/logger` message to `logger` as `Azure SDK` with fields `sdk` (package) and
 * `sdkMessage`, at the winston level matching the SDK level. Enables SDK logging at the level that
 * `logger.level` shows, unless `AZURE_LOG_LEVEL` already chose one. Returns a function that restores
 * the previous sink. Process-wide (the SDK logger is a singleton): call once, where the provider is built.
 */
export function routeAzureSdkLogs(logger: Logger, env: NodeJS.ProcessEnv = process.env): () => void {
  const previous = AzureLogger.log;
  AzureLogger.log = (...args: unknown[]): void => {
    const text = format(...args);
    const m = NAMESPACE.exec(text);
    const level = m ? WINSTON_LEVEL[m[2] as AzureLogLevel] : 'info';
    logger.log(level, 'Azure SDK', { sdk: m?.[1] ?? 'unknown', sdkMessage: m ? m[3] : text });
  };
  if (!env.AZURE_LOG_LEVEL && getLogLevel() === undefined) setLogLevel(azureLogLevelFor(logger.level));
  return () => {
    AzureLogger.log = previous;
  };
}
