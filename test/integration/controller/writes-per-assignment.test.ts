/**
 * Issue 16, one Kubernetes write per assignment: a pod whose identity its target already holds (and
 * a recent read or write confirmed) gets its AzureAssignedIdentity created `Assigned` in one write; a
 * pod whose identity has to be added first costs at most a create and one status update.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { RequestRecord } from '../../../hack/emulators/kube/traffic.js';
import { startHarness, type Harness } from '../../support/harness.js';

const NODE0 = 'aks-nodepool1-12345678-vmss000000';
const NODE1 = 'aks-nodepool1-12345678-vmss000001';

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
});
