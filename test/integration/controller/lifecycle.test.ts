/**
 * Lifecycle scenarios against both emulators: failover, restart with stale state, drift repair,
 * identity edits, and the opt-in features (dry run, pause, unassign grace period).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { GROUP, PLURALS, VERSION } from '../../../controller/api/types.js';
import { startHarness, type Harness, VMSS, SUB, RG } from '../../support/harness.js';
import { waitFor } from '../../support/wait.js';

const NODE0 = 'aks-nodepool1-12345678-vmss000000';
const NODE1 = 'aks-nodepool1-12345678-vmss000001';
const vmssArmId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${VMSS}`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function leaseHolder(harness: Harness): Promise<string | undefined> {
  const lease = await harness.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'aad-pod-identity-mic', namespace: 'default' });
  return lease.spec?.holderIdentity ?? undefined;
}

describe('controller lifecycle', () => {
  it('fails over to the standby when the leader stops, which then finishes the work', async () => {
    h = await startHarness({ lroLatencyMs: 300 });
    const { resourceId } = await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    const a = await h.startMic({ name: 'mic-a' });
    await waitFor(() => a.active, 'mic-a to lead');
    const b = await h.startMic({ name: 'mic-b' });
    await h.addPod('p1', NODE0, 'sel');
    await h.waitForAssigned(1);
    expect(await leaseHolder(h)).toBe('mic-a');
    await a.stop(); // releases the lease
    await waitFor(() => b.active, 'mic-b to take over', 10_000);
    expect(await leaseHolder(h)).toBe('mic-b');
    await h.deletePod('p1');
    await waitFor(() => !h!.vmssIdentities().includes(resourceId.toLowerCase()), 'the new leader to remove the identity');
    expect(b.elector.isLeader()).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
  });

  it('a new leader converges from stale AzureAssignedIdentities left by a crashed one (adopting what it assigned)', async () => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    const first = await h.startMic({ name: 'first' });
    await h.addPod('p1', NODE0, 'sel');
    await h.addPod('p2', NODE1, 'sel');
    await h.waitForAssigned(2);
    await first.stop();
    // While no controller runs, one pod goes away and the ownership record is lost (e.g. upstream MIC ran before).
    await h.deletePod('p2');
    const records = await h.core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'aadpodidentity.k8s.io/ownership-record=true' });
    for (const cm of records.items) await h.core.deleteNamespacedConfigMap({ name: cm.metadata!.name!, namespace: 'default' });
    await h.startMic({ name: 'second' });
    await waitFor(async () => (await h!.listAssigned()).length === 1, 'the stale AAI to be deleted');
    expect(h.vmssIdentities()).toContain(resourceId.toLowerCase());
    await h.deletePod('p1');
    await waitFor(() => !h!.vmssIdentities().includes(resourceId.toLowerCase()), 'the adopted identity to be removed');
  });

  it('repairs drift: an identity removed behind its back comes back, a foreign one added stays', async () => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('id');
    const foreign = h.azure.controls.addIdentity(SUB, RG, 'foreign');
    await h.addBinding('b', 'id', 'sel');
    await h.startMic({ identityAssignmentReconcileIntervalMs: 500 });
    await h.addPod('p1', NODE0, 'sel');
    await h.waitForAssigned(1);
    h.azure.controls.setResourceIdentities(vmssArmId, [foreign], 'someone');
    await waitFor(() => h!.vmssIdentities().includes(resourceId.toLowerCase()), 'the identity to be re-added', 15_000);
    expect(h.vmssIdentities()).toContain(foreign.toLowerCase());
  });

  it('follows an AzureIdentity edit: the new resource ID is assigned and the old one removed', async () => {
    h = await startHarness();
    const { resourceId: oldId } = await h.addIdentity('id');
    const newId = h.azure.controls.addIdentity(SUB, RG, 'id-v2');
    await h.addBinding('b', 'id', 'sel');
    await h.startMic();
    await h.addPod('p1', NODE0, 'sel');
    await h.waitForAssigned(1);
    await h.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: 'default', plural: PLURALS.AzureIdentity, name: 'id', body: [{ op: 'replace', path: '/spec/resourceID', value: newId }] },
    );
    await waitFor(() => h!.vmssIdentities().includes(newId.toLowerCase()) && !h!.vmssIdentities().includes(oldId.toLowerCase()), 'the identity to be swapped');
    const [aai] = await h.waitForAssigned(1);
    expect(aai!.spec.azureIdentityRef.spec.resourceID).toBe(newId);
  });

  it('dry run writes nothing to ARM or to AzureAssignedIdentities', async () => {
    h = await startHarness();
    await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    const app = await h.startMic({ dryRun: true });
    await h.addPod('p1', NODE0, 'sel');
    await waitFor(() => app.controller.lastPlan?.kube.create.length === 1, 'a plan with one create');
    await waitFor(() => h!.logLines.some((l) => l.includes('Dry run: would update user-assigned identities')), 'the dry-run ARM plan in the log');
    expect(h.azure.controls.auditLog().filter((e) => e.kind === 'write')).toEqual([]);
    expect(await h.listAssigned()).toEqual([]);
  });

  it('pause ConfigMap holds ARM writes; removing it converges without a restart', async () => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    await h.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'aad-pod-identity-mic-pause' }, data: { reason: 'AKS upgrade' } } });
    const app = await h.startMic();
    await waitFor(() => app.active && app.pause.paused, 'the controller to lead, paused');
    await h.addPod('p1', NODE0, 'sel');
    await waitFor(async () => (await h!.listAssigned()).length === 1, 'the AAI to be created (Kubernetes side keeps working)');
    const [created] = await h.listAssigned();
    expect(created!.status?.status).toBe('Created');
    expect(h.azure.controls.counters().writes).toBe(0);
    await h.core.deleteNamespacedConfigMap({ name: 'aad-pod-identity-mic-pause', namespace: 'default' });
    await h.waitForAssigned(1);
    expect(h.vmssIdentities()).toContain(resourceId.toLowerCase());
  });

  it('unassign grace period keeps the identity for a returning pod, which is Assigned without an ARM write', async () => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    await h.startMic({ unassignGracePeriodMs: 60_000 });
    await h.addPod('job-1', NODE0, 'sel');
    await h.waitForAssigned(1);
    expect(h.azure.controls.counters().writes).toBe(1);
    await h.deletePod('job-1');
    await waitFor(async () => (await h!.listAssigned()).length === 0, 'the AAI to be deleted');
    expect(h.vmssIdentities()).toContain(resourceId.toLowerCase());
    await h.addPod('job-2', NODE1, 'sel');
    const [aai] = await h.waitForAssigned(1);
    expect(aai!.spec.pod).toBe('job-2');
    expect(h.azure.controls.counters().writes).toBe(1);
  });

  it('removes the identity once the grace period is over', async () => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    await h.startMic({ unassignGracePeriodMs: 1_000 });
    await h.addPod('p1', NODE0, 'sel');
    await h.waitForAssigned(1);
    await h.deletePod('p1');
    await waitFor(() => !h!.vmssIdentities().includes(resourceId.toLowerCase()), 'the identity to be removed after the grace period', 10_000);
  });

  it('runs the one-time type upgrade once and records it in the upstream ConfigMap key', async () => {
    h = await startHarness();
    const app = await h.startMic();
    await waitFor(() => app.active, 'the controller to lead');
    const cm = await waitFor(async () => {
      const c = await h!.core.readNamespacedConfigMap({ name: 'aad-pod-identity-config', namespace: 'default' }).catch(() => undefined);
      return c?.data?.['type-upgrade-status'] ? c : undefined;
    }, 'the type-upgrade marker');
    expect(cm.data?.['type-upgrade-status']).toMatch(/^\d+\.\d+\.\d+/);
    expect(h.logLines.some((l) => l.includes('Type upgrade completed'))).toBe(true);
  });

  it('on shutdown abandons an ARM write still running after the grace period and releases the lease; the next leader finishes', async () => {
    h = await startHarness({ lroLatencyMs: 8_000 });
    const { resourceId } = await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    const a = await h.startMic({ name: 'mic-a', stopGraceMs: 300 });
    await waitFor(() => a.active, 'mic-a to lead');
    await h.addPod('p1', NODE0, 'sel');
    await waitFor(() => h!.azure.controls.auditLog().some((e) => e.method === 'PATCH'), 'the ARM write to start');
    const stopped = a.stop().then(() => 'stopped');
    const winner = await Promise.race([stopped, new Promise((r) => setTimeout(() => r('still running'), 5_000))]);
    expect(winner).toBe('stopped');
    expect(await leaseHolder(h)).not.toBe('mic-a');
    const b = await h.startMic({ name: 'mic-b' });
    await waitFor(() => b.active, 'mic-b to lead');
    await h.waitForAssigned(1, 'the AAI Assigned by the next leader', 30_000);
    expect(h.vmssIdentities()).toContain(resourceId.toLowerCase());
  });
});

