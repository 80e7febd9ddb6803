/**
 * Issue 12 against both emulators: Assigned means present (demotion to Created with an Event, repair
 * within the reconcile interval), protection from the client IDs ARM reports, fencing on a lost lease,
 * 412 handled quietly, and a dry run that writes nothing to the cluster.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { CoordinationV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { newAssignedIdentity } from '../../../controller/api/assigned-identity.js';
import { GROUP, PLURALS, VERSION, type AzureIdentity, type AzureIdentityBinding } from '../../../controller/api/types.js';
import { toMicroTime } from '../../../controller/kube/time.js';
import { ConfigMapOwnershipStore, OWNERSHIP_LABEL } from '../../../controller/reconcile/ownership.js';
import { startHarness, type Harness, VMSS, SUB, RG } from '../../support/harness.js';
import { waitFor } from '../../support/wait.js';

const NODE0 = 'aks-nodepool1-12345678-vmss000000';
const NODE1 = 'aks-nodepool1-12345678-vmss000001';
const vmssArmId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${VMSS}`;
const INTERVAL_MS = 2_000;

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function statusOf(harness: Harness, pod: string): Promise<string | undefined> {
  return (await harness.listAssigned()).find((a) => a.spec.pod === pod)?.status?.status;
}

async function ownershipRecords(harness: Harness): Promise<number> {
  return (await harness.core.listNamespacedConfigMap({ namespace: 'default', labelSelector: `${OWNERSHIP_LABEL}=true` })).items.length;
}

describe('safe ARM writes (issue 12)', () => {
  it('an identity dropped out of band: the AAI goes back to Created with an Event, a new pod is not Assigned meanwhile, the scale set is repaired within the interval', async () => {
    h = await startHarness({ lroLatencyMs: 1_500 });
    const { resourceId } = await h.addIdentity('id');
    const id = resourceId.toLowerCase();
    const kubelet = h.azure.controls.addIdentity(SUB, RG, 'kubelet');
    h.azure.controls.setResourceIdentities(vmssArmId, [kubelet], 'aks');
    await h.addBinding('b', 'id', 'sel');
    await h.startMic({ identityAssignmentReconcileIntervalMs: INTERVAL_MS });
    await h.addPod('p1', NODE0, 'sel');
    await h.waitForAssigned(1);

    // Three drift checks that find nothing: a backing-off check would be 16 s apart by now.
    // A drift check is a GET of the scale set or (issue 12 item 3) a LIST of its resource group's scale sets.
    const listPath = vmssArmId.slice(0, vmssArmId.lastIndexOf('/')).toLowerCase();
    const reads = (): number =>
      h!.azure.controls.auditLog().filter((e) => e.kind === 'read' && (e.resource === vmssArmId.toLowerCase() || e.path.toLowerCase().split('?')[0] === listPath)).length;
    const before = reads();
    await waitFor(() => reads() >= before + 3, 'three drift checks', 30_000);

    h.azure.controls.setResourceIdentities(vmssArmId, [kubelet], 'upgrade'); // an AKS upgrade drops the identity
    await waitFor(async () => (await statusOf(h!, 'p1')) === 'Created', 'p1 set back to Created', INTERVAL_MS + 2_000);
    await h.addPod('p2', NODE1, 'sel');
    // Until the identity is back on the scale set, no AAI for p2 may say Assigned.
    let violations = 0;
    await waitFor(async () => {
      const s = await statusOf(h!, 'p2');
      if (s === 'Assigned' && !h!.vmssIdentities().includes(id)) violations++;
      return h!.vmssIdentities().includes(id);
    }, 'the identity to be re-added', INTERVAL_MS + 5_000);
    expect(violations).toBe(0);
    await h.waitForAssigned(2);
    expect(h.vmssIdentities()).toEqual(expect.arrayContaining([id, kubelet.toLowerCase()]));

    const event = await waitFor(async () => {
      const list = await h!.core.listNamespacedEvent({ namespace: 'default' });
      return list.items.find((e) => e.reason === 'IdentityMissing' && e.involvedObject.name === 'p1');
    }, 'an IdentityMissing Event on p1');
    expect(event.type).toBe('Warning');
    expect(h.logLines.some((l) => l.includes('AzureAssignedIdentity set back to Created'))).toBe(true);
  }, 60_000);

  it('never removes the cluster identity or an immutable one, even after its AzureIdentity is deleted (matched on the client ID ARM reports)', async () => {
    h = await startHarness();
    const cluster = await h.addIdentity('cluster', { clientId: '11111111-0000-0000-0000-000000000001' });
    const immutable = await h.addIdentity('pinned', { clientId: '22222222-0000-0000-0000-000000000002' });
    const plain = await h.addIdentity('plain');
    for (const name of ['cluster', 'pinned', 'plain']) await h.addBinding(`b-${name}`, name, name);
    // Service-principal mode: the cluster identity comes from azure.json's userAssignedIdentityID all the same.
    await h.startMic({ immutableUserMsis: [immutable.clientId.toUpperCase()], clusterIdentityClientId: cluster.clientId });
    for (const name of ['cluster', 'pinned', 'plain']) await h.addPod(`p-${name}`, NODE0, name);
    await h.waitForAssigned(3);
    for (const name of ['cluster', 'pinned', 'plain']) {
      await h.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURALS.AzureIdentity, name });
      await h.deletePod(`p-${name}`);
    }
    await waitFor(() => !h!.vmssIdentities().includes(plain.resourceId.toLowerCase()), 'the plain identity to be removed');
    await waitFor(async () => (await h!.listAssigned()).length === 0, 'every AAI to be deleted');
    expect(h.vmssIdentities()).toEqual(expect.arrayContaining([cluster.resourceId.toLowerCase(), immutable.resourceId.toLowerCase()]));
    expect(h.azure.controls.identityChanges().filter((c) => c.op === 'remove' && c.identity.toLowerCase() !== plain.resourceId.toLowerCase())).toEqual([]);
  });

  it('a write that races another writer (412) is re-planned from a fresh read: the other writer\'s change survives, no error Event', async () => {
    h = await startHarness({ lroLatencyMs: 200 });
    const { resourceId } = await h.addIdentity('id');
    const other = h.azure.controls.addIdentity(SUB, RG, 'addon');
    await h.addBinding('b', 'id', 'sel');
    const app = await h.startMic({ armBatchWindowMs: 0 });
    await h.addPod('p1', NODE0, 'sel');
    await h.waitForAssigned(1);
    // Another writer enables the system-assigned identity and adds its own identity after our last read.
    h.azure.controls.setSystemAssigned(vmssArmId, true, 'policy');
    h.azure.controls.setResourceIdentities(vmssArmId, [resourceId, other], 'addon');
    await h.deletePod('p1');
    await waitFor(() => !h!.vmssIdentities().includes(resourceId.toLowerCase()), 'our identity to be removed');
    expect(h.vmssIdentities()).toEqual([other.toLowerCase()]);
    expect(h.azure.controls.getResourceIdentities(vmssArmId).type.toLowerCase()).toContain('systemassigned');
    expect(await app.metrics.registry.metrics()).toMatch(/^aadpodidentity_mic_arm_precondition_failed_total 1$/m);
    const warnings = (await h.core.listNamespacedEvent({ namespace: 'default' })).items.filter((e) => e.type === 'Warning');
    expect(warnings).toEqual([]);
  });

  it('losing the lease aborts an in-flight ARM write at once (the stop grace period is for SIGTERM) and stops Kubernetes writes', async () => {
    h = await startHarness({ lroLatencyMs: 15_000 });
    await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    const app = await h.startMic({ name: 'mic-a', stopGraceMs: 60_000 });
    await waitFor(() => app.active, 'mic-a to lead');
    await h.addPod('p1', NODE0, 'sel');
    await waitFor(() => h!.azure.controls.auditLog().some((e) => e.method === 'PATCH'), 'the ARM write to start');
    // Another replica takes the lease (e.g. this one was partitioned away).
    const coord = h.kc.makeApiClient(CoordinationV1Api);
    const lease = await coord.readNamespacedLease({ name: 'aad-pod-identity-mic', namespace: 'default' });
    const now = toMicroTime(Date.now());
    lease.spec = { ...lease.spec, holderIdentity: 'intruder', renewTime: now, acquireTime: now, leaseDurationSeconds: 60 };
    await coord.replaceNamespacedLease({ name: 'aad-pod-identity-mic', namespace: 'default', body: lease });
    await waitFor(() => h!.logLines.some((l) => l.includes('ARM work stopped: this replica may not write any more')), 'the in-flight write to be aborted', 10_000);
    expect(app.active).toBe(false);
    const created = await h.listAssigned();
    expect(created.map((a) => a.status?.status)).toEqual(['Created']);
  });

  it('dry run writes nothing to the cluster: no ownership record, no Event', async () => {
    h = await startHarness();
    await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    const app = await h.startMic({ dryRun: true });
    await h.addPod('p1', NODE0, 'sel');
    await h.addPod('ghost', 'no-such-node', 'sel'); // invalid input: would be a Warning Event
    await waitFor(() => h!.logLines.some((l) => l.includes('Dry run: would update user-assigned identities')), 'the dry-run ARM plan in the log');
    await waitFor(() => h!.logLines.some((l) => l.includes('Ignoring invalid input')), 'the invalid input to be logged');
    await app.events.flush();
    expect(await ownershipRecords(h)).toBe(0);
    expect((await h.core.listNamespacedEvent({ namespace: 'default' })).items).toEqual([]);
  });

  it('adoption runs again at every leadership acquisition: an identity an upstream MIC added during a rollback is removed after roll-forward', async () => {
    h = await startHarness();
    await h.addIdentity('id');
    const { resourceId: upstreamAdded } = await h.addIdentity('id2');
    await h.addBinding('b', 'id', 'sel');
    await h.addBinding('b2', 'id2', 'sel2');
    const first = await h.startMic({ name: 'first' });
    await h.addPod('p1', NODE0, 'sel');
    await h.waitForAssigned(1);
    expect(await ownershipRecords(h)).toBe(1);
    await first.stop();

    // Rolled back: an upstream MIC assigns id2 for p2 (VMSS + Assigned AAI) and knows nothing of records.
    await h.addPod('p2', NODE1, 'sel2');
    h.azure.controls.setResourceIdentities(vmssArmId, [...h.vmssIdentities(), upstreamAdded], 'upstream-mic');
    const get = (plural: string, name: string): Promise<unknown> => h!.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural, name });
    const aai = newAssignedIdentity({
      podName: 'p2', podNamespace: 'default', nodeName: NODE1, forceNamespaced: false, status: 'Assigned',
      identity: (await get(PLURALS.AzureIdentity, 'id2')) as AzureIdentity,
      binding: (await get(PLURALS.AzureIdentityBinding, 'b2')) as AzureIdentityBinding,
    });
    await h.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURALS.AzureAssignedIdentity, body: aai });

    // Rolled forward: the record of the scale set exists, yet id2 is adopted.
    await h.startMic({ name: 'second' });
    await h.waitForAssigned(2);
    await h.deletePod('p2');
    await waitFor(() => !h!.vmssIdentities().includes(upstreamAdded.toLowerCase()), 'the identity the upstream MIC added to be removed');
  });

  it('garbage-collects ownership records: of a scale set that no longer exists, and an empty one nothing needs', async () => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('id');
    const records = new ConfigMapOwnershipStore(h.core, 'default');
    await records.add({ kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name: 'deleted-pool' }, [resourceId.toLowerCase()]);
    await records.add({ kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name: VMSS }, []);
    expect(await ownershipRecords(h)).toBe(2);
    await h.startMic();
    await waitFor(async () => (await ownershipRecords(h!)) === 0, 'both records to be deleted');
  });

  it('a 404 naming an identity\'s resource group (not the scale set) is an identity problem: the scale set and its record are kept', async () => {
    h = await startHarness();
    const { resourceId: good } = await h.addIdentity('good');
    await h.addIdentity('typo', { create: false });
    // Point the AzureIdentity at a resource group that does not exist.
    await h.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: 'default', plural: PLURALS.AzureIdentity, name: 'typo',
        body: { spec: { resourceID: `/subscriptions/${SUB}/resourceGroups/no-such-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/typo` } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await h.addBinding('b-good', 'good', 'good');
    await h.addBinding('b-typo', 'typo', 'typo');
    await h.startMic();
    await h.addPod('p-typo', NODE0, 'typo');
    await h.addPod('p-good', NODE1, 'good');
    await waitFor(async () => (await statusOf(h!, 'p-good')) === 'Assigned', 'the good identity to be Assigned');
    expect(h.vmssIdentities()).toContain(good.toLowerCase());
    expect(await ownershipRecords(h)).toBe(1);
    expect(h.logLines.some((l) => l.includes('Target no longer exists'))).toBe(false);
    expect(await statusOf(h, 'p-typo')).toBe('Created');
    const event = await waitFor(async () => {
      const list = await h!.core.listNamespacedEvent({ namespace: 'default' });
      return list.items.find((e) => e.reason === 'IdentityNotFound' && e.involvedObject.name === 'p-typo');
    }, 'an IdentityNotFound Event on p-typo');
    expect(event.message).toContain("Resource group 'no-such-rg' could not be found");
  });
});
