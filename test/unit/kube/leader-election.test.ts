import { describe, expect, it } from '@jest/globals';
import { ApiException, type V1Lease } from '@kubernetes/client-node';
import { FakeClock, flushMicrotasks } from '../../../controller/util/clock.js';
import { createNullLogger } from '../../../controller/observability/logger.js';
import { isLeaderElectionConfigError, LeaderElector, type LeaseApi, type StopReason } from '../../../controller/kube/leader-election.js';
import { isMicroTimeString } from '../../../controller/kube/time.js';

function status(code: number, reason: string): ApiException<string> {
  return new ApiException(code, reason, JSON.stringify({ kind: 'Status', code, reason }), {});
}

/** One Lease with resourceVersion semantics; bodies go through JSON like on the wire. */
class LeaseStore {
  lease: Record<string, unknown> | undefined;
  #rv = 0;

  read(): V1Lease {
    if (!this.lease) throw status(404, 'NotFound');
    return JSON.parse(JSON.stringify(this.lease)) as V1Lease;
  }

  write(body: V1Lease, create: boolean): V1Lease {
    const wire = JSON.parse(JSON.stringify(body)) as { metadata: { resourceVersion?: string }; spec: Record<string, unknown> };
    for (const field of ['acquireTime', 'renewTime']) {
      const v = wire.spec[field];
      if (v !== undefined && !isMicroTimeString(v)) throw status(400, 'BadRequest');
    }
    if (create && this.lease) throw status(409, 'AlreadyExists');
    if (!create) {
      const current = this.lease as { metadata: { resourceVersion: string } } | undefined;
      if (!current) throw status(404, 'NotFound');
      if (wire.metadata.resourceVersion !== current.metadata.resourceVersion) throw status(409, 'Conflict');
    }
    wire.metadata.resourceVersion = String(++this.#rv);
    this.lease = wire;
    return this.read();
  }

  spec(): Record<string, unknown> {
    return (this.lease?.spec ?? {}) as Record<string, unknown>;
  }
}

/** A per-replica view of the store whose calls can be made to fail. */
function client(store: LeaseStore): LeaseApi & { failing: boolean } {
  const api = {
    failing: false,
    async readNamespacedLease() {
      if (api.failing) throw status(500, 'InternalError');
      return store.read();
    },
    async createNamespacedLease(p: { body: V1Lease }) {
      if (api.failing) throw status(500, 'InternalError');
      return store.write(p.body, true);
    },
    async replaceNamespacedLease(p: { body: V1Lease }) {
      if (api.failing) throw status(500, 'InternalError');
      return store.write(p.body, false);
    },
  };
  return api;
}

interface Replica {
  elector: LeaderElector;
  api: ReturnType<typeof client>;
  started: AbortSignal[];
  stopped: StopReason[];
  leaders: string[];
}

function replica(store: LeaseStore, clock: FakeClock, identity: string): Replica {
  const api = client(store);
  const r: Replica = { api, started: [], stopped: [], leaders: [], elector: undefined as unknown as LeaderElector };
  r.elector = new LeaderElector({
    coordinationApi: api,
    namespace: 'kube-system',
    name: 'aad-pod-identity-mic',
    identity,
    clock,
    logger: createNullLogger(),
    random: () => 0,
    onStartedLeading: (signal) => {
      r.started.push(signal);
    },
    onStoppedLeading: (reason) => r.stopped.push(reason),
    onNewLeader: (id) => r.leaders.push(id),
  });
  return r;
}

describe('LeaderElector', () => {
  it('rejects inconsistent timings', () => {
    let caught: unknown;
    try {
      new LeaderElector({
        coordinationApi: client(new LeaseStore()), namespace: 'n', name: 'l', logger: createNullLogger(),
        leaseDurationMs: 10_000, renewDeadlineMs: 10_000, onStartedLeading: () => undefined, onStoppedLeading: () => undefined,
      });
    } catch (e) {
      caught = e;
    }
    expect(isLeaderElectionConfigError(caught)).toBe(true);
  });

  it('creates the lease with MicroTime fields, leads alone, and renews every retry period', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = replica(store, clock, 'a');
    const b = replica(store, clock, 'b');
    a.elector.start();
    await flushMicrotasks();
    b.elector.start();
    await flushMicrotasks();
    expect(a.elector.isLeader()).toBe(true);
    expect(a.started).toHaveLength(1);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.leaders).toEqual(['a']);
    expect(store.spec()).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    const firstRenew = store.spec().renewTime;
    await clock.advance(20_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(store.spec().renewTime).not.toBe(firstRenew);
    expect(isMicroTimeString(store.spec().renewTime)).toBe(true);
    await a.elector.stop();
    await b.elector.stop();
    expect(a.stopped).toEqual(['stopped']);
    expect(b.stopped).toEqual([]);
  });

  it('fences itself when renewals fail past the renew deadline, then a standby takes over after expiry', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = replica(store, clock, 'a');
    const b = replica(store, clock, 'b');
    a.elector.start();
    await flushMicrotasks();
    b.elector.start();
    await flushMicrotasks();
    const lastRenew = clock.now();
    a.api.failing = true;
    await clock.advance(9_999);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1);
    expect(a.elector.isLeader()).toBe(false); // fencing by local clock, whatever the loop does
    await clock.advance(2_000);
    expect(a.stopped).toEqual(['lost']);
    expect(a.elector.lastLoss()).toEqual({ reason: 'renewDeadline', holder: 'a' });
    expect(a.started[0]?.aborted).toBe(true);
    expect(b.elector.isLeader()).toBe(false); // lease (15 s) not yet expired from b's point of view
    await clock.advance(lastRenew + 15_000 + 2_000 - clock.now());
    expect(b.elector.isLeader()).toBe(true);
    expect(store.spec()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(b.leaders).toEqual(['a', 'b']);
    await b.elector.stop();
  });

  it('release() hands the lease over to the standby within a retry period or two', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    const a = replica(store, clock, 'a');
    const b = replica(store, clock, 'b');
    a.elector.start();
    await flushMicrotasks();
    b.elector.start();
    await flushMicrotasks();
    await a.elector.release();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stopped).toEqual(['released']);
    expect(store.spec()).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    await clock.advance(2_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(store.spec()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.elector.release();
  });

  it('exposes the lease annotations it last saw', async () => {
    const clock = new FakeClock();
    const store = new LeaseStore();
    store.lease = {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: { name: 'aad-pod-identity-mic', namespace: 'kube-system', resourceVersion: '0', annotations: { pause: 'true' } },
      spec: {},
    };
    const a = replica(store, clock, 'a');
    a.elector.start();
    await flushMicrotasks();
    expect(a.elector.isLeader()).toBe(true);
    expect(a.elector.getAnnotations()).toEqual({ pause: 'true' });
    expect(a.elector.getLeader()).toBe('a');
    expect((store.lease.metadata as { annotations: unknown }).annotations).toEqual({ pause: 'true' });
    await a.elector.stop();
  });
});
