import { describe, it, expect, afterEach } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { createClientLogger, setLogLevel } from '@azure/logger';
import { createLogger } from '../../../controller/observability/logger.js';
import { azureLogLevelFor, routeAzureSdkLogs } from '../../../controller/cloud/azure-sdk-logging.js';

function capture(level: string): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  const logger = createLogger({ level, stream });
  return {
    logger,
    lines: () => chunks.join('').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  setLogLevel();
});

describe('routeAzureSdkLogs', () => {
  it('sends SDK messages through winston at the matching level, with constant message and fields', async () => {
    const { logger, lines } = capture('debug');
    restore = routeAzureSdkLogs(logger, {});
    const sdk = createClientLogger('test-sdk');
    sdk.warning('retrying %s', 'request');
    sdk.error('failed');
    sdk.info('Request: GET');
    sdk.verbose('details');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines().map((l) => [l.level, l.message, l.sdk, l.sdkMessage])).toEqual([
      ['warn', 'Azure SDK', 'test-sdk', 'retrying request'],
      ['error', 'Azure SDK', 'test-sdk', 'failed'],
      ['verbose', 'Azure SDK', 'test-sdk', 'Request: GET'],
      ['debug', 'Azure SDK', 'test-sdk', 'details'],
    ]);
  });

  it('enables only what the winston level shows (info → SDK warnings and errors)', async () => {
    const { logger, lines } = capture('info');
    restore = routeAzureSdkLogs(logger, {});
    const sdk = createClientLogger('test-sdk-2');
    sdk.info('per-request noise');
    sdk.warning('worth a look');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines().map((l) => l.sdkMessage)).toEqual(['worth a look']);
    expect(azureLogLevelFor('error')).toBe('error');
    expect(azureLogLevelFor('verbose')).toBe('info');
    expect(azureLogLevelFor('debug')).toBe('verbose');
  });
});
