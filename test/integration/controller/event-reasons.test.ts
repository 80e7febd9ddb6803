/**
 * Each documented Event reason (controller/observability/event-reasons.ts) is emitted in the situation
 * its table row names: one MIC against both emulators, the situation caused through the emulators'
 * controls, then the Event (reason, type, involved object kind) awaited with a deadline.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { CoreV1Event, V1PodCondition } from '@kubernetes/client-node';
import { IDENTITY_READY_CONDITION } from '../../../controller/api/types.js';
import { startHarness, type Harness, VMSS } from '../../support/harness.js';
import { waitFor } from '../../support/wait.js';

const NODE0 = 'aks-nodepool1-12345678-vmss000000';
const VMSS_PATH = `virtualMachineScaleSets/${VMSS}`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Waits for an Event with `reason` on an object of `kind` (named `name` when given) in any namespace. */
async function eventFor(reason: string, kind: string, name?: string, timeoutMs = 15_000): Promise<CoreV1Event> {
  return waitFor(async () => {
    const list = await h!.core.listEventForAllNamespaces();
    return list.items.find((e) => e.reason === reason && e.involvedObject.kind === kind && (name === undefined || e.involvedObject.name === name));
  }, `a ${reason} Event on ${kind}${name ? `/${name}` : ''}`, timeoutMs);
}

/** One identity, one binding on selector `sel`, and a running leader. */
async function boundIdentity(): Promise<void> {
  h = await startHarness();
  await h.addIdentity('id');
  await h.addBinding('bind', 'id', 'sel');
  await h.startMic();
}

describe('upstream Event reasons', () => {
  it("binding applied, then binding removed and NodeNotFound when the pod's node disappears", async () => {
    await boundIdentity();
    await h!.addPod('p', NODE0, 'sel');
    const applied = await eventFor('binding applied', 'AzureIdentityBinding', 'bind');
    expect(applied.type).toBe('Normal');

    await h!.core.deleteNode({ name: NODE0 });
    const missing = await eventFor('NodeNotFound', 'Pod', 'p');
    expect(missing.type).toBe('Warning');
    expect(missing.message).toContain(NODE0);
    // The pod garbage collector deletes pods of a deleted node; the AAI then goes as `binding removed`.
    await h!.deletePod('p');
    const removed = await eventFor('binding removed', 'AzureIdentityBinding', 'bind');
    expect(removed.type).toBe('Normal');
    expect(removed.message).toContain(NODE0);
  });

  it('binding apply error when the API server refuses to create the AzureAssignedIdentity', async () => {
    await boundIdentity();
    h!.kube.controls.failNext({ verb: 'create', path: /azureassignedidentities/u, status: 500, message: 'etcd unavailable' });
    await h!.addPod('p', NODE0, 'sel');
    const ev = await eventFor('binding apply error', 'AzureIdentityBinding', 'bind');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain('etcd unavailable');
    await h!.waitForAssigned(1, 'the AAI after the retry');
  });

  it('status update error when writing Assigned fails', async () => {
    await boundIdentity();
    // MIC creates the AAI as Created, then merge-patches status.status to Assigned after the ARM write.
    h!.kube.controls.failNext({ verb: 'patch', path: /azureassignedidentities\/p-default-id/u, status: 500, message: 'status write refused' });
    await h!.addPod('p', NODE0, 'sel');
    const ev = await eventFor('status update error', 'AzureAssignedIdentity');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain('status write refused');
    await h!.waitForAssigned(1, 'Assigned after the retry');
  });

  it('binding remove error when the API server refuses to delete the AzureAssignedIdentity', async () => {
    await boundIdentity();
    await h!.addPod('p', NODE0, 'sel');
    await h!.waitForAssigned(1);
    h!.kube.controls.failNext({ verb: 'delete', path: /azureassignedidentities/u, status: 500, message: 'delete refused' });
    await h!.deletePod('p');
    const ev = await eventFor('binding remove error', 'AzureIdentityBinding', 'bind');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain('delete refused');
    await waitFor(async () => (await h!.listAssigned()).length === 0, 'the AAI deleted on retry');
  });
});

describe('ARM failure reasons on the pod', () => {
  type Rule = { status: number; code: string; message: string; retryAfterSeconds?: number };
  const cases: { reason: string; rule: (identityId: string) => Rule }[] = [
    { reason: 'CloudAuthFailed', rule: () => ({ status: 403, code: 'AuthorizationFailed', message: 'The client does not have authorization to perform action Microsoft.Compute/virtualMachineScaleSets/write' }) },
    { reason: 'Throttled', rule: () => ({ status: 429, code: 'TooManyRequests', message: 'too many requests', retryAfterSeconds: 1 }) },
    { reason: 'TargetBusy', rule: () => ({ status: 409, code: 'OperationNotAllowed', message: 'another operation is in progress' }) },
    { reason: 'TargetDeleting', rule: () => ({ status: 409, code: 'OperationNotAllowedOnResourceBeingDeleted', message: 'the scale set is being deleted' }) },
    { reason: 'CloudError', rule: () => ({ status: 400, code: 'SomethingUnexpected', message: 'an answer MIC does not know' }) },
    { reason: 'IdentityInvalid', rule: (id) => ({ status: 400, code: 'FailedIdentityOperation', message: `Identity '${id}' is invalid for this operation.` }) },
    { reason: 'IdentityLimitExceeded', rule: () => ({ status: 400, code: 'BadRequest', message: 'The number of user assigned identities on the resource exceeds the limit 100.' }) },
  ];
  it.each(cases)('$reason when ARM answers so to the VMSS write', async ({ reason, rule }) => {
    h = await startHarness();
    const { resourceId } = await h.addIdentity('id');
    await h.addBinding('bind', 'id', 'sel');
    await h.startMic();
    h.azure.controls.failNext({ method: 'PATCH', resource: VMSS_PATH, ...rule(resourceId) });
    await h!.addPod('p', NODE0, 'sel');
    const ev = await eventFor(reason, 'Pod', 'p');
    expect(ev.type).toBe('Warning');
  });
});

describe('bad input reasons', () => {
  it('InvalidObject on an AzureIdentity whose fields have the wrong JSON types', async () => {
    h = await startHarness();
    await h.startMic();
    await waitFor(() => h!.apps[0]!.active, 'the controller to lead');
    h.kube.controls.putObject({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentity',
      metadata: { name: 'bad-types', namespace: 'default' },
      spec: { type: 0, resourceID: 42, clientID: ['not', 'a', 'string'] },
    });
    const ev = await eventFor('InvalidObject', 'AzureIdentity', 'bad-types');
    expect(ev.type).toBe('Warning');
  });

  it('InvalidIdentity on a type 0 AzureIdentity whose spec.resourceID is malformed', async () => {
    await boundIdentity();
    await h!.custom.createNamespacedCustomObject({
      group: 'aadpodidentity.k8s.io',
      version: 'v1',
      namespace: 'default',
      plural: 'azureidentities',
      body: { apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureIdentity', metadata: { name: 'malformed' }, spec: { type: 0, resourceID: '/subscriptions/x/not-an-identity', clientID: '00000000-0000-0000-0000-00000000000a' } },
    });
    const ev = await eventFor('InvalidIdentity', 'AzureIdentity', 'malformed');
    expect(ev.type).toBe('Warning');
  });

  it('IdentityNameCollision when identities of one name in two namespaces match one pod', async () => {
    h = await startHarness();
    for (const ns of ['team-a', 'team-b']) {
      await h.core.createNamespace({ body: { metadata: { name: ns } } });
      await h.addIdentity('shared-name', { namespace: ns });
      await h.addBinding(`bind-${ns}`, 'shared-name', 'sel', ns);
    }
    await h.startMic();
    await h.addPod('p', NODE0, 'sel');
    const ev = await eventFor('IdentityNameCollision', 'AzureIdentityBinding');
    expect(ev.type).toBe('Warning');
  });

  it('InvalidAssignedIdentityName when <pod>-<namespace>-<identity> is longer than an object name may be', async () => {
    await boundIdentity();
    // Long enough that `<pod>.<hex>` would exceed 253 too: the Event's own name must be shortened.
    const longName = `p${'x'.repeat(250)}`;
    await h!.addPod(longName, NODE0, 'sel');
    const ev = await eventFor('InvalidAssignedIdentityName', 'Pod', longName);
    expect(ev.type).toBe('Warning');
    expect(await h!.listAssigned()).toEqual([]);
  });

  it('UnsupportedNode when the pod runs on a node whose providerID is not an Azure VM or VMSS', async () => {
    await boundIdentity();
    await h!.core.createNode({ body: { metadata: { name: 'virtual-node' }, spec: { providerID: 'virtual-kubelet://virtual-node' } } });
    await h!.addPod('p', 'virtual-node', 'sel');
    const ev = await eventFor('UnsupportedNode', 'Pod', 'p');
    expect(ev.type).toBe('Warning');
    expect(h!.azure.controls.counters().writes).toBe(0);
  });
});

describe('condition-only reasons', () => {
  async function conditionReason(pod: string, reason: string): Promise<V1PodCondition> {
    return waitFor(async () => {
      const p = await h!.core.readNamespacedPodStatus({ name: pod, namespace: 'default' });
      return p.status?.conditions?.find((c) => c.type === IDENTITY_READY_CONDITION && c.reason === reason);
    }, `a ${reason} condition on ${pod}`);
  }

  it('TargetNotFound in the identity-ready condition (and no Event) when ARM no longer has the VMSS', async () => {
    await boundIdentity();
    h!.azure.controls.failNext({ resource: VMSS_PATH, status: 404, code: 'ResourceNotFound', message: `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${VMSS}' was not found.`, count: 1000 });
    await h!.addPod('gated', NODE0, 'sel', 'default', { readinessGate: true });
    const c = await conditionReason('gated', 'TargetNotFound');
    expect(c.status).toBe('False');
    const events = await h!.core.listEventForAllNamespaces();
    expect(events.items.filter((e) => e.reason === 'TargetNotFound')).toEqual([]);
  });

  it('NoMatchingIdentity in the identity-ready condition when no binding matches the pod label', async () => {
    await boundIdentity();
    await h!.addPod('gated', NODE0, 'nobody', 'default', { readinessGate: true });
    const c = await conditionReason('gated', 'NoMatchingIdentity');
    expect(c.status).toBe('False');
  });
});
