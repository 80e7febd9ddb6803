import { describe, expect, it } from '@jest/globals';
import { isInvalidObjectError, type InvalidObjectError } from '../../../controller/api/errors.js';
import {
  parseAzureAssignedIdentity,
  parseAzureIdentity,
  parseAzureIdentityBinding,
  parseAzurePodIdentityException,
  parseNodeInfo,
  parsePodInfo,
} from '../../../controller/api/guards.js';

const RID = '/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1';

function invalid(fn: () => unknown): InvalidObjectError {
  try {
    fn();
  } catch (e) {
    if (isInvalidObjectError(e)) return e;
    throw e;
  }
  throw new Error('expected InvalidObjectError');
}

const identity = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentity',
  metadata: { name: 'id1', namespace: 'default', resourceVersion: '7', uid: 'u1', managedFields: [{ manager: 'kubectl' }] },
  spec,
  ...extra,
});
const binding = (spec: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: 'aadpodidentity.k8s.io/v1',
  kind: 'AzureIdentityBinding',
  metadata: { name: 'b1', namespace: 'default', resourceVersion: '9' },
  spec,
});

describe('parseAzureIdentity', () => {
  it('keeps current field names and metadata (including unknown metadata fields)', () => {
    const parsed = parseAzureIdentity(
      identity({
        type: 1,
        resourceID: RID,
        clientID: 'c',
        clientPassword: { name: 'sec', namespace: 'ns' },
        tenantID: 't',
        auxiliaryTenantIDs: ['a1'],
        adEndpoint: 'https://login.example/',
        replicas: null,
      }),
    );
    expect(parsed).toEqual({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentity',
      metadata: { name: 'id1', namespace: 'default', resourceVersion: '7', uid: 'u1', managedFields: [{ manager: 'kubectl' }] },
      spec: {
        type: 1,
        resourceID: RID,
        clientID: 'c',
        clientPassword: { name: 'sec', namespace: 'ns' },
        tenantID: 't',
        auxiliaryTenantIDs: ['a1'],
        adEndpoint: 'https://login.example/',
        replicas: null,
      },
    });
  });

  it('defaults a missing spec.type (and a missing spec) to 0', () => {
    expect(parseAzureIdentity(identity({ resourceID: RID })).spec.type).toBe(0);
    const { spec: _spec, ...noSpec } = identity({});
    expect(parseAzureIdentity(noSpec).spec).toEqual({ type: 0 });
  });

  it.each([
    ['capitalised (pre-1.6 user manifests)', { ResourceID: RID, ClientID: 'c', ClientPassword: { Name: 's', Namespace: 'n' }, TenantID: 't' }],
    ['all lower-case (pre-1.6 MIC writes)', { resourceid: RID, clientid: 'c', clientpassword: { name: 's', namespace: 'n' }, tenantid: 't' }],
  ])('normalises legacy %s field names', (_label, spec) => {
    expect(parseAzureIdentity(identity({ type: 0, ...spec })).spec).toEqual({
      type: 0,
      resourceID: RID,
      clientID: 'c',
      clientPassword: { name: 's', namespace: 'n' },
      tenantID: 't',
    });
  });

  it('prefers the current name when both current and legacy names are present', () => {
    expect(parseAzureIdentity(identity({ resourceID: 'new', ResourceID: 'old' })).spec.resourceID).toBe('new');
  });

  it('does not validate the resource ID value (the reconciler decides)', () => {
    expect(parseAzureIdentity(identity({ resourceID: 'not-an-id' })).spec.resourceID).toBe('not-an-id');
  });

  it('converts Date timestamps (client-node typed objects) to RFC 3339 strings', () => {
    const obj = identity({});
    (obj.metadata as Record<string, unknown>).creationTimestamp = new Date('2024-01-02T03:04:05Z');
    expect(parseAzureIdentity(obj).metadata.creationTimestamp).toBe('2024-01-02T03:04:05Z');
  });

  it.each([
    ['spec.type', { type: '0' }, 'must be an integer'],
    ['spec.type', { type: 1.5 }, 'must be an integer'],
    ['spec.resourceID', { resourceID: 42 }, 'must be a string'],
    ['spec.ResourceID', { ResourceID: 42 }, 'must be a string'],
    ['spec.clientPassword', { clientPassword: 'secret' }, 'must be an object'],
    ['spec.auxiliaryTenantIDs[1]', { auxiliaryTenantIDs: ['a', 2] }, 'must be a string'],
    ['spec.replicas', { replicas: 'x' }, 'must be an integer'],
  ])('names the field on wrong JSON types: %s', (field, spec, reason) => {
    const e = invalid(() => parseAzureIdentity(identity(spec)));
    expect(e).toMatchObject({ kind: 'AzureIdentity', reason });
    expect(e.field.toLowerCase()).toBe(field.toLowerCase());
    expect(e.message).toContain(e.field);
  });

  it.each([
    ['(root)', null],
    ['(root)', []],
    ['metadata', { spec: {} }],
    ['metadata.name', { metadata: { name: '' } }],
    ['metadata.labels.app', { metadata: { name: 'x', labels: { app: 1 } } }],
    ['metadata.finalizers', { metadata: { name: 'x', finalizers: 'f' } }],
    ['kind', { kind: 'AzureIdentityBinding', metadata: { name: 'x' } }],
    ['spec', { metadata: { name: 'x' }, spec: [] }],
    ['status.availableReplicas', { metadata: { name: 'x' }, status: { availableReplicas: 'one' } }],
  ])('rejects bad shapes at %s', (field, obj) => {
    expect(invalid(() => parseAzureIdentity(obj)).field).toBe(field);
  });
});

describe('parseAzureIdentityBinding', () => {
  it('parses current names and defaults missing strings to empty', () => {
    expect(parseAzureIdentityBinding(binding({ azureIdentity: 'id1', selector: 'demo', weight: 3 })).spec).toEqual({
      azureIdentity: 'id1',
      selector: 'demo',
      weight: 3,
    });
    expect(parseAzureIdentityBinding(binding({})).spec).toEqual({ azureIdentity: '', selector: '' });
  });

  it('normalises legacy AzureIdentity/Selector and azureidentity/selector', () => {
    expect(parseAzureIdentityBinding(binding({ AzureIdentity: 'id1', Selector: 'demo' })).spec).toEqual({ azureIdentity: 'id1', selector: 'demo' });
    expect(parseAzureIdentityBinding(binding({ azureidentity: 'id1', selector: 'demo' })).spec).toEqual({ azureIdentity: 'id1', selector: 'demo' });
  });

  it('rejects a non-string selector', () => {
    expect(invalid(() => parseAzureIdentityBinding(binding({ selector: { matchLabels: {} } })))).toMatchObject({
      kind: 'AzureIdentityBinding',
      field: 'spec.selector',
    });
  });
});

describe('parseAzureAssignedIdentity', () => {
  const aai = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureAssignedIdentity',
    metadata: { name: 'p-default-id1', namespace: 'default', labels: { nodename: 'n1' }, finalizers: ['f'] },
    spec: {
      azureIdentityRef: identity({ resourceID: RID }),
      azureBindingRef: binding({ azureIdentity: 'id1', selector: 'demo' }),
      pod: 'p',
      podNamespace: 'default',
      nodename: 'n1',
    },
    status: { status: 'Assigned', availableReplicas: 1 },
    ...overrides,
  });

  it('parses the upstream shape including embedded refs', () => {
    const parsed = parseAzureAssignedIdentity(aai());
    expect(parsed.spec).toMatchObject({ pod: 'p', podNamespace: 'default', nodename: 'n1' });
    expect(parsed.spec.azureIdentityRef.spec).toEqual({ type: 0, resourceID: RID });
    expect(parsed.spec.azureIdentityRef.metadata.resourceVersion).toBe('7');
    expect(parsed.spec.azureBindingRef.spec.selector).toBe('demo');
    expect(parsed.status).toEqual({ status: 'Assigned', availableReplicas: 1 });
  });

  it('normalises a pre-1.6 object (lower-case spec keys, top-level Status, legacy refs)', () => {
    const legacy = {
      metadata: { name: 'p-default-id1', namespace: 'default' },
      spec: {
        azureidentityref: { metadata: { name: 'id1', namespace: 'default' }, spec: { type: 0, resourceid: RID, clientid: 'c' } },
        azurebindingref: { metadata: { name: 'b1', namespace: 'default' }, spec: { azureidentity: 'id1', selector: 'demo' } },
        pod: 'p',
        podnamespace: 'default',
        nodename: 'n1',
      },
      Status: { status: 'Assigned', availableReplicas: 1 },
    };
    const parsed = parseAzureAssignedIdentity(legacy);
    expect(parsed.spec.podNamespace).toBe('default');
    expect(parsed.spec.azureIdentityRef.spec).toEqual({ type: 0, resourceID: RID, clientID: 'c' });
    expect(parsed.spec.azureBindingRef.spec).toEqual({ azureIdentity: 'id1', selector: 'demo' });
    expect(parsed.status?.status).toBe('Assigned');
  });

  it('accepts the empty status of pre-1.5 objects and a missing status', () => {
    expect(parseAzureAssignedIdentity(aai({ status: { status: '' } })).status?.status).toBe('');
    expect(parseAzureAssignedIdentity(aai({ status: undefined })).status).toBeUndefined();
  });

  it('names the field for missing refs, bad embedded fields and unknown states', () => {
    const base = aai();
    const spec = base.spec as Record<string, unknown>;
    // Missing or nameless refs are read as empty refs, so a damaged object is still seen and repaired.
    const noIdentity = parseAzureAssignedIdentity({ ...base, spec: { ...spec, azureIdentityRef: undefined } });
    expect(noIdentity.spec.azureIdentityRef.metadata.name).toBe('');
    expect(parseAzureAssignedIdentity({ ...base, spec: { ...spec, azureBindingRef: null } }).spec.azureBindingRef.metadata.name).toBe('');
    expect(parseAzureAssignedIdentity({ ...base, spec: { ...spec, azureBindingRef: { ...binding({}), metadata: {} } } }).spec.azureBindingRef.metadata.name).toBe('');
    expect(
      invalid(() => parseAzureAssignedIdentity({ ...base, spec: { ...spec, azureIdentityRef: identity({ type: 'x' }) } })),
    ).toMatchObject({ kind: 'AzureAssignedIdentity', field: 'spec.azureIdentityRef.spec.type' });
    expect(
      invalid(() => parseAzureAssignedIdentity({ ...base, spec: { ...spec, azureBindingRef: { ...binding({}), kind: 'AzureIdentity' } } })).field,
    ).toBe('spec.azureBindingRef.kind');
    expect(invalid(() => parseAzureAssignedIdentity(aai({ status: { status: 'Bound' } }))).field).toBe('status.status');
    expect(invalid(() => parseAzureAssignedIdentity({ ...base, spec: { ...spec, pod: 3 } })).field).toBe('spec.pod');
  });
});

describe('parseAzurePodIdentityException', () => {
  it('parses podLabels and legacy PodLabels/Status', () => {
    const meta = { name: 'mic-exception', namespace: 'default' };
    expect(parseAzurePodIdentityException({ metadata: meta, spec: { podLabels: { app: 'mic' } } }).spec).toEqual({ podLabels: { app: 'mic' } });
    expect(
      parseAzurePodIdentityException({ metadata: meta, spec: { PodLabels: { app: 'mic' } }, Status: { status: 'x' } }),
    ).toMatchObject({ spec: { podLabels: { app: 'mic' } }, status: { status: 'x' } });
  });

  it('rejects non-string label values', () => {
    expect(invalid(() => parseAzurePodIdentityException({ metadata: { name: 'e' }, spec: { podLabels: { app: true } } })).field).toBe(
      'spec.podLabels.app',
    );
  });
});

describe('parsePodInfo', () => {
  const pod = {
    metadata: {
      name: 'demo',
      namespace: 'apps',
      uid: 'u',
      labels: { aadpodidbinding: 'demo' },
      creationTimestamp: new Date('2024-05-06T07:08:09.500Z'),
    },
    spec: { nodeName: 'n1', readinessGates: [{ conditionType: 'aadpodidentity.k8s.io/identity-ready' }] },
    status: { phase: 'Running' },
  };

  it('extracts the fields the controller reads (client-node V1Pod with Date timestamps)', () => {
    expect(parsePodInfo(pod)).toEqual({
      name: 'demo',
      namespace: 'apps',
      uid: 'u',
      nodeName: 'n1',
      labels: { aadpodidbinding: 'demo' },
      phase: 'Running',
      creationTimestamp: '2024-05-06T07:08:09.500Z',
      readinessGates: ['aadpodidentity.k8s.io/identity-ready'],
    });
  });

  it('treats an empty nodeName as unscheduled and missing labels as none', () => {
    expect(parsePodInfo({ metadata: { name: 'p', namespace: 'n' }, spec: { nodeName: '' } })).toEqual({ name: 'p', namespace: 'n', labels: {} });
  });

  it('keeps a deletionTimestamp string', () => {
    const deleting = { metadata: { name: 'p', namespace: 'n', deletionTimestamp: '2024-01-01T00:00:00Z' } };
    expect(parsePodInfo(deleting).deletionTimestamp).toBe('2024-01-01T00:00:00Z');
  });

  it.each([
    ['metadata', { spec: {} }],
    ['metadata.namespace', { metadata: { name: 'p' } }],
    ['metadata.labels.a', { metadata: { name: 'p', namespace: 'n', labels: { a: 1 } } }],
    ['spec.nodeName', { metadata: { name: 'p', namespace: 'n' }, spec: { nodeName: 5 } }],
    ['spec.readinessGates[0].conditionType', { metadata: { name: 'p', namespace: 'n' }, spec: { readinessGates: [{}] } }],
    ['metadata.deletionTimestamp', { metadata: { name: 'p', namespace: 'n', deletionTimestamp: 5 } }],
  ])('rejects bad shapes at %s', (field, obj) => {
    expect(invalid(() => parsePodInfo(obj))).toMatchObject({ kind: 'Pod', field });
  });
});

describe('parseNodeInfo', () => {
  it('extracts name and providerID', () => {
    expect(parseNodeInfo({ metadata: { name: 'n1' }, spec: { providerID: 'azure:///x' } })).toEqual({ name: 'n1', providerID: 'azure:///x' });
    expect(parseNodeInfo({ metadata: { name: 'n1' } })).toEqual({ name: 'n1' });
  });

  it('rejects a missing name or a non-string providerID', () => {
    expect(invalid(() => parseNodeInfo({ metadata: {} })).field).toBe('metadata.name');
    expect(invalid(() => parseNodeInfo({ metadata: { name: 'n' }, spec: { providerID: 1 } })).field).toBe('spec.providerID');
  });
});
