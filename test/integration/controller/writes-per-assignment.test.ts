/**
 * Issue 16, one Kubernetes write per assignment: a pod whose identity its target already holds (and
 * a recent read confirmed) gets its AzureAssignedIdentity created `Assigned` in one write; a pod whose
 * identity has to be added first costs at most a create and one status update.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { RequestRecord } from '../../../hack/emulators/kube/traffic.js';
import { startHarness, type Harness, RG, SUB, VMSS } from '../../support/harness.js';

const NODE0 = 'aks-nodepool1-12345678-vmss000000';
const NODE1 = 'aks-nodepool1-12345678-vmss000001';
const vmssArmId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${VMSS}`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Creates, updates and patches of AzureAssignedIdentities in the kube emulator's request log. */
function aaiWrites(log: readonly RequestRecord[]): RequestRecord[] {
  return log.filter((r) => r.path.includes('/azureassignedidentities') && ['create', 'update', 'patch'].includes(r.verb));
}

describe('Kubernetes writes per assignment (issue 16)', () => {
  it('a pod on a target that already holds its identity gets exactly one AAI write, created Assigned', async () => {
    h = await startHarness();
    await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    await h.startMic();
    await h.addPod('p1', NODE0, 'sel');
    await h.waitForAssigned(1, 'p1 Assigned');
    // At most a create and one status update for the first pod (the identity had to be added).
    expect(aaiWrites(h.kube.controls.requestLog()).length).toBeLessThanOrEqual(2);

    h.kube.controls.clearRequestLog();
    await h.addPod('p2', NODE1, 'sel'); // same scale set: the identity is there and was just confirmed
    const all = await h.waitForAssigned(2, 'p2 Assigned');
    const writes = aaiWrites(h.kube.controls.requestLog());
    expect(writes.map((w) => w.verb)).toEqual(['create']);
    expect(all.find((a) => a.spec.pod === 'p2')?.status?.status).toBe('Assigned');
  });

  it('first contact with a target that already holds the identity: the AAI waits for the first read and is created Assigned in one write', async () => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('id');
    h.azure.controls.setResourceIdentities(vmssArmId, [resourceId], 'previous-owner');
    await h.addBinding('b', 'id', 'sel');
    await h.startMic();
    h.kube.controls.clearRequestLog();
    await h.addPod('p1', NODE0, 'sel');
    await h.waitForAssigned(1, 'p1 Assigned');
    expect(aaiWrites(h.kube.controls.requestLog()).map((w) => w.verb)).toEqual(['create']);
    expect(h.azure.controls.counters().writes).toBe(0);
  });
});
