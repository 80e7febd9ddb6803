import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { ApiException, type CoreV1Event } from '@kubernetes/client-node';
import { FakeClock } from '../../../controller/util/clock.js';
import { createLogger, createNullLogger } from '../../../controller/observability/logger.js';
import { EventRecorder, eventName, type EventsApi } from '../../../controller/kube/event-recorder.js';

type Call = { op: 'create'; namespace: string; body: CoreV1Event } | { op: 'patch'; name: string; namespace: string; body: object };

function fakeApi(): EventsApi & { calls: Call[]; fail: number | undefined; gone: Set<string> } {
  const api = {
    calls: [] as Call[],
    fail: undefined as number | undefined,
    gone: new Set<string>(),
    async createNamespacedEvent(p: { namespace: string; body: CoreV1Event }) {
      if (api.fail) throw new ApiException(api.fail, 'x', '{}', {});
      api.calls.push({ op: 'create', namespace: p.namespace, body: JSON.parse(JSON.stringify(p.body)) as CoreV1Event });
      return p.body;
    },
    async patchNamespacedEvent(p: { name: string; namespace: string; body: object }) {
      if (api.gone.has(p.name)) throw new ApiException(404, 'x', JSON.stringify({ reason: 'NotFound' }), {});
      api.calls.push({ op: 'patch', name: p.name, namespace: p.namespace, body: p.body });
      return {} as CoreV1Event;
    },
  };
  return api;
}

const binding = { apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureIdentityBinding', name: 'b1', namespace: 'ns1', uid: 'u-1' };

describe('EventRecorder', () => {
  it('creates a core/v1 Event with the upstream source and involved object', async () => {
    const api = fakeApi();
    const clock = new FakeClock(Date.UTC(2026, 10, 23, 12, 0, 0));
    const rec = new EventRecorder({ coreApi: api, clock, logger: createNullLogger(), instance: 'mic-0' });
    rec.record(binding, 'Normal', 'binding applied', 'Binding b1 applied on node n1 for pod p1');
    await rec.flush();
    expect(api.calls).toHaveLength(1);
    const call = api.calls[0] as Extract<Call, { op: 'create' }>;
    expect(call.namespace).toBe('ns1');
    expect(call.body.metadata.name).toMatch(/^b1\.[0-9a-f]+$/);
    expect(call.body).toMatchObject({
      involvedObject: { apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureIdentityBinding', name: 'b1', namespace: 'ns1', uid: 'u-1' },
      type: 'Normal',
      reason: 'binding applied',
      source: { component: 'aadpodidentity.k8s.io', host: 'mic-0' },
      reportingComponent: 'aadpodidentity.k8s.io',
      reportingInstance: 'mic-0',
      count: 1,
      lastTimestamp: '2026-11-23T12:00:00.000Z',
    });
  });

  it('aggregates repeats within the window into a count/lastTimestamp merge patch', async () => {
    const api = fakeApi();
    const clock = new FakeClock();
    const rec = new EventRecorder({ coreApi: api, clock, logger: createNullLogger() });
    rec.record(binding, 'Warning', 'binding apply error', 'boom');
    await clock.advance(60_000);
    rec.record(binding, 'Warning', 'binding apply error', 'boom');
    rec.record(binding, 'Warning', 'binding apply error', 'other message');
    await rec.flush();
    expect(api.calls.map((c) => c.op)).toEqual(['create', 'patch', 'create']);
    const created = api.calls[0] as Extract<Call, { op: 'create' }>;
    const patch = api.calls[1] as Extract<Call, { op: 'patch' }>;
    expect(patch.name).toBe(created.body.metadata.name);
    expect(patch.body).toEqual({ count: 2, lastTimestamp: new Date(clock.now()).toISOString() });
    await clock.advance(11 * 60_000); // past the window: a new Event
    rec.record(binding, 'Warning', 'binding apply error', 'boom');
    await rec.flush();
    expect(api.calls.at(-1)?.op).toBe('create');
  });

  it('creates a fresh Event when the aggregated one is gone', async () => {
    const api = fakeApi();
    const rec = new EventRecorder({ coreApi: api, clock: new FakeClock(), logger: createNullLogger() });
    rec.record(binding, 'Normal', 'r', 'm');
    await rec.flush();
    api.gone.add((api.calls[0] as Extract<Call, { op: 'create' }>).body.metadata.name as string);
    rec.record(binding, 'Normal', 'r', 'm');
    await rec.flush();
    expect(api.calls.map((c) => c.op)).toEqual(['create', 'create']);
  });

  it('rate-limits per object with a token bucket', async () => {
    const api = fakeApi();
    const clock = new FakeClock();
    const rec = new EventRecorder({ coreApi: api, clock, logger: createNullLogger(), burst: 2, refillIntervalMs: 1000 });
    for (let i = 0; i < 5; i++) rec.record(binding, 'Normal', 'r', `m${i}`);
    rec.record({ ...binding, name: 'b2', uid: 'u-2' }, 'Normal', 'r', 'm');
    await rec.flush();
    expect(api.calls).toHaveLength(3); // 2 for b1, 1 for b2
    await clock.advance(1000);
    rec.record(binding, 'Normal', 'r', 'after refill');
    await rec.flush();
    expect(api.calls).toHaveLength(4);
  });

  it('never throws or rejects when the API fails, and sends cluster-scoped objects to default', async () => {
    const api = fakeApi();
    api.fail = 500;
    const rec = new EventRecorder({ coreApi: api, clock: new FakeClock(), logger: createNullLogger() });
    expect(() => rec.record({ kind: 'Node', name: 'n1' }, 'Warning', 'r', 'm')).not.toThrow();
    await expect(rec.flush()).resolves.toBeUndefined();
    api.fail = undefined;
    rec.record({ kind: 'Node', name: 'n1' }, 'Warning', 'r', 'm');
    await rec.flush();
    expect(api.calls).toHaveLength(1);
    expect((api.calls[0] as Extract<Call, { op: 'create' }>).namespace).toBe('default');
  });
});

describe('eventName', () => {
  it('is <object>.<suffix> while that fits in 253 characters', () => {
    expect(eventName('pod-1', '18a2b')).toBe('pod-1.18a2b');
  });

  it('shortens a long object name so the API server accepts the Event, never ending a label in - or .', () => {
    const name = eventName(`${'a'.repeat(230)}-${'b'.repeat(40)}`, '1'.repeat(22));
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/u);
    expect(name.endsWith(`.${'1'.repeat(22)}`)).toBe(true);
    expect(eventName(`${'a'.repeat(230)}-${'b'.repeat(40)}`, '1'.repeat(22))).toBe(`${'a'.repeat(230)}.${'1'.repeat(22)}`);
  });

  it('a full queue drops events with one warning per interval that counts them, not one per event', async () => {
    const api = fakeApi();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const blocked: EventsApi = {
      createNamespacedEvent: async (p) => {
        await gate;
        return api.createNamespacedEvent(p);
      },
      patchNamespacedEvent: (p) => api.patchNamespacedEvent(p),
    };
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
    const clock = new FakeClock(Date.UTC(2026, 10, 30, 9, 0, 0));
    const rec = new EventRecorder({ coreApi: blocked, clock, logger: createLogger({ stream, level: 'warn' }), maxPending: 2 });
    const pod = (i: number) => ({ apiVersion: 'v1', kind: 'Pod', name: `p-${i}`, namespace: 'ns1', uid: `u-${i}` });
    for (let i = 0; i < 50; i++) rec.record(pod(i), 'Normal', 'r', 'm');
    await clock.advance(10_000);
    for (let i = 50; i < 60; i++) rec.record(pod(i), 'Normal', 'r', 'm');
    release();
    await rec.flush();
    await new Promise<void>((r) => setImmediate(r));
    const warnings = lines.map((l) => JSON.parse(l) as { message: string; dropped?: number }).filter((l) => l.message === 'Events dropped, too many pending');
    // 58 dropped (2 fit the queue): the first is reported at once; the next 47 are counted into the first
    // warning after the interval (48 with that drop); the 9 after it wait for the next interval.
    expect(warnings.map((w) => w.dropped)).toEqual([1, 48]);
    expect(api.calls).toHaveLength(2);
  });
});
