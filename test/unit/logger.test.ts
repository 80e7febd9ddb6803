import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../controller/observability/logger.js';

function capture(): { stream: PassThrough; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return {
    stream,
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logger', () => {
  it('serialises Error fields under err with message and code', () => {
    const out = capture();
    const log = createLogger({ stream: out.stream });
    const err = Object.assign(new Error('boom'), { code: 'Throttled', statusCode: 429 });
    log.error('ARM write failed', { err, vmss: 'vmss1' });
    const [line] = out.lines();
    expect(line).toMatchObject({ message: 'ARM write failed', vmss: 'vmss1', component: 'mic', level: 'error' });
    expect(line?.err).toMatchObject({ message: 'boom', code: 'Throttled', statusCode: 429, name: 'Error' });
  });

  it('redacts secret-looking fields', () => {
    const out = capture();
    const log = createLogger({ stream: out.stream });
    log.info('Config loaded', { aadClientSecret: 'hunter2', clientId: 'abc' });
    const text = JSON.stringify(out.lines());
    expect(text).not.toContain('hunter2');
    expect(text).toContain('abc');
  });
});
