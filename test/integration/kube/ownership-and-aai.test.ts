/**
 * The controller's Kubernetes writes against the emulator or (jest project `kube-apiserver`) a real
 * kube-apiserver with the project's CRDs: ownership-record ConfigMaps (write-ahead, optimistic
 * concurrency between two leaders) and AzureAssignedIdentity create/status/replace/remove.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { ConfigMapOwnershipStore, OWNERSHIP_LABEL, OWNERSHIP_TARGET_ANNOTATION, ownershipConfigMapName } from '../../../controller/reconcile/ownership.js';
import { KubeAssignedIdentityWriter } from '../../../controller/reconcile/aai-writer.js';
import { targetKey, type Target } from '../../../controller/cloud/provider.js';
import { AAI_FINALIZER, GROUP, PLURALS, VERSION, type AzureAssignedIdentity } from '../../../controller/api/types.js';
import { newAssignedIdentity } from '../../../controller/api/assigned-identity.js';
import { startKubeTarget, type KubeTarget } from '../../support/kube-target.js';

const NS = 'mic-system';
let target: KubeTarget;
let core: CoreV1Api;
let custom: CustomObjectsApi;

beforeAll(async () => {
  target = await startKubeTarget({ crdDir: path.resolve('crds'), namespaces: [NS, 'apps'] });
  core = target.kc.makeApiClient(CoreV1Api);
  custom = target.kc.makeApiClient(CustomObjectsApi);
});

afterAll(async () => {
  await target?.stop();
});

const vmss = (name: string): Target => ({ kind: 'vmss', subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'mc_rg', name });
const uai = (name: string): string => `/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/mc_rg/providers/microsoft.managedidentity/userassignedidentities/${name}`;

describe('ConfigMapOwnershipStore', () => {
  it('writes one labelled ConfigMap per target that a new store loads back', async () => {
    const a = new ConfigMapOwnershipStore(core, NS);
    await a.load();
    await a.add(vmss('ss-load'), [uai('id-1'), uai('id-2')]);
    await a.remove(vmss('ss-load'), [uai('id-1')]);
    const cm = await core.readNamespacedConfigMap({ namespace: NS, name: ownershipConfigMapName(targetKey(vmss('ss-load'))) });
    expect(cm.metadata?.labels?.[OWNERSHIP_LABEL]).toBe('true');
    expect(cm.metadata?.annotations?.[OWNERSHIP_TARGET_ANNOTATION]).toMatch(/virtualMachineScaleSets\/ss-load$/);
    expect(cm.data?.owned).toBe(uai('id-2'));

    const b = new ConfigMapOwnershipStore(core, NS);
    await b.load();
    expect([...b.owned(targetKey(vmss('ss-load')))]).toEqual([uai('id-2')]);
    expect(b.targets().get(targetKey(vmss('ss-load')))).toMatchObject({ kind: 'vmss', name: 'ss-load' });
  });

  it('merges a write from a store with a stale view (409 Conflict, re-read, apply on top)', async () => {
    const a = new ConfigMapOwnershipStore(core, NS);
    const b = new ConfigMapOwnershipStore(core, NS);
    await a.load();
    await b.load();
    await a.add(vmss('ss-race'), [uai('from-a')]); // b has not seen the record: its create meets AlreadyExists
    await b.add(vmss('ss-race'), [uai('from-b')]);
    await a.add(vmss('ss-race'), [uai('from-a-2')]); // a's resourceVersion is stale now: Conflict
    const c = new ConfigMapOwnershipStore(core, NS);
    await c.load();
    expect([...c.owned(targetKey(vmss('ss-race')))].sort()).toEqual([uai('from-a'), uai('from-a-2'), uai('from-b')].sort());
  });

  it('drops a record, and dropping a missing one succeeds', async () => {
    const a = new ConfigMapOwnershipStore(core, NS);
    await a.load();
    await a.add(vmss('ss-drop'), [uai('x')]);
    await a.drop(vmss('ss-drop'));
    await a.drop(vmss('ss-drop'));
    const list = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: `${OWNERSHIP_LABEL}=true` });
    expect(list.items.map((c) => c.metadata?.name)).not.toContain(ownershipConfigMapName(targetKey(vmss('ss-drop'))));
  });
});

describe('KubeAssignedIdentityWriter', () => {
  const identity = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'AzureIdentity',
    metadata: { name: 'id-a', namespace: 'apps', resourceVersion: '1' },
    spec: { type: 0, resourceID: uai('id-a'), clientID: '00000000-0000-0000-0000-00000000000a' },
  };
  const binding = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'AzureIdentityBinding',
    metadata: { name: 'bind-a', namespace: 'apps', resourceVersion: '2' },
    spec: { azureIdentity: 'id-a', selector: 'sel-a' },
  };
  // Upstream keeps AAIs in the controller's view of the identity namespace (`default` unless namespaced).
  const read = async (name: string, namespace = 'default'): Promise<AzureAssignedIdentity> =>
    (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.AzureAssignedIdentity, name })) as AzureAssignedIdentity;

  it('creates an upstream-shaped AAI that the CRD schema keeps whole, sets its status, replaces and removes it', async () => {
    const writer = new KubeAssignedIdentityWriter(custom);
    const body = newAssignedIdentity({ podName: 'pod-1', podNamespace: 'apps', nodeName: 'node-1', identity, binding, forceNamespaced: false });
    const created = await writer.create(body);
    const name = created.metadata.name;
    expect(created.metadata.namespace).toBe('default');
    const stored = await read(name);
    expect(stored.metadata.finalizers).toEqual([AAI_FINALIZER]);
    expect(stored.spec).toMatchObject({ pod: 'pod-1', podNamespace: 'apps', nodename: 'node-1' });
    expect(stored.spec.azureIdentityRef).toMatchObject({ kind: 'AzureIdentity', metadata: { name: 'id-a' }, spec: { resourceID: uai('id-a') } });
    expect(stored.spec.azureBindingRef).toMatchObject({ kind: 'AzureIdentityBinding', spec: { selector: 'sel-a' } });
    expect(stored.status).toMatchObject({ status: 'Created', availableReplicas: 1 });

    const assigned = await writer.setStatus(stored, 'Assigned');
    expect(assigned.status?.status).toBe('Assigned');
    expect((await read(name)).status?.status).toBe('Assigned');

    const moved = await writer.replace({ ...assigned, spec: { ...assigned.spec, nodename: 'node-2' }, metadata: { ...assigned.metadata, labels: { nodename: 'node-2' } } });
    expect(moved.spec.nodename).toBe('node-2');

    await writer.remove(moved);
    await expect(read(name)).rejects.toMatchObject({ code: 404 });
    await writer.remove(moved); // already gone: success
  });

  it('removes an AAI another client already marked for deletion (the finalizer alone holds it)', async () => {
    const writer = new KubeAssignedIdentityWriter(custom);
    const created = await writer.create(newAssignedIdentity({ podName: 'pod-2', podNamespace: 'apps', nodeName: 'node-1', identity, binding, forceNamespaced: false, status: 'Assigned' }));
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: created.metadata.namespace as string, plural: PLURALS.AzureAssignedIdentity, name: created.metadata.name });
    const terminating = await read(created.metadata.name);
    expect(terminating.metadata.deletionTimestamp).toBeTruthy();
    await writer.remove(terminating);
    await expect(read(created.metadata.name)).rejects.toMatchObject({ code: 404 });
  });

  it('refuses a removal patch built from a stale resourceVersion (409), leaving the object intact', async () => {
    const writer = new KubeAssignedIdentityWriter(custom);
    const created = await writer.create(newAssignedIdentity({ podName: 'pod-3', podNamespace: 'apps', nodeName: 'node-1', identity, binding, forceNamespaced: false, status: 'Assigned' }));
    await writer.replace({ ...(await read(created.metadata.name)), spec: { ...created.spec, nodename: 'node-9' } });
    await expect(writer.remove(created)).rejects.toMatchObject({ code: 409 });
    expect((await read(created.metadata.name)).metadata.finalizers).toEqual([AAI_FINALIZER]);
  });
});
