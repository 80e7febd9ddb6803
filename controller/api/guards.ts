/**
 * Runtime guards turning untyped JSON from the API server into the typed model of `types.ts`.
 *
 * Field lookup follows Go's `encoding/json` decoding that pre-1.6 MICs relied on: an exact key wins,
 * otherwise a case-insensitive match is accepted. Legacy names (`ResourceID`, `resourceid`,
 * `ClientID`, `AzureIdentity`, `Selector`, `azureidentityref`, `podnamespace`, top-level `Status`,
 * `PodLabels`, `Name`/`Namespace` of `clientPassword`, ...) are thereby normalised into the current
 * names. Missing fields take Go's zero values where the type needs one (`spec.type` = 0, empty
 * strings); a present field of the wrong JSON type throws {@link InvalidObjectError} naming it.
 * Values are not validated beyond their shape (resource IDs are checked by the reconciler).
 */
import { InvalidObjectError } from './errors.js';
import {
  IDENTITY_READY_CONDITION,
  type AssignedIdentityState,
  type AzureAssignedIdentity,
  type AzureAssignedIdentityStatus,
  type AzureIdentity,
  type AzureIdentityBinding,
  type AzureIdentitySpec,
  type AzurePodIdentityException,
  type NodeInfo,
  type ObjectMeta,
  type PodInfo,
  type SecretReference,
} from './types.js';

type JsonObject = Record<string, unknown>;

/** Values `status.status` of an AzureAssignedIdentity may hold. */
const ASSIGNED_STATES: readonly AssignedIdentityState[] = ['Created', 'Assigned', 'Unassigned', ''];

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Joins a parent path and a key (`spec` + `type` → `spec.type`). */
function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Go-style field lookup: the exact key if it holds a value, else the first case-insensitive match. */
function lookup(obj: JsonObject, key: string): unknown {
  const exact = obj[key];
  if (exact !== undefined && exact !== null) return exact;
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) {
    if (k !== key && k.toLowerCase() === lower && v !== undefined && v !== null) return v;
  }
  return exact;
}

/**
 * Reads fields of one object for one top-level kind, reporting errors against that kind. With
 * `legacyNames` keys are looked up Go-style (see {@link lookup}); without it only exact keys count.
 */
class FieldReader {
  constructor(
    readonly kind: string,
    readonly legacyNames = true,
  ) {}

  /** The same kind, exact keys only (for ObjectMeta and core kinds, whose keys never changed case). */
  exact(): FieldReader {
    return this.legacyNames ? new FieldReader(this.kind, false) : this;
  }

  private get(obj: JsonObject, key: string): unknown {
    return this.legacyNames ? lookup(obj, key) : obj[key];
  }

  fail(field: string, reason: string): never {
    throw new InvalidObjectError(this.kind, field, reason);
  }

  object(value: unknown, path: string): JsonObject {
    if (!isObject(value)) this.fail(path === '' ? '(root)' : path, 'must be an object');
    return value;
  }

  optObject(obj: JsonObject, key: string, path: string): JsonObject | undefined {
    const value = this.get(obj, key);
    if (value === undefined || value === null) return undefined;
    return this.object(value, join(path, key));
  }

  optString(obj: JsonObject, key: string, path: string): string | undefined {
    const value = this.get(obj, key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') this.fail(join(path, key), 'must be a string');
    return value;
  }

  optInteger(obj: JsonObject, key: string, path: string): number | undefined {
    const value = this.get(obj, key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) this.fail(join(path, key), 'must be an integer');
    return value;
  }

  /** Integer that may be explicitly `null` (CRD `nullable: true`). */
  nullableInteger(obj: JsonObject, key: string, path: string): number | null | undefined {
    return this.get(obj, key) === null ? null : this.optInteger(obj, key, path);
  }

  optStringArray(obj: JsonObject, key: string, path: string): string[] | undefined {
    const value = this.get(obj, key);
    if (value === undefined || value === null) return undefined;
    const field = join(path, key);
    if (!Array.isArray(value)) this.fail(field, 'must be an array of strings');
    return value.map((item: unknown, i) => {
      if (typeof item !== 'string') this.fail(`${field}[${i}]`, 'must be a string');
      return item;
    });
  }

  optStringMap(obj: JsonObject, key: string, path: string): Record<string, string> | undefined {
    const value = this.optObject(obj, key, path);
    if (value === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== 'string') this.fail(`${join(path, key)}.${k}`, 'must be a string');
      out[k] = v;
    }
    return out;
  }

  /** RFC 3339 timestamp: a string, or a `Date` as produced by client-node's typed deserialiser. */
  optTimestamp(obj: JsonObject, key: string, path: string): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString().replace('.000Z', 'Z');
    return this.fail(join(path, key), 'must be an RFC 3339 timestamp');
  }

  requiredName(obj: JsonObject, key: string, path: string): string {
    const value = this.optString(obj, key, path);
    if (value === undefined || value === '') this.fail(join(path, key), 'must be a non-empty string');
    return value;
  }

  /** `apiVersion`/`kind`: type-checked; a present `kind` must be the expected one. */
  typeMeta(obj: JsonObject, expectedKind: string, path: string): { apiVersion?: string; kind?: string } {
    const apiVersion = this.optString(obj, 'apiVersion', path);
    const kind = this.optString(obj, 'kind', path);
    if (kind !== undefined && kind !== '' && kind !== expectedKind) {
      this.fail(join(path, 'kind'), `must be ${expectedKind}`);
    }
    return withoutUndefined({ apiVersion, kind });
  }

  /**
   * ObjectMeta: `name` required, known fields type-checked, every other field kept as given.
   * Metadata keys are never matched case-insensitively (they never changed case).
   */
  metadata(obj: JsonObject, path: string, embedded = false): ObjectMeta {
    const metaPath = join(path, 'metadata');
    const raw = obj.metadata;
    if ((raw === undefined || raw === null) && !embedded) this.fail(metaPath, 'is required');
    const meta = raw === undefined || raw === null ? {} : this.object(raw, metaPath);
    const x = this.exact();
    return withoutUndefined<ObjectMeta>({
      ...meta,
      name: embedded ? (x.optString(meta, 'name', metaPath) ?? '') : x.requiredName(meta, 'name', metaPath),
      namespace: x.optString(meta, 'namespace', metaPath),
      uid: x.optString(meta, 'uid', metaPath),
      resourceVersion: x.optString(meta, 'resourceVersion', metaPath),
      generation: x.optInteger(meta, 'generation', metaPath),
      creationTimestamp: x.optTimestamp(meta, 'creationTimestamp', metaPath),
      deletionTimestamp: x.optTimestamp(meta, 'deletionTimestamp', metaPath),
      labels: x.optStringMap(meta, 'labels', metaPath),
      annotations: x.optStringMap(meta, 'annotations', metaPath),
      finalizers: x.optStringArray(meta, 'finalizers', metaPath),
    });
  }
}

/** Copy of `obj` without the keys whose value is `undefined`. */
function withoutUndefined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** `status` of identities and bindings: `{availableReplicas?, metadata?}`. */
function readReplicaStatus(
  r: FieldReader,
  obj: JsonObject,
  path: string,
): { availableReplicas?: number; metadata?: JsonObject } | undefined {
  const status = r.optObject(obj, 'status', path);
  if (status === undefined) return undefined;
  const statusPath = join(path, 'status');
  return withoutUndefined({
    availableReplicas: r.optInteger(status, 'availableReplicas', statusPath),
    metadata: r.optObject(status, 'metadata', statusPath),
  });
}

function readSecretReference(r: FieldReader, spec: JsonObject, path: string): SecretReference | undefined {
  const ref = r.optObject(spec, 'clientPassword', path);
  if (ref === undefined) return undefined;
  const refPath = join(path, 'clientPassword');
  return withoutUndefined({ name: r.optString(ref, 'name', refPath), namespace: r.optString(ref, 'namespace', refPath) });
}

function readIdentity(r: FieldReader, value: unknown, path: string, embedded = false): AzureIdentity {
  const obj = r.object(value, path);
  const specPath = join(path, 'spec');
  const spec = r.optObject(obj, 'spec', path) ?? {};
  const auxiliary = lookup(spec, 'auxiliaryTenantIDs');
  const identitySpec: AzureIdentitySpec = withoutUndefined({
    type: r.optInteger(spec, 'type', specPath) ?? 0,
    resourceID: r.optString(spec, 'resourceID', specPath),
    clientID: r.optString(spec, 'clientID', specPath),
    clientPassword: readSecretReference(r, spec, specPath),
    tenantID: r.optString(spec, 'tenantID', specPath),
    auxiliaryTenantIDs: auxiliary === null ? null : r.optStringArray(spec, 'auxiliaryTenantIDs', specPath),
    adResourceID: r.optString(spec, 'adResourceID', specPath),
    adEndpoint: r.optString(spec, 'adEndpoint', specPath),
    replicas: r.nullableInteger(spec, 'replicas', specPath),
    metadata: r.optObject(spec, 'metadata', specPath),
  });
  return withoutUndefined({
    ...r.typeMeta(obj, 'AzureIdentity', path),
    metadata: r.metadata(obj, path, embedded),
    spec: identitySpec,
    status: readReplicaStatus(r, obj, path),
  });
}

function readBinding(r: FieldReader, value: unknown, path: string, embedded = false): AzureIdentityBinding {
  const obj = r.object(value, path);
  const specPath = join(path, 'spec');
  const spec = r.optObject(obj, 'spec', path) ?? {};
  return withoutUndefined({
    ...r.typeMeta(obj, 'AzureIdentityBinding', path),
    metadata: r.metadata(obj, path, embedded),
    spec: withoutUndefined({
      azureIdentity: r.optString(spec, 'azureIdentity', specPath) ?? '',
      selector: r.optString(spec, 'selector', specPath) ?? '',
      weight: r.optInteger(spec, 'weight', specPath),
      metadata: r.optObject(spec, 'metadata', specPath),
    }),
    status: readReplicaStatus(r, obj, path),
  });
}

function readAssignedStatus(r: FieldReader, obj: JsonObject): AzureAssignedIdentityStatus | undefined {
  const status = r.optObject(obj, 'status', '');
  if (status === undefined) return undefined;
  const state = r.optString(status, 'status', 'status');
  if (state !== undefined && !(ASSIGNED_STATES as readonly string[]).includes(state)) {
    r.fail('status.status', 'must be one of Created, Assigned, Unassigned or empty');
  }
  return withoutUndefined({
    status: state as AssignedIdentityState | undefined,
    availableReplicas: r.optInteger(status, 'availableReplicas', 'status'),
    metadata: r.optObject(status, 'metadata', 'status'),
  });
}

/** Validates and normalises an `AzureIdentity` (legacy field names accepted; missing `spec.type` = 0). */
export function parseAzureIdentity(obj: unknown): AzureIdentity {
  return readIdentity(new FieldReader('AzureIdentity'), obj, '');
}

/** Validates and normalises an `AzureIdentityBinding` (missing `azureIdentity`/`selector` = ''). */
export function parseAzureIdentityBinding(obj: unknown): AzureIdentityBinding {
  return readBinding(new FieldReader('AzureIdentityBinding'), obj, '');
}

/**
 * Validates and normalises an `AzureAssignedIdentity`, including its embedded identity and binding.
 * Embedded references are read leniently (a missing or nameless reference becomes an empty one) so a
 * damaged object is still seen, and then rewritten or deleted, instead of being ignored for ever.
 * A missing `status` stays absent (treat it like `status.status` = '').
 */
export function parseAzureAssignedIdentity(obj: unknown): AzureAssignedIdentity {
  const r = new FieldReader('AzureAssignedIdentity');
  const root = r.object(obj, '');
  const spec = r.optObject(root, 'spec', '') ?? {};
  const identityRef = lookup(spec, 'azureIdentityRef');
  const bindingRef = lookup(spec, 'azureBindingRef');
  return withoutUndefined({
    ...r.typeMeta(root, 'AzureAssignedIdentity', ''),
    metadata: r.metadata(root, ''),
    spec: withoutUndefined({
      azureIdentityRef: readIdentity(r, identityRef ?? {}, 'spec.azureIdentityRef', true),
      azureBindingRef: readBinding(r, bindingRef ?? {}, 'spec.azureBindingRef', true),
      pod: r.optString(spec, 'pod', 'spec') ?? '',
      podNamespace: r.optString(spec, 'podNamespace', 'spec') ?? '',
      nodename: r.optString(spec, 'nodename', 'spec') ?? '',
      replicas: r.nullableInteger(spec, 'replicas', 'spec'),
      metadata: r.optObject(spec, 'metadata', 'spec'),
    }),
    status: readAssignedStatus(r, root),
  });
}

/** Validates and normalises an `AzurePodIdentityException` (legacy `PodLabels` / `Status` accepted). */
export function parseAzurePodIdentityException(obj: unknown): AzurePodIdentityException {
  const r = new FieldReader('AzurePodIdentityException');
  const root = r.object(obj, '');
  const spec = r.optObject(root, 'spec', '') ?? {};
  const status = r.optObject(root, 'status', '');
  return withoutUndefined({
    ...r.typeMeta(root, 'AzurePodIdentityException', ''),
    metadata: r.metadata(root, ''),
    spec: withoutUndefined({ podLabels: r.optStringMap(spec, 'podLabels', 'spec') }),
    status: status === undefined ? undefined : withoutUndefined({ status: r.optString(status, 'status', 'status') }),
  });
}

/**
 * The parts of a Pod the controller reads, from raw JSON or a client-node `V1Pod` (whose
 * timestamps are `Date`s). `metadata.name` and `metadata.namespace` are required; an empty
 * `spec.nodeName` means "not scheduled" and is returned as `undefined`.
 */
export function parsePodInfo(obj: unknown): PodInfo {
  const r = new FieldReader('Pod', false);
  const root = r.object(obj, '');
  const meta = r.object(root.metadata ?? null, 'metadata');
  const spec = r.optObject(root, 'spec', '') ?? {};
  const status = r.optObject(root, 'status', '') ?? {};
  const nodeName = r.optString(spec, 'nodeName', 'spec');
  return withoutUndefined<PodInfo>({
    name: r.requiredName(meta, 'name', 'metadata'),
    namespace: r.requiredName(meta, 'namespace', 'metadata'),
    uid: r.optString(meta, 'uid', 'metadata'),
    nodeName: nodeName === '' ? undefined : nodeName,
    labels: r.optStringMap(meta, 'labels', 'metadata') ?? {},
    phase: r.optString(status, 'phase', 'status'),
    deletionTimestamp: r.optTimestamp(meta, 'deletionTimestamp', 'metadata'),
    creationTimestamp: r.optTimestamp(meta, 'creationTimestamp', 'metadata'),
    readinessGates: readReadinessGates(r, spec),
    identityReady: readIdentityReadyCondition(status),
  });
}

/** The identity-ready condition from `status.conditions`, read leniently (kubelet owns that list). */
function readIdentityReadyCondition(status: JsonObject): { status: string; reason?: string } | undefined {
  const conditions = status.conditions;
  if (!Array.isArray(conditions)) return undefined;
  for (const c of conditions) {
    if (c && typeof c === 'object' && (c as JsonObject).type === IDENTITY_READY_CONDITION) {
      const cond = c as JsonObject;
      return withoutUndefined({
        status: typeof cond.status === 'string' ? cond.status : 'Unknown',
        reason: typeof cond.reason === 'string' ? cond.reason : undefined,
      });
    }
  }
  return undefined;
}

/** `spec.readinessGates[].conditionType` of a Pod. */
function readReadinessGates(r: FieldReader, spec: JsonObject): string[] | undefined {
  const gates = spec.readinessGates;
  if (gates === undefined || gates === null) return undefined;
  if (!Array.isArray(gates)) r.fail('spec.readinessGates', 'must be an array');
  return gates.map((gate: unknown, i) => {
    const path = `spec.readinessGates[${i}]`;
    const conditionType = r.optString(r.object(gate, path), 'conditionType', path);
    if (conditionType === undefined) r.fail(`${path}.conditionType`, 'is required');
    return conditionType;
  });
}

/** The parts of a Node the controller reads (`metadata.name` required; `spec.providerID` as given). */
export function parseNodeInfo(obj: unknown): NodeInfo {
  const r = new FieldReader('Node', false);
  const root = r.object(obj, '');
  const meta = r.object(root.metadata ?? null, 'metadata');
  const spec = r.optObject(root, 'spec', '') ?? {};
  return withoutUndefined<NodeInfo>({
    name: r.requiredName(meta, 'name', 'metadata'),
    providerID: r.optString(spec, 'providerID', 'spec'),
  });
}
