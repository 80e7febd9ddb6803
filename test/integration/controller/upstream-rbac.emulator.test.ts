/**
 * Degraded-but-safe operation under upstream MIC's RBAC (no Leases, no ConfigMap list/watch, no
 * pods/status), emulated by refusing exactly those requests with 403: the controller leads through
 * the Endpoints lock alone, reads ownership records and the pause switch by name, and reports every
 * missing permission once (log, Warning Event, /readyz). The real RBAC-enforcing API server variant
 * is test/integration/envtest (when the envtest harness is present).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { CoordinationV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { LEADER_ANNOTATION } from '../../../controller/kube/endpoints-lock.js';
import { PauseSwitch } from '../../../controller/app/pause.js';
import { readyVerdict } from '../../../controller/observability/probes.js';
import { createNullLogger } from '../../../controller/observability/logger.js';
import { systemClock } from '../../../controller/util/clock.js';
import { startHarness, type Harness, VMSS } from '../../support/harness.js';
import { waitFor } from '../../support/wait.js';

const NODE0 = `${VMSS}000000`;
const FOREVER = 1_000_000_000;

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Refuses what upstream's ClusterRole does not grant (and this controller can use). */
function applyUpstreamRbac(harness: Harness): void {
  for (const verb of ['get', 'create', 'update']) harness.kube.controls.failNext({ verb, path: /\/leases(\/|$)/, status: 403, reason: 'Forbidden', count: FOREVER });
  for (const verb of ['list', 'watch']) harness.kube.controls.failNext({ verb, path: /\/namespaces\/default\/configmaps$/, status: 403, reason: 'Forbidden', count: FOREVER });
  harness.kube.controls.failNext({ verb: 'patch', path: /\/pods\/[^/]+\/status$/, status: 403, reason: 'Forbidden', count: FOREVER });
}

async function warningEvents(harness: Harness): Promise<CoreV1Event[]> {
  const list = await harness.core.listNamespacedEvent({ namespace: 'default' });
  return list.items.filter((e) => e.reason === 'MissingPermission');
}

describe('under upstream MIC RBAC', () => {
  it('leads on the Endpoints lock, assigns, removes what an earlier leader recorded, and reports each missing permission once', async () => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    // A first controller with full rights assigns and records ownership.
    const first = await h.startMic({ name: 'full-rights' });
    await h.addPod('p1', NODE0, 'sel');
    await h.waitForAssigned(1);
    await first.stop();

    applyUpstreamRbac(h);
    const mic = await h.startMic({ name: 'upstream-rbac' });
    await waitFor(() => mic.active, 'the replica to lead under upstream RBAC', 15_000);
    const ep = await h.core.readNamespacedEndpoints({ name: 'aad-pod-identity-mic', namespace: 'default' });
    expect(JSON.parse(ep.metadata?.annotations?.[LEADER_ANNOTATION] ?? '{}')).toMatchObject({ holderIdentity: 'upstream-rbac', leaseDurationSeconds: 3 });

    await h.addPod('p2', `${VMSS}000001`, 'sel', 'default', { readinessGate: true });
    await h.waitForAssigned(2);
    // Ownership read by name: deleting every pod removes the identity the first controller added.
    await h.deletePod('p1');
    await h.deletePod('p2');
    await waitFor(() => !h!.vmssIdentities().includes(resourceId.toLowerCase()), 'the owned identity to be removed');

    const missing = mic.permissions.summary().sort();
    expect(missing).toEqual(['get leases.coordination.k8s.io in default', 'list configmaps in default', 'patch pods/status']);
    const ready = readyVerdict(mic.health(), Date.now());
    expect(ready.status).toBe(200);
    expect(ready.body).toContain('missing RBAC permissions: ');
    expect(mic.elector.lockStatus().active.map((l) => l.kind)).toEqual(['Endpoints']);
    const events = await waitFor(async () => {
      const ev = await warningEvents(h!);
      return ev.length >= 3 ? ev : undefined;
    }, 'one Warning Event per missing permission');
    expect(events.map((e) => e.involvedObject.kind)).toEqual(['Endpoints', 'Endpoints', 'Endpoints']);
    expect(events.every((e) => e.type === 'Warning' && (e.count ?? 1) === 1)).toBe(true);
    const errorLines = h.logLines.filter((l) => l.includes('Missing RBAC permission') && l.includes('upstream-rbac'));
    expect(errorLines).toHaveLength(3);
    await expect(h.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'aad-pod-identity-mic', namespace: 'default' })).rejects.toMatchObject({ code: 403 });
  });

  it('a replica refused every leader lock is not ready and says why', async () => {
    h = await startHarness();
    applyUpstreamRbac(h);
    for (const verb of ['get', 'create', 'update']) h.kube.controls.failNext({ verb, path: /\/endpoints(\/|$)/, status: 403, reason: 'Forbidden', count: FOREVER });
    const mic = await h.startMic({ name: 'no-locks' });
    await waitFor(() => mic.elector.lockStatus().active.length === 0, 'both locks to be refused');
    const ready = readyVerdict(mic.health(), Date.now());
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('cannot take part in leader election');
    expect(mic.active).toBe(false);
  });

  it('the pause switch is read by name when ConfigMap list/watch is refused', async () => {
    h = await startHarness();
    applyUpstreamRbac(h);
    const seen: boolean[] = [];
    const refused: string[] = [];
    const pause = new PauseSwitch({
      kc: h.kc, namespace: 'default', name: 'mic-pause', clock: systemClock, logger: createNullLogger(), pollIntervalMs: 50,
      onChange: (p) => seen.push(p), onPermissionMissing: (p) => refused.push(`${p.verb} ${p.resource}`),
    });
    pause.start();
    try {
      await waitFor(() => pause.mode === 'poll', 'the switch to fall back to polling');
      await h.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'mic-pause', namespace: 'default' } } });
      await waitFor(() => pause.paused, 'paused');
      await h.core.deleteNamespacedConfigMap({ name: 'mic-pause', namespace: 'default' });
      await waitFor(() => !pause.paused, 'resumed');
      expect(seen).toEqual([true, false]);
      expect(refused).toEqual(['list configmaps']);
    } finally {
      await pause.stop();
    }
  });
});
