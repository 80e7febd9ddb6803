/**
 * The two-lock election (Endpoints as upstream MIC + Lease): mutual exclusion with a holder of either
 * lock, client-go's record format in the Endpoints annotation, degraded mode without Lease permission,
 * monotonic expiry, and LeaderElection Events.
 */
import { describe, expect, it } from '@jest/globals';
import { ApiException, type V1Endpoints, type V1Lease } from '@kubernetes/client-node';
import { FakeClock, flushMicrotasks } from '../../../controller/util/clock.js';
import { createNullLogger } from '../../../controller/observability/logger.js';
import { LeaderElector, type EndpointsApi, type LeaseApi, type LockPermissionDenial } from '../../../controller/kube/leader-election.js';
import { decodeLeaderRecord, encodeLeaderRecord, LEADER_ANNOTATION } from '../../../controller/kube/endpoints-lock.js';
import { UNREADABLE_HOLDER } from '../../../controller/kube/resource-lock.js';
import type { EventSink, EventType, ObjectReferenceLike } from '../../../controller/kube/event-recorder.js';

function status(code: number, reason: string): ApiException<string> {
  return new ApiException(code, reason, JSON.stringify({ kind: 'Status', code, reason }), {});
}

/** One object per kind with resourceVersion semantics; bodies go through JSON as on the wire. */
class Store {
  objects = new Map<string, Record<string, unknown>>();
  forbidden = new Set<string>();
  #rv = 0;

  read<T>(kind: string): T {
    if (this.forbidden.has(kind)) throw status(403, 'Forbidden');
    const o = this.objects.get(kind);
    if (!o) throw status(404, 'NotFound');
    return JSON.parse(JSON.stringify(o)) as T;
  }

  write<T>(kind: string, body: unknown, create: boolean): T {
    if (this.forbidden.has(kind)) throw status(403, 'Forbidden');
    const wire = JSON.parse(JSON.stringify(body)) as { metadata: { resourceVersion?: string } };
    const current = this.objects.get(kind) as { metadata: { resourceVersion: string } } | undefined;
    if (create && current) throw status(409, 'AlreadyExists');
    if (!create) {
      if (!current) throw status(404, 'NotFound');
      if (wire.metadata.resourceVersion !== current.metadata.resourceVersion) throw status(409, 'Conflict');
    }
    wire.metadata.resourceVersion = String(++this.#rv);
    this.objects.set(kind, wire as Record<string, unknown>);
    return this.read<T>(kind);
  }

  /** The Endpoints annotation, parsed. */
  endpointsRecord(): Record<string, unknown> | undefined {
    const ep = this.objects.get('Endpoints') as V1Endpoints | undefined;
    const raw = ep?.metadata?.annotations?.[LEADER_ANNOTATION];
    return raw === undefined ? undefined : (JSON.parse(raw) as Record<string, unknown>);
  }

  leaseHolder(): string | undefined {
    return (this.objects.get('Lease') as V1Lease | undefined)?.spec?.holderIdentity;
  }

  /** Writes the Endpoints lock the way upstream MIC (client-go EndpointsLock) does. */
  upstreamWrite(holder: string, renewMs: number): void {
    const current = this.objects.get('Endpoints') as V1Endpoints | undefined;
    const annotation = encodeLeaderRecord({ holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: renewMs, renewTime: renewMs, leaderTransitions: 0 });
    const body: V1Endpoints = { ...(current ?? {}), metadata: { ...(current?.metadata ?? { name: 'aad-pod-identity-mic', namespace: 'default' }), annotations: { [LEADER_ANNOTATION]: annotation } } };
    this.write('Endpoints', body, current === undefined);
  }
}

function apis(store: Store): EndpointsApi & LeaseApi {
  return {
    readNamespacedEndpoints: async () => store.read('Endpoints'),
    createNamespacedEndpoints: async (p) => store.write('Endpoints', p.body, true),
    replaceNamespacedEndpoints: async (p) => store.write('Endpoints', p.body, false),
    readNamespacedLease: async () => store.read('Lease'),
    createNamespacedLease: async (p) => store.write('Lease', p.body, true),
    replaceNamespacedLease: async (p) => store.write('Lease', p.body, false),
  };
}

class Events implements EventSink {
  seen: { kind: string; type: EventType; reason: string; message: string }[] = [];
  record(obj: ObjectReferenceLike, type: EventType, reason: string, message: string): void {
    this.seen.push({ kind: obj.kind, type, reason, message });
  }
}

function replica(store: Store, clock: FakeClock, identity: string, locks: 'both' | 'lease' | 'endpoints' = 'both') {
  const api = apis(store);
  const r = { started: 0, stopped: [] as string[], denied: [] as LockPermissionDenial[], events: new Events(), elector: undefined as unknown as LeaderElector };
  r.elector = new LeaderElector({
    ...(locks !== 'lease' ? { endpointsApi: api } : {}),
    ...(locks !== 'endpoints' ? { coordinationApi: api } : {}),
    namespace: 'default', name: 'aad-pod-identity-mic', identity, clock, logger: createNullLogger(), random: () => 0,
    leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 1_500,
    events: r.events,
    onStartedLeading: () => void r.started++,
    onStoppedLeading: (reason) => r.stopped.push(reason),
    onPermissionDenied: (d) => r.denied.push(d),
  });
  return r;
}

describe('Endpoints record format', () => {
  it('is client-go LeaderElectionRecord JSON with whole-second RFC 3339 times, and round-trips', () => {
    const raw = encodeLeaderRecord({ holderIdentity: 'mic-7d9f', leaseDurationSeconds: 15, acquireTime: Date.UTC(2026, 10, 30, 6, 0, 1, 999), renewTime: Date.UTC(2026, 10, 30, 6, 0, 4), leaderTransitions: 3 });
    expect(raw).toBe('{"holderIdentity":"mic-7d9f","leaseDurationSeconds":15,"acquireTime":"2026-11-30T06:00:01Z","renewTime":"2026-11-30T06:00:04Z","leaderTransitions":3}');
    expect(decodeLeaderRecord(raw, 10)).toEqual({ holderIdentity: 'mic-7d9f', leaseDurationSeconds: 15, acquireTime: Date.UTC(2026, 10, 30, 6, 0, 1), renewTime: Date.UTC(2026, 10, 30, 6, 0, 4), leaderTransitions: 3 });
  });

  it('treats an unreadable annotation as held by someone else', () => {
    expect(decodeLeaderRecord('not json', 15).holderIdentity).toBe(UNREADABLE_HOLDER);
  });
});

describe('LeaderElector with Endpoints + Lease', () => {
  it('takes both locks, writes the Endpoints record as upstream reads it, and records LeaderElection Events', async () => {
    const clock = new FakeClock();
    const store = new Store();
    const a = replica(store, clock, 'a');
    a.elector.start();
    await flushMicrotasks();
    expect(a.elector.isLeader()).toBe(true);
    expect(store.endpointsRecord()).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaderTransitions: 0 });
    expect(store.leaseHolder()).toBe('a');
    expect(a.events.seen).toEqual([
      { kind: 'Endpoints', type: 'Normal', reason: 'LeaderElection', message: 'a became leader' },
      { kind: 'Lease', type: 'Normal', reason: 'LeaderElection', message: 'a became leader' },
    ]);
    await a.elector.release();
    expect(store.endpointsRecord()).toMatchObject({ holderIdentity: '' });
    expect(a.events.seen.map((e) => e.message)).toContain('a stopped leading');
  });

  it('stands by while an upstream MIC renews the Endpoints lock, and takes over only after it stops for a lease duration', async () => {
    const clock = new FakeClock();
    const store = new Store();
    store.upstreamWrite('upstream-mic-0', clock.now());
    const a = replica(store, clock, 'a');
    a.elector.start();
    for (let i = 0; i < 20; i++) {
      await clock.advance(3_750); // upstream's retry period
      store.upstreamWrite('upstream-mic-0', clock.now());
      expect(a.elector.isLeader()).toBe(false);
    }
    expect(store.leaseHolder()).toBeUndefined(); // nothing written while held
    expect(a.elector.getLeader()).toBe('upstream-mic-0');
    const stoppedAt = clock.now();
    await clock.advance(14_000);
    expect(a.elector.isLeader()).toBe(false);
    await clock.advance(5_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(clock.now() - stoppedAt).toBeGreaterThanOrEqual(15_000);
    expect(store.endpointsRecord()).toMatchObject({ holderIdentity: 'a', leaderTransitions: 1 });
    await a.elector.stop();
  });

  it('stands by while a Lease-only holder (an earlier release) renews, though Endpoints is free', async () => {
    const clock = new FakeClock();
    const store = new Store();
    const old = replica(store, clock, 'old', 'lease');
    old.elector.start();
    await flushMicrotasks();
    const a = replica(store, clock, 'a');
    a.elector.start();
    await flushMicrotasks();
    await clock.advance(30_000);
    expect(old.elector.isLeader()).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
    await old.elector.stop();
    await clock.advance(20_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(store.leaseHolder()).toBe('a');
    await a.elector.stop();
  });

  it('an upstream-style reader of the Endpoints lock sees it held while we lead (never two leaders)', async () => {
    const clock = new FakeClock();
    const store = new Store();
    const a = replica(store, clock, 'a');
    const upstream = replica(store, clock, 'upstream', 'endpoints'); // reads and writes only Endpoints
    a.elector.start();
    await flushMicrotasks();
    upstream.elector.start();
    for (let i = 0; i < 40; i++) {
      await clock.advance(1_000);
      expect(a.elector.isLeader() && upstream.elector.isLeader()).toBe(false);
    }
    expect(a.elector.isLeader()).toBe(true);
    await a.elector.stop(); // crash: no release
    await clock.advance(20_000);
    expect(upstream.elector.isLeader()).toBe(true);
    expect(store.endpointsRecord()).toMatchObject({ holderIdentity: 'upstream' });
    await upstream.elector.stop();
  });

  it('leads on the Endpoints lock alone when Leases are forbidden, reporting it once', async () => {
    const clock = new FakeClock();
    const store = new Store();
    store.forbidden.add('Lease');
    const a = replica(store, clock, 'a');
    a.elector.start();
    await flushMicrotasks();
    await clock.advance(10_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(store.endpointsRecord()).toMatchObject({ holderIdentity: 'a' });
    expect(a.denied).toHaveLength(1);
    expect(a.denied[0]).toMatchObject({ verb: 'get', noLockLeft: false });
    expect(a.denied[0]?.lock.kind).toBe('Lease');
    expect(a.elector.lockStatus().forbidden.map((l) => l.kind)).toEqual(['Lease']);
    await a.elector.stop();
  });

  it('with every lock forbidden it does not lead, says so, and starts leading once a lock is allowed', async () => {
    const clock = new FakeClock();
    const store = new Store();
    store.forbidden.add('Lease');
    store.forbidden.add('Endpoints');
    const a = replica(store, clock, 'a');
    a.elector.start();
    await flushMicrotasks();
    await clock.advance(10_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.denied.map((d) => d.noLockLeft)).toEqual([false, true]);
    store.forbidden.delete('Endpoints');
    await clock.advance(5_000);
    expect(a.elector.isLeader()).toBe(true);
    await a.elector.stop();
  });

  it('judges expiry from when its read returned, on the monotonic clock', async () => {
    const clock = new FakeClock();
    const store = new Store();
    store.upstreamWrite('upstream-mic-0', clock.now() - 3_600_000); // wall times inside the record are ignored
    const a = replica(store, clock, 'a');
    a.elector.start();
    await flushMicrotasks();
    await clock.advance(14_000);
    expect(a.elector.isLeader()).toBe(false);
    await clock.advance(3_000);
    expect(a.elector.isLeader()).toBe(true);
    await a.elector.stop();
  });
});

describe('EndpointsLock', () => {
  it('keeps the Endpoints object\'s other annotations and subsets when it writes the record', async () => {
    const clock = new FakeClock();
    const store = new Store();
    store.objects.set('Endpoints', {
      apiVersion: 'v1', kind: 'Endpoints',
      metadata: { name: 'aad-pod-identity-mic', namespace: 'default', resourceVersion: '0', annotations: { team: 'identity' } },
      subsets: [{ addresses: [{ ip: '10.0.0.1' }] }],
    });
    const a = replica(store, clock, 'a', 'endpoints');
    a.elector.start();
    await flushMicrotasks();
    expect(a.elector.isLeader()).toBe(true);
    const ep = store.objects.get('Endpoints') as V1Endpoints;
    expect(ep.metadata?.annotations?.team).toBe('identity');
    expect(ep.subsets).toEqual([{ addresses: [{ ip: '10.0.0.1' }] }]);
    expect(store.endpointsRecord()).toMatchObject({ holderIdentity: 'a' });
    await a.elector.stop();
  });
});
