/**
 * The builtin kinds the emulator serves: core/v1 namespaces, pods, nodes, events, configmaps,
 * secrets, serviceaccounts, endpoints; coordination.k8s.io/v1 leases; events.k8s.io/v1 events
 * (a view of the core Events); apiextensions.k8s.io/v1 customresourcedefinitions; and, so that the
 * install manifests apply (`kubectl apply -k config/base`), apps/v1 deployments (with the `scale`
 * subresource; no controller creates their pods), policy/v1 poddisruptionbudgets and the four
 * rbac.authorization.k8s.io/v1 kinds (stored, not enforced: every authenticated request is allowed).
 */
import type { StatusCause } from './errors.js';
import type { KubeObject } from './objects.js';
import { getPath, isPlainObject, metaOf } from './objects.js';
import type { ResourceType, TableColumn } from './resource-type.js';
import { STANDARD_VERBS, ageColumn, ageOf, column, nameColumn } from './resource-type.js';

type Partialish = Pick<ResourceType, 'group' | 'version' | 'plural' | 'singular' | 'kind' | 'namespaced'> & Partial<ResourceType>;

function define(p: Partialish): ResourceType {
  return {
    listKind: `${p.kind}List`,
    shortNames: [],
    categories: [],
    verbs: STANDARD_VERBS,
    storage: `${p.group || 'core'}/${p.plural}`,
    statusSubresource: false,
    builtin: true,
    hasGeneration: false,
    columns: [nameColumn(), ageColumn()],
    fieldLabels: {},
    microTimeFields: [],
    timeFields: [],
    ...p,
  };
}

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
const META = ['apiVersion', 'kind', 'metadata'];
const known = (...fields: string[]): Set<string> => new Set([...META, ...fields]);

function required(obj: KubeObject, path: string, causes: StatusCause[]): void {
  const v = getPath(obj, path);
  if (v === undefined || v === null || v === '') causes.push({ reason: 'FieldValueRequired', field: path, message: 'Required value' });
}

// ---------- pods ----------

function podStatusText(pod: KubeObject): string {
  if (metaOf(pod).deletionTimestamp) return 'Terminating';
  const status = (pod.status ?? {}) as Record<string, unknown>;
  if (typeof status.reason === 'string' && status.reason) return status.reason;
  const waiting = ((status.containerStatuses as Record<string, unknown>[] | undefined) ?? [])
    .map((c) => getPath(c, 'state.waiting.reason'))
    .find((r) => typeof r === 'string' && r);
  if (typeof waiting === 'string') return waiting;
  return typeof status.phase === 'string' ? status.phase : 'Pending';
}

function podReady(pod: KubeObject): string {
  const containers = (getPath(pod, 'spec.containers') as unknown[] | undefined) ?? [];
  const statuses = (getPath(pod, 'status.containerStatuses') as Record<string, unknown>[] | undefined) ?? [];
  return `${statuses.filter((s) => s.ready === true).length}/${containers.length}`;
}

function podRestarts(pod: KubeObject): number {
  const statuses = (getPath(pod, 'status.containerStatuses') as Record<string, unknown>[] | undefined) ?? [];
  return statuses.reduce((n, s) => n + (typeof s.restartCount === 'number' ? s.restartCount : 0), 0);
}

function validatePod(pod: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const containers = getPath(pod, 'spec.containers');
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.containers', message: 'Required value' });
    return causes;
  }
  containers.forEach((c, i) => {
    if (!isPlainObject(c) || typeof c.name !== 'string' || c.name === '') causes.push({ reason: 'FieldValueRequired', field: `spec.containers[${i}].name`, message: 'Required value' });
    if (!isPlainObject(c) || typeof c.image !== 'string' || c.image === '') causes.push({ reason: 'FieldValueRequired', field: `spec.containers[${i}].image`, message: 'Required value' });
  });
  return causes;
}

const pods = define({
  group: '',
  version: 'v1',
  plural: 'pods',
  singular: 'pod',
  kind: 'Pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  statusSubresource: true,
  knownFields: known('spec', 'status'),
  columns: [
    nameColumn(),
    column('Ready', podReady, { description: 'The aggregate readiness state of this pod for accepting traffic.' }),
    column('Status', podStatusText, { description: 'The aggregate status of the containers in this pod.' }),
    column('Restarts', podRestarts, { type: 'string', description: 'The number of times the containers in this pod have been restarted.' }),
    ageColumn(),
    column('IP', (p) => str(getPath(p, 'status.podIP')) ?? '<none>', { priority: 1 }),
    column('Node', (p) => str(getPath(p, 'spec.nodeName')) ?? '<none>', { priority: 1 }),
    column('Nominated Node', (p) => str(getPath(p, 'status.nominatedNodeName')) ?? '<none>', { priority: 1 }),
    column('Readiness Gates', () => '<none>', { priority: 1 }),
  ],
  fieldLabels: {
    'spec.nodeName': (o) => str(getPath(o, 'spec.nodeName')),
    'spec.restartPolicy': (o) => str(getPath(o, 'spec.restartPolicy')),
    'spec.schedulerName': (o) => str(getPath(o, 'spec.schedulerName')),
    'spec.serviceAccountName': (o) => str(getPath(o, 'spec.serviceAccountName')),
    'spec.hostNetwork': (o) => String(getPath(o, 'spec.hostNetwork') === true),
    'status.phase': (o) => str(getPath(o, 'status.phase')),
    'status.podIP': (o) => str(getPath(o, 'status.podIP')),
    'status.nominatedNodeName': (o) => str(getPath(o, 'status.nominatedNodeName')),
  },
  validate: (o) => validatePod(o),
  prepare: (o) => {
    if (!isPlainObject(o.status)) o.status = {};
    const status = o.status as Record<string, unknown>;
    if (status.phase === undefined) status.phase = 'Pending';
    if (isPlainObject(o.spec)) {
      const spec = o.spec as Record<string, unknown>;
      spec.restartPolicy ??= 'Always';
      spec.schedulerName ??= 'default-scheduler';
      spec.serviceAccountName ??= 'default';
    }
  },
});

// ---------- nodes ----------

function nodeStatus(node: KubeObject): string {
  const conds = (getPath(node, 'status.conditions') as Record<string, unknown>[] | undefined) ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  let s = ready ? (ready.status === 'True' ? 'Ready' : ready.status === 'False' ? 'NotReady' : 'Unknown') : 'Unknown';
  if (getPath(node, 'spec.unschedulable') === true) s += ',SchedulingDisabled';
  return s;
}

function nodeRoles(node: KubeObject): string {
  const labels = metaOf(node).labels ?? {};
  const roles = Object.keys(labels)
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length));
  return roles.length ? roles.sort().join(',') : '<none>';
}

function nodeAddress(node: KubeObject, type: string): string {
  const addrs = (getPath(node, 'status.addresses') as Record<string, unknown>[] | undefined) ?? [];
  return str(addrs.find((a) => a.type === type)?.address) ?? '<none>';
}

const nodes = define({
  group: '',
  version: 'v1',
  plural: 'nodes',
  singular: 'node',
  kind: 'Node',
  namespaced: false,
  shortNames: ['no'],
  statusSubresource: true,
  knownFields: known('spec', 'status'),
  columns: [
    nameColumn(),
    column('Status', nodeStatus, { description: 'The status of the node' }),
    column('Roles', nodeRoles, { description: 'The roles of the node' }),
    ageColumn(),
    column('Version', (n) => str(getPath(n, 'status.nodeInfo.kubeletVersion')) ?? '', { description: 'Kubelet Version reported by the node.' }),
    column('Internal-IP', (n) => nodeAddress(n, 'InternalIP'), { priority: 1 }),
    column('External-IP', (n) => nodeAddress(n, 'ExternalIP'), { priority: 1 }),
    column('OS-Image', (n) => str(getPath(n, 'status.nodeInfo.osImage')) ?? '<unknown>', { priority: 1 }),
    column('Kernel-Version', (n) => str(getPath(n, 'status.nodeInfo.kernelVersion')) ?? '<unknown>', { priority: 1 }),
    column('Container-Runtime', (n) => str(getPath(n, 'status.nodeInfo.containerRuntimeVersion')) ?? '<unknown>', { priority: 1 }),
  ],
  fieldLabels: { 'spec.unschedulable': (o) => String(getPath(o, 'spec.unschedulable') === true) },
});

// ---------- namespaces ----------

const namespaces = define({
  group: '',
  version: 'v1',
  plural: 'namespaces',
  singular: 'namespace',
  kind: 'Namespace',
  namespaced: false,
  shortNames: ['ns'],
  statusSubresource: true,
  knownFields: known('spec', 'status'),
  columns: [nameColumn(), column('Status', (n) => str(getPath(n, 'status.phase')) ?? '', { description: 'The status of the namespace' }), ageColumn()],
  fieldLabels: { 'status.phase': (o) => str(getPath(o, 'status.phase')) },
  prepare: (o) => {
    o.spec = { finalizers: ['kubernetes'], ...(isPlainObject(o.spec) ? o.spec : {}) };
    o.status = { phase: 'Active', ...(isPlainObject(o.status) ? o.status : {}) };
    const meta = metaOf(o);
    if (meta.name) meta.labels = { ...(meta.labels ?? {}), 'kubernetes.io/metadata.name': meta.name };
  },
});

// ---------- events (core/v1) and events.k8s.io/v1 view ----------

function involvedRef(e: KubeObject): string {
  const io = (e.involvedObject ?? {}) as Record<string, unknown>;
  return `${String(io.kind ?? '').toLowerCase()}/${String(io.name ?? '')}`;
}

function eventLastSeen(e: KubeObject, now: number): string {
  const ts = e.lastTimestamp ?? getPath(e, 'series.lastObservedTime') ?? e.eventTime ?? e.firstTimestamp;
  return ageOf(ts, now);
}

const eventColumns: TableColumn[] = [
  column('Last Seen', eventLastSeen),
  column('Type', (e) => str(e.type) ?? ''),
  column('Reason', (e) => str(e.reason) ?? ''),
  column('Object', involvedRef),
  column('Subobject', (e) => str(getPath(e, 'involvedObject.fieldPath')) ?? '', { priority: 1 }),
  column('Source', (e) => str(getPath(e, 'source.component')) ?? str(e.reportingComponent) ?? '', { priority: 1 }),
  column('Message', (e) => str(e.message) ?? ''),
  column('First Seen', (e, now) => ageOf(e.firstTimestamp ?? e.eventTime, now), { priority: 1 }),
  column('Count', (e) => (typeof e.count === 'number' ? e.count : 1), { priority: 1, type: 'integer' }),
  { ...nameColumn(), priority: 1 },
];

const eventFieldLabels: ResourceType['fieldLabels'] = {
  'involvedObject.kind': (o) => str(getPath(o, 'involvedObject.kind')),
  'involvedObject.namespace': (o) => str(getPath(o, 'involvedObject.namespace')),
  'involvedObject.name': (o) => str(getPath(o, 'involvedObject.name')),
  'involvedObject.uid': (o) => str(getPath(o, 'involvedObject.uid')),
  'involvedObject.apiVersion': (o) => str(getPath(o, 'involvedObject.apiVersion')),
  'involvedObject.resourceVersion': (o) => str(getPath(o, 'involvedObject.resourceVersion')),
  'involvedObject.fieldPath': (o) => str(getPath(o, 'involvedObject.fieldPath')),
  reason: (o) => str(o.reason),
  reportingComponent: (o) => str(o.reportingComponent),
  source: (o) => str(getPath(o, 'source.component')),
  type: (o) => str(o.type),
};

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Legacy (core/v1) Event validation, as `legacyValidateEvent` does it. */
function validateCoreEvent(e: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const ns = metaOf(e).namespace ?? '';
  const ioNs = str(getPath(e, 'involvedObject.namespace')) ?? '';
  const mismatch = { reason: 'FieldValueInvalid', field: 'involvedObject.namespace', message: `Invalid value: "${ioNs}": does not match event.namespace` };
  if (e.eventTime === undefined || e.eventTime === null) {
    if (ioNs === '' ? ns !== '' && ns !== 'default' : ns !== ioNs) causes.push(mismatch);
  } else {
    if (ioNs === '' && ns !== 'default' && ns !== 'kube-system') causes.push(mismatch);
    required(e, 'reportingComponent', causes);
    required(e, 'reportingInstance', causes);
    required(e, 'action', causes);
  }
  return causes;
}

/** events.k8s.io/v1 create validation (`ValidateEventCreate`). */
function validateEventsV1(e: KubeObject, isCreate: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  if (isCreate) {
    required(e, 'eventTime', causes);
    if (e.type !== 'Normal' && e.type !== 'Warning') causes.push({ reason: 'FieldValueNotSupported', field: 'type', message: `Unsupported value: "${String(e.type ?? '')}": supported values: "Normal", "Warning"` });
    required(e, 'reportingController', causes);
    required(e, 'reportingInstance', causes);
    required(e, 'action', causes);
    required(e, 'reason', causes);
  }
  if (typeof e.note === 'string' && Buffer.byteLength(e.note) > 1024) causes.push({ reason: 'FieldValueTooLong', field: 'note', message: 'Too long: may not be more than 1024 bytes' });
  return causes;
}

const CORE_TO_V1: [string, string][] = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['reportingComponent', 'reportingController'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
];
const SHARED_EVENT_FIELDS = ['metadata', 'eventTime', 'series', 'reportingInstance', 'action', 'reason', 'related', 'type'];

/** core/v1 Event (stored form) to events.k8s.io/v1 Event. */
export function coreEventToV1(e: KubeObject): KubeObject {
  const out: KubeObject = { apiVersion: 'events.k8s.io/v1', kind: 'Event' };
  for (const f of SHARED_EVENT_FIELDS) if (e[f] !== undefined) out[f] = e[f];
  for (const [core, v1] of CORE_TO_V1) if (e[core] !== undefined) out[v1] = e[core];
  if (isPlainObject(e.series)) out.series = { count: e.series.count, lastObservedTime: e.series.lastObservedTime };
  out.eventTime ??= null;
  return out;
}

/** events.k8s.io/v1 Event to the stored core/v1 form. */
export function v1EventToCore(e: KubeObject): KubeObject {
  const out: KubeObject = { apiVersion: 'v1', kind: 'Event' };
  for (const f of SHARED_EVENT_FIELDS) if (e[f] !== undefined) out[f] = e[f];
  for (const [core, v1] of CORE_TO_V1) if (e[v1] !== undefined) out[core] = e[v1];
  out.involvedObject ??= {};
  return out;
}

const coreEvents = define({
  group: '',
  version: 'v1',
  plural: 'events',
  singular: 'event',
  kind: 'Event',
  namespaced: true,
  shortNames: ['ev'],
  storage: 'core/events',
  knownFields: known('involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime', 'series', 'action', 'related', 'reportingComponent', 'reportingInstance'),
  columns: eventColumns,
  fieldLabels: eventFieldLabels,
  microTimeFields: ['eventTime', 'series.lastObservedTime'],
  timeFields: ['firstTimestamp', 'lastTimestamp'],
  validate: (o) => validateCoreEvent(o),
  prepare: (o) => {
    o.involvedObject ??= {};
    o.reportingComponent ??= '';
    o.reportingInstance ??= '';
    if (o.eventTime === undefined) o.eventTime = null;
  },
});

const eventsV1 = define({
  group: 'events.k8s.io',
  version: 'v1',
  plural: 'events',
  singular: 'event',
  kind: 'Event',
  namespaced: true,
  shortNames: ['ev'],
  storage: 'core/events',
  knownFields: known('eventTime', 'series', 'reportingController', 'reportingInstance', 'action', 'reason', 'regarding', 'related', 'note', 'type', 'deprecatedSource', 'deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount'),
  columns: eventColumns,
  fieldLabels: {
    ...eventFieldLabels,
    ...Object.fromEntries(Object.entries(eventFieldLabels).filter(([k]) => k.startsWith('involvedObject.')).map(([k, f]) => [k.replace('involvedObject.', 'regarding.'), f])),
    reportingController: (o) => str(o.reportingComponent),
  },
  microTimeFields: ['eventTime', 'series.lastObservedTime'],
  timeFields: ['deprecatedFirstTimestamp', 'deprecatedLastTimestamp'],
  validate: (o, ctx) => validateEventsV1(o, ctx.isCreate),
  toView: coreEventToV1,
  fromView: v1EventToCore,
});

// ---------- the rest ----------

const configmaps = define({
  group: '',
  version: 'v1',
  plural: 'configmaps',
  singular: 'configmap',
  kind: 'ConfigMap',
  namespaced: true,
  shortNames: ['cm'],
  knownFields: known('data', 'binaryData', 'immutable'),
  columns: [nameColumn(), column('Data', (c) => Object.keys((c.data as object | undefined) ?? {}).length + Object.keys((c.binaryData as object | undefined) ?? {}).length, { type: 'string' }), ageColumn()],
  validate: (o) => validateDataMap(o, 'data', false),
});

function validateDataMap(o: KubeObject, field: string, base64: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  const data = o[field];
  if (data === undefined || data === null) return causes;
  if (!isPlainObject(data)) return [{ reason: 'FieldValueTypeInvalid', field, message: 'Invalid value: must be an object' }];
  for (const [k, v] of Object.entries(data)) {
    if (!/^[-._a-zA-Z0-9]+$/.test(k)) causes.push({ reason: 'FieldValueInvalid', field: `${field}[${k}]`, message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` });
    if (typeof v !== 'string') causes.push({ reason: 'FieldValueTypeInvalid', field: `${field}[${k}]`, message: 'Invalid value: must be a string' });
    else if (base64 && !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) causes.push({ reason: 'FieldValueInvalid', field: `${field}[${k}]`, message: 'Invalid value: illegal base64 data' });
  }
  return causes;
}

const secrets = define({
  group: '',
  version: 'v1',
  plural: 'secrets',
  singular: 'secret',
  kind: 'Secret',
  namespaced: true,
  knownFields: known('data', 'stringData', 'type', 'immutable'),
  columns: [nameColumn(), column('Type', (s) => str(s.type) ?? ''), column('Data', (s) => Object.keys((s.data as object | undefined) ?? {}).length, { type: 'string' }), ageColumn()],
  fieldLabels: { type: (o) => str(o.type) },
  validate: (o) => validateDataMap(o, 'data', true),
  prepare: (o) => {
    o.type ??= 'Opaque';
    if (isPlainObject(o.stringData)) {
      const data = isPlainObject(o.data) ? { ...o.data } : {};
      for (const [k, v] of Object.entries(o.stringData)) data[k] = Buffer.from(String(v)).toString('base64');
      o.data = data;
    }
    delete o.stringData;
  },
});

const serviceaccounts = define({
  group: '',
  version: 'v1',
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  kind: 'ServiceAccount',
  namespaced: true,
  shortNames: ['sa'],
  knownFields: known('secrets', 'imagePullSecrets', 'automountServiceAccountToken'),
  columns: [nameColumn(), column('Secrets', (s) => ((s.secrets as unknown[] | undefined) ?? []).length, { type: 'string' }), ageColumn()],
});

const endpoints = define({
  group: '',
  version: 'v1',
  plural: 'endpoints',
  singular: 'endpoints',
  kind: 'Endpoints',
  namespaced: true,
  shortNames: ['ep'],
  knownFields: known('subsets'),
  columns: [
    nameColumn(),
    column('Endpoints', (e) => {
      const out: string[] = [];
      for (const s of (e.subsets as Record<string, unknown>[] | undefined) ?? []) {
        const ports = (s.ports as Record<string, unknown>[] | undefined) ?? [];
        for (const a of (s.addresses as Record<string, unknown>[] | undefined) ?? []) {
          if (ports.length === 0) out.push(String(a.ip));
          for (const p of ports) out.push(`${String(a.ip)}:${String(p.port)}`);
        }
      }
      return out.length ? out.join(',') : '<none>';
    }),
    ageColumn(),
  ],
});

function validateLease(o: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const d = getPath(o, 'spec.leaseDurationSeconds');
  if (d !== undefined && d !== null && (typeof d !== 'number' || d <= 0)) causes.push({ reason: 'FieldValueInvalid', field: 'spec.leaseDurationSeconds', message: `Invalid value: ${JSON.stringify(d)}: must be greater than 0` });
  const t = getPath(o, 'spec.leaseTransitions');
  if (t !== undefined && t !== null && (typeof t !== 'number' || t < 0)) causes.push({ reason: 'FieldValueInvalid', field: 'spec.leaseTransitions', message: `Invalid value: ${JSON.stringify(t)}: must be greater than or equal to 0` });
  return causes;
}

const leases = define({
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  singular: 'lease',
  kind: 'Lease',
  namespaced: true,
  knownFields: known('spec'),
  columns: [nameColumn(), column('Holder', (l) => str(getPath(l, 'spec.holderIdentity')) ?? '<unknown>', { description: 'The holder of the lease' }), ageColumn()],
  microTimeFields: ['spec.acquireTime', 'spec.renewTime'],
  validate: (o) => validateLease(o),
});

const crds = define({
  group: 'apiextensions.k8s.io',
  version: 'v1',
  plural: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  kind: 'CustomResourceDefinition',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  statusSubresource: true,
  hasGeneration: true,
  knownFields: known('spec', 'status'),
  columns: [nameColumn(), column('Created At', (c) => str(metaOf(c).creationTimestamp) ?? '', { type: 'date' })],
});

const deployments = define({
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  singular: 'deployment',
  kind: 'Deployment',
  namespaced: true,
  shortNames: ['deploy'],
  categories: ['all'],
  statusSubresource: true,
  hasGeneration: true,
  scale: { selectorPath: 'spec.selector' },
  knownFields: known('spec', 'status'),
  columns: [
    nameColumn(),
    column('Ready', (d) => `${Number(getPath(d, 'status.readyReplicas') ?? 0)}/${Number(getPath(d, 'spec.replicas') ?? 1)}`),
    column('Up-to-date', (d) => Number(getPath(d, 'status.updatedReplicas') ?? 0), { type: 'integer' }),
    column('Available', (d) => Number(getPath(d, 'status.availableReplicas') ?? 0), { type: 'integer' }),
    ageColumn(),
  ],
  validate: (o) => {
    const causes: StatusCause[] = [];
    required(o, 'spec.selector', causes);
    required(o, 'spec.template', causes);
    return causes;
  },
  prepare: (o) => {
    const spec = isPlainObject(o.spec) ? o.spec : (o.spec = {});
    spec.replicas ??= 1;
  },
});

const podDisruptionBudgets = define({
  group: 'policy',
  version: 'v1',
  plural: 'poddisruptionbudgets',
  singular: 'poddisruptionbudget',
  kind: 'PodDisruptionBudget',
  namespaced: true,
  shortNames: ['pdb'],
  statusSubresource: true,
  hasGeneration: true,
  knownFields: known('spec', 'status'),
  columns: [
    nameColumn(),
    column('Min Available', (p) => str(getPath(p, 'spec.minAvailable')) ?? 'N/A'),
    column('Max Unavailable', (p) => str(getPath(p, 'spec.maxUnavailable')) ?? 'N/A'),
    column('Allowed Disruptions', (p) => Number(getPath(p, 'status.disruptionsAllowed') ?? 0), { type: 'integer' }),
    ageColumn(),
  ],
});

const createdAtColumn = (): TableColumn => column('Created At', (o) => str(metaOf(o).creationTimestamp) ?? '', { type: 'date' });
const roleRefColumn = (): TableColumn => column('Role', (o) => `${str(getPath(o, 'roleRef.kind')) ?? ''}/${str(getPath(o, 'roleRef.name')) ?? ''}`);

function rbac(kind: string, plural: string, namespaced: boolean, fields: string[], columns: TableColumn[]): ResourceType {
  return define({ group: 'rbac.authorization.k8s.io', version: 'v1', plural, singular: kind.toLowerCase(), kind, namespaced, knownFields: known(...fields), columns });
}

const clusterRoles = rbac('ClusterRole', 'clusterroles', false, ['rules', 'aggregationRule'], [nameColumn(), createdAtColumn()]);
const clusterRoleBindings = rbac('ClusterRoleBinding', 'clusterrolebindings', false, ['subjects', 'roleRef'], [nameColumn(), roleRefColumn(), ageColumn()]);
const roles = rbac('Role', 'roles', true, ['rules'], [nameColumn(), createdAtColumn()]);
const roleBindings = rbac('RoleBinding', 'rolebindings', true, ['subjects', 'roleRef'], [nameColumn(), roleRefColumn(), ageColumn()]);

/** Every builtin resource, in discovery order. */
export function builtinResources(): ResourceType[] {
  return [
    namespaces, pods, nodes, coreEvents, configmaps, secrets, serviceaccounts, endpoints, leases, eventsV1, crds,
    deployments, podDisruptionBudgets, clusterRoles, clusterRoleBindings, roles, roleBindings,
  ];
}

/** DNS-1123 subdomain check (object names of most kinds). */
export function isDns1123Subdomain(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
}
