/**
 * controller/kube through the real client-node stack, against the Kubernetes API emulator or (jest
 * project `kube-apiserver`) a real kube-apiserver: informer sync/delivery/recovery, Lease leader
 * election and Event aggregation. Cases that need the emulator's fault injection run only there.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, type CoreV1Event, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { KubeEmulator } from '../../../hack/emulators/kube/index.js';
import { rawRequest } from '../../support/kube-conformance-env.js';
import { ON_EMULATOR_TARGET, startKubeTarget, type KubeTarget } from '../../support/kube-target.js';
import { createNullLogger } from '../../../controller/observability/logger.js';
import { makeApiClient, userAgent, withUserAgent } from '../../../controller/kube/client.js';
import { SupervisedInformer } from '../../../controller/kube/informer.js';
import { LeaderElector, type StopReason } from '../../../controller/kube/leader-election.js';
import { EventRecorder } from '../../../controller/kube/event-recorder.js';
import { isMicroTimeString } from '../../../controller/kube/time.js';

/** Cases that drive the emulator's fault injection (dropped watches, compaction, failing requests). */
const emulatorOnly = ON_EMULATOR_TARGET ? it : it.skip;

const UA = userAgent('0.0.0-test');
let target: KubeTarget;
/** The emulator's controls; only used in {@link emulatorOnly} cases. */
let emu: KubeEmulator;
let kc: KubeConfig;
let core: CoreV1Api;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  target = await startKubeTarget({ emulator: { tls: false, bookmarkIntervalMs: 100 }, namespaces: ['inf-a', 'inf-b', 'inf-c', 'inf-d', 'inf-e', 'inf-f', 'ev-ns'] });
  emu = target.emulator as KubeEmulator;
  kc = target.kc;
  core = makeApiClient(kc, CoreV1Api, { userAgent: UA, requestTimeoutMs: 5000 });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await target?.stop();
});

/** Polls `condition` every 20 ms until it holds or `timeoutMs` passes. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function pod(namespace: string, name: string, labels: Record<string, string> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'c', image: 'busybox' }], nodeName: 'node-1' },
  };
}

interface Recorded {
  informer: SupervisedInformer<V1Pod>;
  events: string[];
  /** `state:cause` strings. */
  states: string[];
  invalid: unknown[];
}

/** A pod informer on namespace `ns` that records events as `type:name` strings. */
function podInformer(ns: string, extra: { stalenessMs?: number } = {}): Recorded {
  const events: string[] = [];
  const states: string[] = [];
  const invalid: unknown[] = [];
  const informer = new SupervisedInformer<V1Pod>({
    kc: withUserAgent(kc, UA),
    path: `/api/v1/namespaces/${ns}/pods`,
    list: () => core.listNamespacedPod({ namespace: ns }),
    parse: (obj) => {
      const p = obj as V1Pod;
      if (p.metadata?.labels?.invalid === 'true') throw new Error('invalid pod');
      return p;
    },
    onInvalid: (obj) => invalid.push(obj),
    onStateChange: (state, info) => states.push(`${state}:${info.cause ?? ''}`),
    logger: createNullLogger(),
    name: `pods-${ns}`,
    backoffBaseMs: 20,
    backoffMaxMs: 200,
    ...extra,
  });
  informer.on('add', (p) => events.push(`add:${p.metadata?.name}`));
  informer.on('update', (p) => events.push(`update:${p.metadata?.name}`));
  informer.on('delete', (p) => events.push(`delete:${p.metadata?.name}`));
  cleanups.push(() => informer.stop());
  return { informer, events, states, invalid };
}

describe('SupervisedInformer', () => {
  it('syncs, then delivers add/update/delete and skips invalid objects', async () => {
    await core.createNamespacedPod({ namespace: 'inf-a', body: pod('inf-a', 'p0') });
    const r = podInformer('inf-a');
    r.informer.start();
    expect(await r.informer.waitForSync(AbortSignal.timeout(5000))).toBe(true);
    expect(r.informer.hasSynced()).toBe(true);
    expect(r.events).toEqual(['add:p0']);
    await waitFor('watching', () => r.informer.isWatching());

    await core.createNamespacedPod({ namespace: 'inf-a', body: pod('inf-a', 'p1') });
    await waitFor('add p1', () => r.events.includes('add:p1'));
    expect(r.informer.get('inf-a', 'p1')?.metadata?.name).toBe('p1');

    await core.patchNamespacedPod({ namespace: 'inf-a', name: 'p1', body: [{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }] });
    await waitFor('update p1', () => r.events.includes('update:p1'));
    expect(r.informer.get('inf-a', 'p1')?.metadata?.labels).toEqual({ x: 'y' });

    await core.createNamespacedPod({ namespace: 'inf-a', body: pod('inf-a', 'bad', { invalid: 'true' }) });
    await waitFor('invalid reported', () => r.invalid.length === 1);
    expect(r.informer.get('inf-a', 'bad')).toBeUndefined();

    // gracePeriodSeconds 0: without a kubelet, a real server keeps a pod bound to a node otherwise.
    await core.deleteNamespacedPod({ namespace: 'inf-a', name: 'p0', gracePeriodSeconds: 0 });
    await waitFor('delete p0', () => r.events.includes('delete:p0'));
    expect(r.informer.list('inf-a').map((p) => p.metadata?.name).sort()).toEqual(['p1']);
    expect(r.informer.lastEventAt()).toBeGreaterThan(0);
  });

  emulatorOnly('recovers after the server drops its watches, without losing changes', async () => {
    const r = podInformer('inf-b');
    r.informer.start();
    expect(await r.informer.waitForSync(AbortSignal.timeout(5000))).toBe(true);
    await waitFor('watching', () => r.informer.isWatching());
    emu.controls.dropWatches();
    await core.createNamespacedPod({ namespace: 'inf-b', body: pod('inf-b', 'after-drop') });
    await waitFor('add after drop', () => r.events.includes('add:after-drop'));
    expect(r.events.filter((e) => e === 'add:after-drop')).toHaveLength(1);
  });

  emulatorOnly('relists after 410 Gone (compaction) and synthesises the missed changes', async () => {
    await core.createNamespacedPod({ namespace: 'inf-c', body: pod('inf-c', 'keep') });
    await core.createNamespacedPod({ namespace: 'inf-c', body: pod('inf-c', 'gone') });
    await core.createNamespacedPod({ namespace: 'inf-c', body: pod('inf-c', 'changed') });
    const r = podInformer('inf-c');
    r.informer.start();
    expect(await r.informer.waitForSync(AbortSignal.timeout(5000))).toBe(true);
    await waitFor('watching', () => r.informer.isWatching());
    const syncedAt = r.informer.lastEventAt() ?? 0;
    await waitFor('a bookmark', () => (r.informer.lastEventAt() ?? 0) > syncedAt); // watch proven healthy
    // End the watch; while the reconnect is held, change the store and forget its history.
    emu.controls.pause();
    emu.controls.dropWatches();
    emu.controls.deleteObject('/api/v1/namespaces/inf-c/pods/gone');
    emu.controls.putObject({ ...pod('inf-c', 'changed'), metadata: { name: 'changed', namespace: 'inf-c', labels: { v: '2' } } });
    emu.controls.putObject(pod('inf-c', 'new'));
    emu.controls.compact();
    emu.controls.resume();
    await waitFor('relist', () => ['delete:gone', 'add:new', 'update:changed'].every((e) => r.events.includes(e)));
    expect(r.states).toContain('listing:expired');
    expect(r.informer.list().map((p) => p.metadata?.name).sort()).toEqual(['changed', 'keep', 'new']);
    expect(r.informer.get('inf-c', 'changed')?.metadata?.labels).toEqual({ v: '2' });
  });

  emulatorOnly('retries a failing list with backoff until it succeeds', async () => {
    emu.controls.failNext({ verb: 'list', path: '/api/v1/namespaces/inf-d/pods', status: 500, count: 3 });
    const r = podInformer('inf-d');
    r.informer.start();
    expect(await r.informer.waitForSync(AbortSignal.timeout(5000))).toBe(true);
    expect(r.states.filter((s) => s.startsWith('backoff')).length).toBeGreaterThanOrEqual(3);
  });

  emulatorOnly('waitForSync returns false when the signal aborts first', async () => {
    emu.controls.failNext({ verb: 'list', path: '/api/v1/namespaces/inf-e/pods', status: 500, count: 1000 });
    const r = podInformer('inf-e');
    r.informer.start();
    expect(await r.informer.waitForSync(AbortSignal.timeout(200))).toBe(false);
    await r.informer.stop();
    expect(r.informer.state()).toBe('stopped');
  });

  emulatorOnly('asks for bookmarks and a server-side timeout on its watches', async () => {
    const r = podInformer('inf-f');
    r.informer.start();
    await waitFor('watching', () => r.informer.isWatching());
    await r.informer.stop(); // the emulator logs a watch when it closes
    const watchLog = () => emu.controls.requestLog().filter((e) => e.verb === 'watch' && e.path === '/api/v1/namespaces/inf-f/pods');
    await waitFor('watch logged', () => watchLog().length > 0);
    const watches = watchLog();
    const query = new URLSearchParams(watches[0]?.query);
    expect(query.get('allowWatchBookmarks')).toBe('true');
    expect(Number(query.get('timeoutSeconds'))).toBeGreaterThanOrEqual(300);
    expect(query.get('resourceVersion')).toBeTruthy();
  });
});

describe('LeaderElector', () => {
  function elector(lease: string, identity: string, log: { started: number; stopped: StopReason[] }): LeaderElector {
    const e = new LeaderElector({
      kc,
      userAgent: UA,
      namespace: 'kube-system',
      name: lease,
      identity,
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 200,
      logger: createNullLogger(),
      onStartedLeading: () => {
        log.started++;
      },
      onStoppedLeading: (reason) => log.stopped.push(reason),
    });
    cleanups.push(() => e.stop());
    return e;
  }

  it('elects one leader, writes six-digit MicroTimes, and hands over quickly on release', async () => {
    const logA = { started: 0, stopped: [] as StopReason[] };
    const logB = { started: 0, stopped: [] as StopReason[] };
    const a = elector('handover', 'replica-a', logA);
    a.start();
    await waitFor('a leads', () => a.isLeader());
    const b = elector('handover', 'replica-b', logB);
    b.start();
    await waitFor('b observes a', () => b.getLeader() === 'replica-a');
    expect(b.isLeader()).toBe(false);

    // Raw JSON, as stored (client-node would turn the MicroTimes into Dates).
    const lease = (await rawRequest(kc, 'GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/handover')).json as {
      spec: { holderIdentity: string; renewTime: string; acquireTime: string; leaseDurationSeconds: number };
    };
    expect(lease.spec.holderIdentity).toBe('replica-a');
    expect(isMicroTimeString(lease.spec.renewTime)).toBe(true);
    expect(isMicroTimeString(lease.spec.acquireTime)).toBe(true);
    expect(lease.spec.leaseDurationSeconds).toBe(3);

    const releasedAt = Date.now();
    await a.release();
    expect(logA.stopped).toEqual(['released']);
    await waitFor('b leads', () => b.isLeader(), 5000);
    expect(Date.now() - releasedAt).toBeLessThan(2000); // well under the 3 s lease duration
    expect(logB.started).toBe(1);
  });

  emulatorOnly('fences itself when renewals fail and reports the lost lease', async () => {
    const log = { started: 0, stopped: [] as StopReason[] };
    const a = elector('fencing', 'replica-c', log);
    a.start();
    await waitFor('c leads', () => a.isLeader());
    emu.controls.failNext({ path: '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/fencing', status: 500, count: 1000 });
    await waitFor('fenced', () => !a.isLeader(), 4000);
    await waitFor('lost reported', () => log.stopped.includes('lost'), 4000);
  });
});

describe('EventRecorder', () => {
  it('creates an Event and aggregates a repeat into count 2', async () => {
    const rec = new EventRecorder({ kc, userAgent: UA, logger: createNullLogger(), instance: 'mic-test' });
    const ref = { apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureIdentityBinding', name: 'bind-1', namespace: 'ev-ns', uid: 'uid-1' };
    rec.record(ref, 'Warning', 'binding apply error', 'failed to apply binding ev-ns/bind-1');
    rec.record(ref, 'Warning', 'binding apply error', 'failed to apply binding ev-ns/bind-1');
    await rec.flush();
    const list = await core.listNamespacedEvent({ namespace: 'ev-ns' });
    const ours = list.items.filter((e: CoreV1Event) => e.involvedObject.name === 'bind-1');
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatchObject({
      count: 2,
      type: 'Warning',
      reason: 'binding apply error',
      source: { component: 'aadpodidentity.k8s.io' },
      involvedObject: { kind: 'AzureIdentityBinding', uid: 'uid-1', namespace: 'ev-ns' },
    });
    expect(ours[0]?.metadata.name).toMatch(/^bind-1\.[0-9a-f]+$/);
  });
});

describe('reuseConnections', () => {
  emulatorOnly('keeps one TLS connection for many requests (client-node alone opens one per request)', async () => {
    const { startKubeEmulator } = await import('../../../hack/emulators/kube/index.js');
    const { KubeConfig, CoreV1Api } = await import('@kubernetes/client-node');
    const { reuseConnections } = await import('../../../controller/kube/client.js');
    const emu = await startKubeEmulator({});
    try {
      const count = async (fix: boolean): Promise<number> => {
        const kc = new KubeConfig();
        kc.loadFromString(emu.kubeconfigYaml());
        if (fix) reuseConnections(kc);
        const core = kc.makeApiClient(CoreV1Api);
        const before = emu.controls.counters()['connections:https'] ?? 0;
        for (let i = 0; i < 10; i++) await core.listNamespace();
        return (emu.controls.counters()['connections:https'] ?? 0) - before;
      };
      expect(await count(false)).toBeGreaterThanOrEqual(5);
      expect(await count(true)).toBeLessThanOrEqual(2);
    } finally {
      await emu.stop();
    }
  });
});
