/**
 * The controller end to end against both emulators: upstream parity scenarios (upstream-mic.md §7.1)
 * through the real client-node and Azure SDK clients.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { AAI_FINALIZER } from '../../../controller/api/types.js';
import { startHarness, type Harness, VMSS, SUB, RG } from '../../support/harness.js';
import { waitFor } from '../../support/wait.js';

const NODE0 = 'aks-nodepool1-12345678-vmss000000';
const NODE1 = 'aks-nodepool1-12345678-vmss000001';
const vmssArmId = (name: string): string => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('controller against the emulators', () => {
  it('assigns an identity to the VMSS of a labelled pod, writes an upstream-shaped AAI, and removes both when the pod goes', async () => {
    h = await startHarness();
    const kubelet = h.azure.controls.addIdentity(SUB, RG, 'kubelet-identity');
    h.azure.controls.setResourceIdentities(vmssArmId(VMSS), [kubelet], 'aks');
    const { resourceId } = await h.addIdentity('demo-id');
    await h.addBinding('demo-binding', 'demo-id', 'demo');
    await h.startMic();
    await h.addPod('demo', NODE0, 'demo');

    const [aai] = await h.waitForAssigned(1);
    expect(aai!.metadata.name).toBe('demo-default-demo-id');
    expect(aai!.metadata.namespace).toBe('default');
    expect(aai!.metadata.labels).toEqual({ nodename: NODE0 });
    expect(aai!.metadata.finalizers).toEqual([AAI_FINALIZER]);
    expect(aai!.spec.azureIdentityRef).toMatchObject({ apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureIdentity', metadata: { name: 'demo-id' } });
    expect(aai!.spec.azureIdentityRef.metadata.resourceVersion).toBeTruthy();
    expect(aai!.spec.azureBindingRef).toMatchObject({ kind: 'AzureIdentityBinding', metadata: { name: 'demo-binding' } });
    expect(aai!.spec).toMatchObject({ pod: 'demo', podNamespace: 'default', nodename: NODE0 });
    expect(h.vmssIdentities()).toEqual(expect.arrayContaining([resourceId.toLowerCase(), kubelet.toLowerCase()]));
    const writesAfterAssign = h.azure.controls.counters().writes;
    expect(writesAfterAssign).toBe(1);

    await h.deletePod('demo');
    await waitFor(async () => (await h!.listAssigned()).length === 0, 'the AAI to be deleted');
    await waitFor(() => !h!.vmssIdentities().includes(resourceId.toLowerCase()), 'the identity to be removed from the VMSS');
    expect(h.vmssIdentities()).toEqual([kubelet.toLowerCase()]);
    expect(h.azure.controls.identityChanges().filter((c) => c.identity.toLowerCase() === kubelet.toLowerCase() && c.op === 'remove')).toEqual([]);
  });

  it('keeps an identity on a scale set while another node of it still needs it (reference counting per VMSS)', async () => {
    h = await startHarness({ vmss: { vmss1: ['n1', 'n2'], vmss2: ['n3'] } });
    const { resourceId } = await h.addIdentity('shared');
    await h.addBinding('b', 'shared', 'sel');
    await h.startMic();
    for (const [pod, node] of [['p1', 'n1'], ['p2', 'n2'], ['p3', 'n3']] as const) await h.addPod(pod, node, 'sel');
    await h.waitForAssigned(3);
    const id = resourceId.toLowerCase();
    expect(h.vmssIdentities('vmss1')).toContain(id);
    expect(h.vmssIdentities('vmss2')).toContain(id);

    await h.deletePod('p1');
    await waitFor(async () => (await h!.listAssigned()).length === 2, 'p1 AAI deleted');
    expect(h.vmssIdentities('vmss1')).toContain(id);

    await h.deletePod('p2');
    await waitFor(() => !h!.vmssIdentities('vmss1').includes(id), 'identity removed from vmss1');
    expect(h.vmssIdentities('vmss2')).toContain(id);
    expect(h.azure.controls.getResourceIdentities(vmssArmId('vmss1')).type.toLowerCase()).toBe('none');
  });

  it('assigns service-principal identities without any ARM call', async () => {
    h = await startHarness();
    await h.addIdentity('sp', { type: 1, create: false });
    await h.addBinding('b', 'sp', 'sp');
    await h.startMic();
    await h.addPod('p', NODE0, 'sp');
    await h.waitForAssigned(1);
    expect(h.azure.controls.counters().writes).toBe(0);
  });

  it('isolates an identity ARM forbids: every other identity is assigned and the pod gets a Warning naming the fix', async () => {
    h = await startHarness();
    const good: string[] = [];
    for (let i = 0; i < 20; i++) {
      good.push((await h.addIdentity(`good-${i}`)).resourceId.toLowerCase());
      await h.addBinding(`good-${i}`, `good-${i}`, `good-${i}`);
    }
    const bad = await h.addIdentity('forbidden', { assignable: false });
    await h.addBinding('forbidden', 'forbidden', 'forbidden');
    await h.startMic();
    await h.addPod('bad-pod', NODE0, 'forbidden');
    for (let i = 0; i < 20; i++) await h.addPod(`pod-${i}`, i % 2 ? NODE1 : NODE0, `good-${i}`);

    await waitFor(async () => (await h!.listAssigned()).filter((a) => a.status?.status === 'Assigned').length === 20, '20 good AAIs Assigned');
    const all = await h.listAssigned();
    expect(all.find((a) => a.spec.pod === 'bad-pod')?.status?.status).toBe('Created');
    expect(h.vmssIdentities()).toEqual(expect.arrayContaining(good));
    expect(h.vmssIdentities()).not.toContain(bad.resourceId.toLowerCase());
    const events = await waitFor(async () => {
      const list = await h!.core.listNamespacedEvent({ namespace: 'default' });
      return list.items.find((e) => e.involvedObject.name === 'bad-pod' && e.reason === 'IdentityForbidden');
    }, 'a Warning event on the pod');
    expect(events.type).toBe('Warning');
    expect(events.message).toContain('Managed Identity Operator');
  });

  it('merges a burst of pods on one VMSS into very few ARM writes', async () => {
    h = await startHarness({ lroLatencyMs: 500 });
    for (let i = 0; i < 10; i++) {
      await h.addIdentity(`id-${i}`);
      await h.addBinding(`b-${i}`, `id-${i}`, `sel-${i}`);
    }
    await h.startMic();
    await waitFor(() => h!.apps[0]!.active, 'the controller to lead');
    await Promise.all(Array.from({ length: 30 }, (_, i) => h!.addPod(`pod-${i}`, i % 2 ? NODE1 : NODE0, `sel-${i % 10}`)));
    await h.waitForAssigned(30, '30 AAIs Assigned', 30_000);
    const writes = h.azure.controls.counters().writes;
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(2);
  });

  it('never removes an identity that was on the VMSS before the controller added it', async () => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('preexisting');
    h.azure.controls.setResourceIdentities(vmssArmId(VMSS), [resourceId], 'operator');
    await h.addBinding('b', 'preexisting', 'sel');
    await h.startMic();
    await h.addPod('p', NODE0, 'sel');
    await h.waitForAssigned(1);
    expect(h.azure.controls.counters().writes).toBe(0);
    await h.deletePod('p');
    await waitFor(async () => (await h!.listAssigned()).length === 0, 'AAI deleted');
    expect(h.vmssIdentities()).toContain(resourceId.toLowerCase());
    expect(h.azure.controls.counters().writes).toBe(0);
  });

  it('never removes identities listed in --immutable-user-msis', async () => {
    h = await startHarness();
    const { resourceId, clientId } = await h.addIdentity('immutable');
    await h.addBinding('b', 'immutable', 'sel');
    await h.startMic({ immutableUserMsis: [clientId.toUpperCase()] });
    await h.addPod('p', NODE0, 'sel');
    await h.waitForAssigned(1);
    await h.deletePod('p');
    await waitFor(async () => (await h!.listAssigned()).length === 0, 'AAI deleted');
    expect(h.vmssIdentities()).toContain(resourceId.toLowerCase());
  });

  it('honours Retry-After from a 429 per target and still converges', async () => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    h.azure.controls.failNext({ method: 'PATCH', status: 429, code: 'TooManyRequests', retryAfterSeconds: 1, count: 1 });
    await h.startMic();
    await h.addPod('p', NODE0, 'sel');
    await h.waitForAssigned(1);
    expect(h.vmssIdentities()).toContain(resourceId.toLowerCase());
    const patches = h.azure.controls.auditLog().filter((e) => e.method === 'PATCH');
    expect(patches.length).toBe(2);
    expect(patches[1]!.at - patches[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('removes an owned identity from the VMSS when its node and last pod are gone (upstream leaked it)', async () => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    await h.startMic();
    await h.addPod('p', NODE0, 'sel');
    await h.waitForAssigned(1);
    await h.core.deleteNode({ name: NODE0 });
    await h.deletePod('p');
    await waitFor(async () => (await h!.listAssigned()).length === 0, 'AAI deleted');
    await waitFor(() => !h!.vmssIdentities().includes(resourceId.toLowerCase()), 'identity removed from the VMSS');
  });
});
