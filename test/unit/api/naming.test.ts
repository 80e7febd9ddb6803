import { describe, expect, it } from '@jest/globals';
import { cloneJson, embedBinding, embedIdentity, newAssignedIdentity } from '../../../controller/api/assigned-identity.js';
import { parseAzureAssignedIdentity } from '../../../controller/api/guards.js';
import {
  assignedIdentityName,
  assignedIdentityNamespace,
  isNamespacedIdentity,
  isValidObjectName,
} from '../../../controller/api/naming.js';
import { AAI_FINALIZER, type AzureIdentity, type AzureIdentityBinding } from '../../../controller/api/types.js';

const identity = (namespace: string, annotations?: Record<string, string>): AzureIdentity => ({
  metadata: { name: 'my-id', namespace, resourceVersion: '11', uid: 'uid-1', ...(annotations ? { annotations } : {}) },
  spec: { type: 0, resourceID: '/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/my-id', clientID: 'c' },
});
const binding: AzureIdentityBinding = {
  metadata: { name: 'my-binding', namespace: 'apps', resourceVersion: '12' },
  spec: { azureIdentity: 'my-id', selector: 'demo' },
};

describe('naming', () => {
  it('names an assignment <pod>-<podNamespace>-<identity> without hashing or truncation', () => {
    expect(assignedIdentityName('demo', 'apps', 'my-id')).toBe('demo-apps-my-id');
    const long = 'p'.repeat(200);
    expect(assignedIdentityName(long, 'ns', 'id')).toBe(`${long}-ns-id`);
  });

  it('recognises the namespaced Behavior annotation exactly (capital B, exact value)', () => {
    expect(isNamespacedIdentity(identity('apps', { 'aadpodidentity.k8s.io/Behavior': 'namespaced' }))).toBe(true);
    expect(isNamespacedIdentity(identity('apps', { 'aadpodidentity.k8s.io/behavior': 'namespaced' }))).toBe(false);
    expect(isNamespacedIdentity(identity('apps', { 'aadpodidentity.k8s.io/Behavior': 'Namespaced' }))).toBe(false);
    expect(isNamespacedIdentity(identity('apps'))).toBe(false);
  });

  it('places assignments in default unless forceNamespaced or the identity is namespaced', () => {
    expect(assignedIdentityNamespace(identity('apps'), false)).toBe('default');
    expect(assignedIdentityNamespace(identity('apps'), true)).toBe('apps');
    expect(assignedIdentityNamespace(identity('apps', { 'aadpodidentity.k8s.io/Behavior': 'namespaced' }), false)).toBe('apps');
  });

  it('validates DNS-1123 subdomain object names', () => {
    expect(isValidObjectName('demo-apps-my-id')).toBe(true);
    expect(isValidObjectName('a.b-c')).toBe(true);
    expect(isValidObjectName('')).toBe(false);
    expect(isValidObjectName('Demo')).toBe(false);
    expect(isValidObjectName('my_id')).toBe(false);
    expect(isValidObjectName('-a')).toBe(false);
    expect(isValidObjectName('a'.repeat(253))).toBe(true);
    expect(isValidObjectName('a'.repeat(254))).toBe(false);
  });
});

describe('newAssignedIdentity', () => {
  const build = (forceNamespaced = false): ReturnType<typeof newAssignedIdentity> =>
    newAssignedIdentity({ podName: 'demo', podNamespace: 'apps', nodeName: 'node-1', identity: identity('apps'), binding, forceNamespaced });

  it('builds upstream shape: name, namespace, nodename label, finalizer, Created status', () => {
    const aai = build();
    expect(aai).toMatchObject({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureAssignedIdentity',
      metadata: { name: 'demo-apps-my-id', namespace: 'default', labels: { nodename: 'node-1' }, finalizers: [AAI_FINALIZER] },
      spec: { pod: 'demo', podNamespace: 'apps', nodename: 'node-1' },
      status: { status: 'Created', availableReplicas: 1 },
    });
    expect(Object.keys(aai.metadata.labels ?? {})).toEqual(['nodename']);
    expect(AAI_FINALIZER).toBe('azureassignedidentity.finalizers.aadpodidentity.k8s.io');
    expect(build(true).metadata.namespace).toBe('apps');
  });

  it('embeds identity and binding with apiVersion, kind and resourceVersion', () => {
    const aai = build();
    expect(aai.spec.azureIdentityRef).toMatchObject({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentity',
      metadata: { name: 'my-id', resourceVersion: '11' },
    });
    expect(aai.spec.azureBindingRef).toMatchObject({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentityBinding',
      metadata: { name: 'my-binding', resourceVersion: '12' },
    });
  });

  it('copies embedded objects so later changes to the source do not leak in', () => {
    const source = identity('apps');
    const embedded = embedIdentity(source);
    source.spec.clientID = 'changed';
    expect(embedded.spec.clientID).toBe('c');
    const b = embedBinding(binding);
    expect(b).not.toBe(binding);
    expect(cloneJson(undefined)).toBeUndefined();
  });

  it('round-trips through parseAzureAssignedIdentity', () => {
    const aai = build();
    expect(parseAzureAssignedIdentity(JSON.parse(JSON.stringify(aai)))).toEqual(aai);
  });

  it('honours an explicit status', () => {
    expect(newAssignedIdentity({ podName: 'p', podNamespace: 'n', nodeName: 'x', identity: identity('n'), binding, forceNamespaced: false, status: 'Assigned' }).status?.status).toBe('Assigned');
  });
});
