import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../../controller/observability/logger.js';
import { PermissionReporter, skipWhenForbidden, type MissingPermission } from '../../../controller/kube/permissions.js';
import type { EventSink, EventType, ObjectReferenceLike } from '../../../controller/kube/event-recorder.js';

const LEASES: MissingPermission = { verb: 'get', resource: 'leases.coordination.k8s.io', namespace: 'default', consequence: 'leading on the Endpoints lock alone' };

function setup() {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  const events: { type: EventType; reason: string; message: string; kind: string }[] = [];
  const sink: EventSink = { record: (o: ObjectReferenceLike, type, reason, message) => events.push({ type, reason, message, kind: o.kind }) };
  const reporter = new PermissionReporter({ logger: createLogger({ stream, level: 'info' }), events: sink, eventTarget: () => ({ kind: 'Endpoints', name: 'aad-pod-identity-mic', namespace: 'default' }) });
  return { lines, events, reporter };
}

describe('PermissionReporter', () => {
  it('logs one Error line and one Warning Event per permission, however often it is reported', async () => {
    const { lines, events, reporter } = setup();
    expect(reporter.report(LEASES)).toBe(true);
    expect(reporter.report(LEASES)).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(lines.filter((l) => l.includes('Missing RBAC permission'))).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', permission: 'get leases.coordination.k8s.io in default', consequence: 'leading on the Endpoints lock alone' });
    expect(events).toEqual([{ type: 'Warning', reason: 'MissingPermission', kind: 'Endpoints', message: 'missing RBAC permission "get leases.coordination.k8s.io in default": leading on the Endpoints lock alone' }]);
    expect(reporter.summary()).toEqual(['get leases.coordination.k8s.io in default']);
  });
});

describe('skipWhenForbidden', () => {
  it('reports the first 403, then does nothing; other errors still throw', async () => {
    const { reporter } = setup();
    let calls = 0;
    const forbidden = Object.assign(new Error('forbidden'), { forbidden: true });
    const write = skipWhenForbidden(async (fail: 'forbidden' | 'other' | 'none') => {
      calls++;
      if (fail === 'forbidden') throw forbidden;
      if (fail === 'other') throw new Error('boom');
    }, reporter, { verb: 'patch', resource: 'pods/status', namespace: '', consequence: 'no readiness condition' }, (e) => e === forbidden);
    await write('none');
    await expect(write('other')).rejects.toThrow('boom');
    await write('forbidden');
    await write('none');
    expect(calls).toBe(3);
    expect(reporter.summary()).toEqual(['patch pods/status']);
  });
});
