import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createNullLogger } from '../../../controller/observability/logger.js';
import { createMetrics } from '../../../controller/observability/metrics.js';
import {
  EventLoopWatchdog,
  healthVerdict,
  isProbeServerError,
  readyVerdict,
  startMetricsServer,
  startObservabilityServers,
  startProbeServer,
  type HealthState,
  type ServerHandle,
} from '../../../controller/observability/probes.js';
import type { Clock } from '../../../controller/util/clock.js';

const HOST = '127.0.0.1';
const LEASE_MS = 15_000;
const NOW = 1_700_000_000_000;

function standby(overrides: Partial<HealthState> = {}): HealthState {
  return { leading: false, syncLoopRunning: false, leaseDurationMs: LEASE_MS, informers: [], lastLeaseObservedAt: NOW, ...overrides };
}

function leader(overrides: Partial<HealthState> = {}): HealthState {
  return standby({
    leading: true,
    syncLoopRunning: true,
    lastLeaseRenewAt: NOW,
    informers: [
      { name: 'pods', synced: true, watching: true },
      { name: 'azureidentities', synced: true, watching: true },
    ],
    ...overrides,
  });
}

async function get(port: number, path: string, method = 'GET') {
  const res = await fetch(`http://${HOST}:${port}${path}`, { method });
  return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') };
}

/** Polls `fn` until it returns true or the deadline passes. */
async function waitFor(fn: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('condition not met before deadline');
}

/** A clock whose time and timers the test drives by hand. */
class ManualClock implements Clock {
  time = NOW;
  timers: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.time;
  }
  sleep(): Promise<void> {
    throw new Error('not used');
  }
  setTimer(fn: () => void, ms: number): () => void {
    const timer = { at: this.time + ms, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
  /** Jumps to `at` and fires the earliest timer (as a late event loop would). */
  fireNextAt(at: number): void {
    const timer = this.timers.shift();
    if (!timer) throw new Error('no timer');
    this.time = at;
    timer.fn();
  }
}

describe('healthVerdict', () => {
  it('is Active for a leader with its sync loop running', () => {
    expect(healthVerdict(leader(), NOW, false)).toEqual({ status: 200, body: 'Active' });
  });

  it('is Not Active for a standby and for a leader whose loop has not started', () => {
    expect(healthVerdict(standby(), NOW, false)).toEqual({ status: 200, body: 'Not Active' });
    expect(healthVerdict(leader({ syncLoopRunning: false }), NOW, false)).toEqual({ status: 200, body: 'Not Active' });
  });

  it('fails when the event loop stalled', () => {
    expect(healthVerdict(standby(), NOW, true).status).toBe(500);
  });

  it('fails a leader that has not renewed beyond lease duration plus tolerance', () => {
    const state = leader({ lastLeaseRenewAt: NOW - LEASE_MS - 2000 });
    expect(healthVerdict(state, NOW, false).status).toBe(200);
    expect(healthVerdict(state, NOW + 1, false)).toEqual({ status: 500, body: 'leader lease not renewed' });
    // A standby never fails on the lease.
    expect(healthVerdict(standby({ lastLeaseRenewAt: NOW - 10 * LEASE_MS }), NOW, false).status).toBe(200);
  });
});

describe('readyVerdict', () => {
  it('is ready for a leader with every informer synced and watching', () => {
    expect(readyVerdict(leader(), NOW)).toEqual({ status: 200, body: 'ok' });
  });

  it('names the informers that are not synced or not watching', () => {
    const notSynced = leader({
      informers: [
        { name: 'pods', synced: false, watching: false },
        { name: 'nodes', synced: true, watching: true },
        { name: 'azureidentities', synced: false, watching: false },
      ],
    });
    expect(readyVerdict(notSynced, NOW)).toEqual({ status: 503, body: 'informers not synced: pods, azureidentities' });
    const notWatching = leader({ informers: [{ name: 'nodes', synced: true, watching: false }] });
    expect(readyVerdict(notWatching, NOW)).toEqual({ status: 503, body: 'informers not watching: nodes' });
    expect(readyVerdict(leader({ informers: [] }), NOW).status).toBe(503);
  });

  it('is ready for a standby that observed the lease recently', () => {
    expect(readyVerdict(standby(), NOW + 3 * LEASE_MS)).toEqual({ status: 200, body: 'ok (standby)' });
    expect(readyVerdict(standby(), NOW + 3 * LEASE_MS + 1)).toEqual({ status: 503, body: 'leader lease not observed recently' });
    expect(readyVerdict(standby({ lastLeaseObservedAt: undefined }), NOW).status).toBe(503);
  });

  it('is not ready while shutting down', () => {
    expect(readyVerdict(leader({ shuttingDown: true }), NOW)).toEqual({ status: 503, body: 'shutting down' });
  });
});

describe('EventLoopWatchdog', () => {
  it('reports a stall when a heartbeat is late, and forgets it after the hold time', () => {
    const clock = new ManualClock();
    const dog = new EventLoopWatchdog({ clock, intervalMs: 1000, maxLagMs: 500, holdMs: 10_000 });
    dog.start();
    clock.fireNextAt(NOW + 1000); // on time
    expect(dog.isStalled()).toBe(false);
    clock.fireNextAt(NOW + 1000 + 1000 + 400); // 400 ms late: tolerated
    expect(dog.lastLagMs).toBe(400);
    expect(dog.isStalled()).toBe(false);
    const lateAt = NOW + 2400 + 1000 + 3000; // 3 s late
    clock.fireNextAt(lateAt);
    expect(dog.isStalled()).toBe(true);
    clock.time = lateAt + 9_999;
    expect(dog.isStalled()).toBe(true);
    clock.time = lateAt + 10_000;
    expect(dog.isStalled()).toBe(false);
    dog.stop();
    expect(clock.timers).toHaveLength(0);
  });
});

describe('probe server over HTTP', () => {
  let state: HealthState;
  let stalled = false;
  let server: ServerHandle;
  const clock = new ManualClock();

  beforeAll(async () => {
    state = standby();
    server = await startProbeServer({
      port: 0,
      host: HOST,
      health: () => state,
      logger: createNullLogger(),
      stallDetector: { isStalled: () => stalled },
      clock,
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('binds an ephemeral port', () => {
    expect(server.port).toBeGreaterThan(0);
  });

  it('answers Not Active for a standby and Active for a running leader', async () => {
    state = standby();
    expect(await get(server.port, '/healthz')).toMatchObject({ status: 200, body: 'Not Active' });
    state = leader();
    const res = await get(server.port, '/healthz');
    expect(res).toMatchObject({ status: 200, body: 'Active' });
    expect(res.contentType).toMatch(/^text\/plain/);
  });

  it('answers 500 when stalled or when the leader lease went unrenewed', async () => {
    state = leader();
    stalled = true;
    expect((await get(server.port, '/healthz')).status).toBe(500);
    stalled = false;
    state = leader({ lastLeaseRenewAt: NOW - 60_000 });
    expect(await get(server.port, '/healthz')).toMatchObject({ status: 500, body: 'leader lease not renewed' });
  });

  it('serves readiness with a reason', async () => {
    state = leader({ informers: [{ name: 'nodes', synced: false, watching: false }] });
    expect(await get(server.port, '/readyz')).toMatchObject({ status: 503, body: 'informers not synced: nodes' });
    state = leader();
    expect(await get(server.port, '/readyz')).toMatchObject({ status: 200, body: 'ok' });
  });

  it('accepts HEAD, rejects other methods, 404s unknown paths, serves no pprof or metrics', async () => {
    state = leader();
    expect((await get(server.port, '/healthz', 'HEAD')).status).toBe(200);
    expect((await get(server.port, '/healthz', 'POST')).status).toBe(405);
    expect((await get(server.port, '/debug/pprof/')).status).toBe(404);
    expect((await get(server.port, '/metrics')).status).toBe(404);
    expect((await get(server.port, '/healthz?verbose=1')).body).toBe('Active');
  });
});

describe('metrics server over HTTP', () => {
  let server: ServerHandle;
  const metrics = createMetrics(new Registry(), { defaultMetrics: false });

  beforeAll(async () => {
    server = await startMetricsServer({ port: 0, host: HOST, registry: metrics.registry });
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves Prometheus text with the registry content type', async () => {
    metrics.cycleCount.inc();
    const res = await get(server.port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.contentType).toBe(metrics.registry.contentType);
    expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('# TYPE aadpodidentity_mic_cycle_count counter');
    expect(res.body).toMatch(/^aadpodidentity_mic_cycle_count 1$/m);
  });

  it('has no probe paths', async () => {
    expect((await get(server.port, '/healthz')).status).toBe(404);
  });
});

describe('startObservabilityServers', () => {
  it('uses two servers on distinct ports', async () => {
    const metrics = createMetrics(new Registry(), { defaultMetrics: false });
    const servers = await startObservabilityServers({
      probePort: 0,
      metricsPort: 0,
      host: HOST,
      registry: metrics.registry,
      health: () => standby({ lastLeaseObservedAt: Date.now() }),
      logger: createNullLogger(),
      stallDetector: { isStalled: () => false },
    });
    try {
      expect(servers.probe.port).not.toBe(servers.metrics.port);
      expect((await get(servers.probe.port, '/healthz')).body).toBe('Not Active');
      expect((await get(servers.probe.port, '/metrics')).status).toBe(404);
      expect((await get(servers.metrics.port, '/metrics')).status).toBe(200);
    } finally {
      await servers.close();
    }
  });

  it('serves everything on one server when both ports are equal', async () => {
    // Find a free port, release it, then ask for probe and metrics on that same port.
    const probe = await startMetricsServer({ port: 0, host: HOST, registry: new Registry() });
    const port = probe.port;
    await probe.close();
    const metrics = createMetrics(new Registry(), { defaultMetrics: false });
    const servers = await startObservabilityServers({
      probePort: port,
      metricsPort: port,
      host: HOST,
      registry: metrics.registry,
      health: () => standby({ lastLeaseObservedAt: Date.now() }),
      logger: createNullLogger(),
      stallDetector: { isStalled: () => false },
    });
    try {
      expect(servers.metrics).toBe(servers.probe);
      expect((await get(port, '/healthz')).body).toBe('Not Active');
      expect((await get(port, '/readyz')).status).toBe(200);
      expect((await get(port, '/metrics')).body).toContain('aadpodidentity_mic_is_leader 0');
    } finally {
      await servers.close();
    }
  });

  it('reports a port already in use as a ProbeServerError', async () => {
    const taken = await startMetricsServer({ port: 0, host: HOST, registry: new Registry() });
    try {
      const err = await startMetricsServer({ port: taken.port, host: HOST, registry: new Registry() }).catch((e: unknown) => e);
      expect(isProbeServerError(err)).toBe(true);
      expect(((err as Error).cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    } finally {
      await taken.close();
    }
  });
});

describe('real event-loop stall', () => {
  it('turns /healthz to 500 after the loop was blocked', async () => {
    const dog = new EventLoopWatchdog({ intervalMs: 20, maxLagMs: 100, holdMs: 60_000 });
    dog.start();
    const server = await startProbeServer({
      port: 0,
      host: HOST,
      health: () => standby({ lastLeaseObservedAt: Date.now() }),
      logger: createNullLogger(),
      stallDetector: dog,
    });
    try {
      expect((await get(server.port, '/healthz')).status).toBe(200);
      // Block the event loop (this simulates the failure; it is not used for synchronisation).
      const until = Date.now() + 300;
      while (Date.now() < until) {
        /* busy */
      }
      await waitFor(async () => (await get(server.port, '/healthz')).status === 500);
      expect(await get(server.port, '/healthz')).toMatchObject({ status: 500, body: 'event loop stalled' });
    } finally {
      dog.stop();
      await server.close();
    }
  });
});

describe('readyVerdict with RBAC gaps', () => {
  const base = { leading: false, syncLoopRunning: false, leaseDurationMs: 15_000, informers: [], lastLeaseObservedAt: 1_000_000 };
  it('stays ready but names the missing permissions when a feature is degraded', () => {
    const v = readyVerdict({ ...base, missingPermissions: ['get leases.coordination.k8s.io in default'] }, 1_000_000);
    expect(v.status).toBe(200);
    expect(v.body).toBe('ok (standby); degraded, missing RBAC permissions: get leases.coordination.k8s.io in default');
  });
  it('is not ready when no leader lock can be used', () => {
    const v = readyVerdict({ ...base, electionBlocked: 'get endpoints in default refused', missingPermissions: ['get endpoints in default'] }, 1_000_000);
    expect(v.status).toBe(503);
    expect(v.body).toContain('cannot take part in leader election: get endpoints in default refused');
  });
});
