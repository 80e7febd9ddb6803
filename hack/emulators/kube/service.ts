/**
 * API semantics on top of the store, shared by the HTTP handlers and the direct controls:
 * decoding checks, validation, optimistic concurrency, generation, finalizers, namespaces, CRD
 * lifecycle, patches and paginated lists.
 */
import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import { isDns1123Subdomain } from './builtin-resources.js';
import { establishCrd, validateCrd } from './crd-resources.js';
import type { StatusBody, StatusCause } from './errors.js';
import { KubeStatusError, alreadyExists, badRequest, conflict, forbidden, invalid, notFound, unsupportedMediaType } from './errors.js';
import type { KubeObject, ObjectMetaJson } from './objects.js';
import { clone, deepEqual, getPath, isPlainObject, metaOf, rfc3339 } from './objects.js';
import { applyMerge, fieldsV1Of, jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import type { ResourceRegistry } from './registry.js';
import type { ResourceType } from './resource-type.js';
import { apiVersionOf } from './resource-type.js';
import { OBJECT_META_FIELDS, applySchema } from './schema.js';
import type { FieldSelector, LabelSelector } from './selectors.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { ObjectStore } from './store.js';
import { objectKey } from './store.js';

/** Storage bucket of CustomResourceDefinitions. */
export const CRD_STORAGE = 'apiextensions.k8s.io/customresourcedefinitions';
const NAMESPACE_STORAGE = 'core/namespaces';
/** Longest total size of annotations the real server accepts. */
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** `fieldValidation` query values. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Options common to writes. */
export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  fieldManager?: string;
  force?: boolean;
}

/** A successful write. */
export interface WriteResult {
  /** The object in the requested view. */
  obj: KubeObject;
  warnings: string[];
  /** True when the write created the object (POST, or apply of a missing object). */
  created: boolean;
}

/** List parameters. */
export interface ListQuery {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
  resourceVersion?: string | null;
  resourceVersionMatch?: string | null;
}

/** A list page. */
export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** A delete's HTTP answer. */
export interface DeleteResult {
  code: number;
  body: KubeObject | StatusBody;
}

/** A compiled object filter (namespace, name, label and field selectors). */
export type ObjectMatcher = (stored: KubeObject) => boolean;

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NAME_SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_SUFFIX_CHARS[Math.floor(Math.random() * NAME_SUFFIX_CHARS.length)];
  return s;
}

/** Checks Go's `time.Parse(RFC3339Micro)`: exactly six fractional digits. Returns the Go error or undefined. */
export function microTimeError(value: string): string | undefined {
  const layout = '2006-01-02T15:04:05.000000Z07:00';
  const head = value.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
  if (!head) return `parsing time "${value}" as "${layout}": cannot parse "${value}" as "2006"`;
  const rest = value.slice(head[0].length);
  if (!/^\.\d{6}/.test(rest)) return `parsing time "${value}" as "${layout}": cannot parse "${rest}" as ".000000"`;
  const zone = rest.slice(7);
  if (!/^(Z|[+-]\d{2}:\d{2})$/.test(zone)) return `parsing time "${value}" as "${layout}": cannot parse "${zone}" as "Z07:00"`;
  return undefined;
}

function timeError(value: string): string | undefined {
  const layout = '2006-01-02T15:04:05Z07:00';
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value))) return undefined;
  return `parsing time "${value}" as "${layout}": cannot parse "${value}" as "2006"`;
}

/** See module comment. */
export class ResourceService {
  /** Called after a CRD and its objects are gone, with the storage bucket that vanished. */
  onStorageRemoved: (storage: string) => void = () => undefined;

  constructor(
    readonly store: ObjectStore,
    readonly registry: ResourceRegistry,
    private readonly now: () => number = Date.now,
  ) {}

  // ---------- views ----------

  /** The stored object as seen through `rt` (apiVersion/kind set). */
  toView(rt: ResourceType, stored: KubeObject): KubeObject {
    const v = rt.toView ? rt.toView(stored) : stored;
    return v.apiVersion === apiVersionOf(rt) && v.kind === rt.kind ? v : { ...v, apiVersion: apiVersionOf(rt), kind: rt.kind };
  }

  private toStorage(rt: ResourceType, obj: KubeObject): KubeObject {
    return rt.fromView ? rt.fromView(obj) : obj;
  }

  // ---------- reads ----------

  /** GET of one object (view form); 404 when missing. */
  get(rt: ResourceType, namespace: string, name: string): KubeObject {
    const stored = this.store.get(rt.storage, namespace, name);
    if (!stored) throw notFound(rt, name);
    return this.toView(rt, stored);
  }

  /** Compiles selectors into a matcher over stored objects; 400 on bad syntax or unsupported field labels. */
  matcher(rt: ResourceType, namespace: string | undefined, labelSelector?: string | null, fieldSelector?: string | null): ObjectMatcher {
    const labels: LabelSelector = parseLabelSelector(labelSelector);
    const fields: FieldSelector = parseFieldSelector(fieldSelector);
    for (const f of fields) {
      if (f.field !== 'metadata.name' && f.field !== 'metadata.namespace' && !rt.fieldLabels[f.field]) {
        throw badRequest(`field label not supported: ${f.field}`);
      }
    }
    const getField = (o: KubeObject) => (field: string): string | undefined => {
      if (field === 'metadata.name') return metaOf(o).name;
      if (field === 'metadata.namespace') return metaOf(o).namespace ?? '';
      return rt.fieldLabels[field]?.(o);
    };
    return (o) => {
      const meta = metaOf(o);
      if (namespace !== undefined && (meta.namespace ?? '') !== namespace) return false;
      return matchesLabels(labels, meta.labels) && matchesFields(fields, getField(o));
    };
  }

  /** LIST with selectors, `limit`/`continue` pagination and resourceVersion semantics. */
  list(rt: ResourceType, namespace: string | undefined, q: ListQuery): ListResult {
    const match = this.matcher(rt, namespace, q.labelSelector, q.fieldSelector);
    let listRV = this.store.currentRV();
    let startAfter: string | undefined;
    let objs: KubeObject[];
    if (q.continue) {
      const token = decodeContinue(q.continue);
      listRV = token.rv;
      startAfter = token.start;
      objs = this.store.listAt(rt.storage, listRV, namespace);
    } else if (q.resourceVersion && q.resourceVersion !== '0') {
      const rv = parseRV(q.resourceVersion);
      if (rv > this.store.currentRV()) {
        throw new KubeStatusError(504, 'Timeout', `Too large resource version: ${rv}, current: ${this.store.currentRV()}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      }
      if (q.resourceVersionMatch === 'Exact') listRV = rv;
      objs = this.store.listAt(rt.storage, listRV, namespace);
    } else {
      objs = this.store.list(rt.storage, namespace);
    }
    const items: KubeObject[] = [];
    const limit = q.limit && q.limit > 0 ? q.limit : Infinity;
    let lastKey = '';
    let remaining = 0;
    for (const o of objs) {
      const key = objectKey(metaOf(o).namespace ?? '', metaOf(o).name ?? '');
      if (startAfter !== undefined && key <= startAfter) continue;
      if (!match(o)) continue;
      if (items.length < limit) {
        items.push(o);
        lastKey = key;
      } else remaining++;
    }
    const result: ListResult = { items: items.map((o) => this.toView(rt, o)), resourceVersion: String(listRV) };
    if (remaining > 0) {
      result.continue = encodeContinue(listRV, lastKey);
      if (!q.labelSelector && !q.fieldSelector) result.remainingItemCount = remaining;
    }
    return result;
  }

  // ---------- writes ----------

  /** POST: creates an object in `namespace` (ignored for cluster-scoped kinds). */
  create(rt: ResourceType, namespace: string, body: unknown, opts: WriteOptions = {}, managedFields?: unknown[]): WriteResult {
    const { obj, warnings } = this.decode(rt, body, opts);
    const meta = metaOf(obj);
    this.checkNamespace(rt, namespace, meta);
    if (meta.resourceVersion) {
      throw new KubeStatusError(500, 'InternalError', 'Internal error occurred: resourceVersion should not be set on objects to be created');
    }
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    this.validate(rt, obj, undefined);
    if (rt.namespaced) this.requireLiveNamespace(namespace);
    const name = meta.name as string;
    if (this.store.get(rt.storage, rt.namespaced ? namespace : '', name)) throw alreadyExists(rt, name);
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339(this.now());
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (managedFields) meta.managedFields = managedFields;
    else delete meta.managedFields;
    if (rt.hasGeneration) meta.generation = 1;
    else delete meta.generation;
    if (rt.storage === CRD_STORAGE) establishCrd(obj, rfc3339(this.now()));
    if (opts.dryRun) return { obj: this.toView(rt, obj), warnings, created: true };
    const stored = this.store.put(rt.storage, this.toStorage(rt, obj));
    if (rt.storage === CRD_STORAGE) this.registry.registerCrd(stored);
    return { obj: this.toView(rt, stored), warnings, created: true };
  }

  /** PUT of the object or of its `status` subresource. */
  update(rt: ResourceType, namespace: string, name: string, body: unknown, opts: WriteOptions = {}, subresource?: string): WriteResult {
    const existingStored = this.store.get(rt.storage, rt.namespaced ? namespace : '', name);
    if (!existingStored) throw notFound(rt, name);
    return this.updateExisting(rt, namespace, name, existingStored, body, opts, subresource);
  }

  /** PATCH (json, merge, strategic, apply) of the object or of its `status` subresource. */
  patch(rt: ResourceType, namespace: string, name: string, contentType: string, rawBody: string, opts: WriteOptions = {}, subresource?: string): WriteResult {
    const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    const accepted = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
    if (rt.builtin) accepted.push('application/strategic-merge-patch+json');
    if (!accepted.includes(type)) throw unsupportedMediaType(contentType, accepted);
    const ns = rt.namespaced ? namespace : '';
    const existingStored = this.store.get(rt.storage, ns, name);
    if (type === 'application/apply-patch+yaml') return this.apply(rt, namespace, name, rawBody, existingStored, opts, subresource);
    if (!existingStored) throw notFound(rt, name);
    let patch: unknown;
    try {
      patch = JSON.parse(rawBody);
    } catch (e) {
      throw new KubeStatusError(400, 'BadRequest', `error decoding patch: ${(e as Error).message}`, undefined, { cause: e });
    }
    const current = clone(this.toView(rt, existingStored));
    let patched: unknown;
    if (type === 'application/json-patch+json') patched = jsonPatch(current, patch);
    else if (type === 'application/merge-patch+json') {
      if (!isPlainObject(patch)) throw badRequest('error decoding patch: merge patch must be a JSON object');
      patched = mergePatch(current, patch);
    } else {
      if (!isPlainObject(patch)) throw badRequest('error decoding patch: strategic merge patch must be a JSON object');
      patched = strategicMergePatch(current, patch);
    }
    return this.updateExisting(rt, namespace, name, existingStored, patched, opts, subresource);
  }

  private apply(rt: ResourceType, namespace: string, name: string, rawBody: string, existingStored: KubeObject | undefined, opts: WriteOptions, subresource?: string): WriteResult {
    if (!opts.fieldManager) throw badRequest('PATCH /apply requires a fieldManager: fieldManager: Required value: is required for apply patch');
    let applied: unknown;
    try {
      applied = YAML.parse(rawBody);
    } catch (e) {
      throw new KubeStatusError(400, 'BadRequest', `error decoding YAML: ${(e as Error).message}`, undefined, { cause: e });
    }
    if (!isPlainObject(applied)) throw badRequest('invalid object: apply patch must be an object');
    if (applied.apiVersion !== apiVersionOf(rt)) throw badRequest(`invalid object type: apiVersion ${JSON.stringify(applied.apiVersion ?? '')} does not match ${apiVersionOf(rt)}`);
    if (applied.kind !== rt.kind) throw badRequest(`invalid object type: kind ${JSON.stringify(applied.kind ?? '')} does not match ${rt.kind}`);
    const appliedMeta = metaOf(applied);
    if (appliedMeta.managedFields !== undefined) throw badRequest('metadata.managedFields must be nil');
    if (appliedMeta.name !== undefined && appliedMeta.name !== name) throw badRequest(`the name of the object (${String(appliedMeta.name)}) does not match the name on the URL (${name})`);
    const entry = {
      manager: opts.fieldManager,
      operation: 'Apply',
      apiVersion: apiVersionOf(rt),
      time: rfc3339(this.now()),
      fieldsType: 'FieldsV1',
      fieldsV1: fieldsV1Of(applied),
      ...(subresource ? { subresource } : {}),
    };
    if (!existingStored) {
      if (subresource) throw notFound(rt, name);
      const body = clone(applied);
      metaOf(body).name = name;
      return this.create(rt, namespace, body, opts, [entry]);
    }
    const current = this.toView(rt, existingStored);
    const merged = applyMerge(current, applied, { builtin: rt.builtin, ...(rt.schema ? { schema: rt.schema } : {}) }) as KubeObject;
    const others = ((metaOf(current).managedFields as Record<string, unknown>[] | undefined) ?? []).filter((m) => !(m.manager === opts.fieldManager && m.operation === 'Apply'));
    metaOf(merged).managedFields = [...others, entry];
    return this.updateExisting(rt, namespace, name, existingStored, merged, opts, subresource, true);
  }

  private updateExisting(
    rt: ResourceType,
    namespace: string,
    name: string,
    existingStored: KubeObject,
    body: unknown,
    opts: WriteOptions,
    subresource?: string,
    keepManagedFields = false,
  ): WriteResult {
    const existing = this.toView(rt, existingStored);
    const { obj, warnings } = this.decode(rt, body, opts);
    const meta = metaOf(obj);
    const oldMeta = metaOf(existing);
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
    }
    meta.name = name;
    this.checkNamespace(rt, namespace, meta);
    if (meta.resourceVersion && meta.resourceVersion !== oldMeta.resourceVersion) throw conflict(rt, name);
    if (meta.uid && meta.uid !== oldMeta.uid) {
      throw conflict(rt, name, `Precondition failed: UID in precondition: ${String(meta.uid)}, UID in object meta: ${String(oldMeta.uid)}`);
    }
    let next: KubeObject;
    if (subresource === 'status') {
      next = clone(existing);
      if (obj.status === undefined) delete next.status;
      else next.status = obj.status;
    } else {
      next = obj;
      if (rt.statusSubresource) {
        if (existing.status === undefined) delete next.status;
        else next.status = clone(existing.status);
      }
      const nm = metaOf(next);
      for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
        if (oldMeta[k] === undefined) delete nm[k];
        else (nm as Record<string, unknown>)[k] = oldMeta[k];
      }
      if (!keepManagedFields) {
        if (oldMeta.managedFields === undefined) delete nm.managedFields;
        else nm.managedFields = oldMeta.managedFields;
      }
      if (oldMeta.deletionTimestamp) {
        const before = new Set(oldMeta.finalizers ?? []);
        const added = (nm.finalizers ?? []).filter((f) => !before.has(f));
        if (added.length > 0) {
          throw invalid(rt.kind, rt.group, name, [{
            reason: 'FieldValueForbidden',
            field: 'metadata.finalizers',
            message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
          }]);
        }
      }
    }
    const nextMeta = metaOf(next);
    nextMeta.resourceVersion = oldMeta.resourceVersion;
    nextMeta.namespace = oldMeta.namespace;
    if (nextMeta.namespace === undefined) delete nextMeta.namespace;
    if (rt.storage === CRD_STORAGE) establishCrd(next, rfc3339(this.now()));
    this.validate(rt, next, existing);
    if (rt.hasGeneration && this.specChanged(rt, existing, next)) nextMeta.generation = (typeof oldMeta.generation === 'number' ? oldMeta.generation : 0) + 1;
    const nextStored = this.toStorage(rt, next);
    if (deepEqual(nextStored, existingStored)) return { obj: existing, warnings, created: false };
    if (opts.dryRun) return { obj: this.toView(rt, nextStored), warnings, created: false };
    if (nextMeta.deletionTimestamp && (nextMeta.finalizers ?? []).length === 0) {
      const last = this.store.put(rt.storage, nextStored);
      this.removeNow(rt, last);
      return { obj: this.toView(rt, last), warnings, created: false };
    }
    const stored = this.store.put(rt.storage, nextStored);
    if (rt.storage === CRD_STORAGE) this.registry.registerCrd(stored);
    return { obj: this.toView(rt, stored), warnings, created: false };
  }

  private specChanged(rt: ResourceType, a: KubeObject, b: KubeObject): boolean {
    const strip = (o: KubeObject): KubeObject => {
      const { metadata: _m, status, ...rest } = o;
      return rt.statusSubresource ? rest : { ...rest, status };
    };
    return !deepEqual(strip(a), strip(b)) || metaOf(a).deletionTimestamp !== metaOf(b).deletionTimestamp;
  }

  /** DELETE of one object: marks it when finalizers remain, else removes it. */
  delete(rt: ResourceType, namespace: string, name: string, options: unknown, opts: WriteOptions = {}): DeleteResult {
    const ns = rt.namespaced ? namespace : '';
    const stored = this.store.get(rt.storage, ns, name);
    if (!stored) throw notFound(rt, name);
    const meta = metaOf(stored);
    const pre = isPlainObject(options) && isPlainObject(options.preconditions) ? options.preconditions : {};
    if (typeof pre.uid === 'string' && pre.uid !== meta.uid) throw conflict(rt, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(meta.uid)}`);
    if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== meta.resourceVersion) {
      throw conflict(rt, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`);
    }
    if (rt.storage === NAMESPACE_STORAGE && !opts.dryRun) return this.deleteNamespace(rt, stored);
    if ((meta.finalizers ?? []).length > 0) {
      if (meta.deletionTimestamp || opts.dryRun) return { code: 200, body: this.toView(rt, stored) };
      const marked: KubeObject = { ...stored, metadata: { ...meta, deletionTimestamp: rfc3339(this.now()), deletionGracePeriodSeconds: 0 } };
      if (rt.hasGeneration) metaOf(marked).generation = (typeof meta.generation === 'number' ? meta.generation : 0) + 1;
      return { code: 200, body: this.toView(rt, this.store.put(rt.storage, marked)) };
    }
    if (!opts.dryRun) this.removeNow(rt, stored);
    return { code: 200, body: successStatus(rt, name, meta.uid) };
  }

  /** DELETE of a collection: deletes every matching object, returns the (pre-delete) list. */
  deleteCollection(rt: ResourceType, namespace: string | undefined, q: ListQuery, opts: WriteOptions = {}): KubeObject[] {
    const { items } = this.list(rt, namespace, { labelSelector: q.labelSelector ?? null, fieldSelector: q.fieldSelector ?? null });
    for (const item of items) {
      const m = metaOf(item);
      try {
        this.delete(rt, m.namespace ?? '', m.name ?? '', undefined, opts);
      } catch {
        // already gone: a delete collection tolerates concurrent deletes
      }
    }
    return items;
  }

  /** Removes an object now (no finalizers considered), with CRD and namespace side effects. */
  removeNow(rt: ResourceType, stored: KubeObject): KubeObject | undefined {
    const meta = metaOf(stored);
    const ns = meta.namespace ?? '';
    if (rt.storage === CRD_STORAGE) this.dropCrdObjects(stored);
    const last = this.store.remove(rt.storage, ns, meta.name ?? '');
    if (rt.storage === CRD_STORAGE) this.registry.unregisterCrd(meta.name ?? '');
    if (ns) this.maybeFinalizeNamespace(ns);
    return last;
  }

  private dropCrdObjects(crd: KubeObject): void {
    const group = String(getPath(crd, 'spec.group') ?? '');
    const plural = String(getPath(crd, 'spec.names.plural') ?? '');
    const storage = `crd:${group}/${plural}`;
    for (const o of this.store.list(storage)) this.store.remove(storage, metaOf(o).namespace ?? '', metaOf(o).name ?? '');
    this.onStorageRemoved(storage);
  }

  private deleteNamespace(rt: ResourceType, stored: KubeObject): DeleteResult {
    const meta = metaOf(stored);
    const name = meta.name ?? '';
    let current = stored;
    if (!meta.deletionTimestamp) {
      current = this.store.put(rt.storage, {
        ...stored,
        metadata: { ...meta, deletionTimestamp: rfc3339(this.now()), deletionGracePeriodSeconds: 0 },
        status: { ...(isPlainObject(stored.status) ? stored.status : {}), phase: 'Terminating' },
      });
      for (const t of this.namespacedTypes()) {
        for (const o of this.store.list(t.storage, name)) {
          try {
            this.delete(t, name, metaOf(o).name ?? '', undefined);
          } catch {
            // concurrently removed
          }
        }
      }
    }
    const after = this.store.get(rt.storage, '', name) ?? current;
    this.maybeFinalizeNamespace(name);
    return { code: 200, body: this.toView(rt, after) };
  }

  private namespacedTypes(): ResourceType[] {
    const seen = new Set<string>();
    return this.registry.all().filter((t) => t.namespaced && !seen.has(t.storage) && seen.add(t.storage));
  }

  private maybeFinalizeNamespace(name: string): void {
    const ns = this.store.get(NAMESPACE_STORAGE, '', name);
    if (!ns || !metaOf(ns).deletionTimestamp) return;
    if (this.namespacedTypes().some((t) => this.store.list(t.storage, name).length > 0)) return;
    this.store.remove(NAMESPACE_STORAGE, '', name);
  }

  // ---------- decoding and validation ----------

  /**
   * Decoding as the server's JSON decoder would see the body: type checks that answer 400,
   * MicroTime/Time parsing, and unknown-field handling (`fieldValidation`). Returns a fresh copy.
   */
  private decode(rt: ResourceType, body: unknown, opts: WriteOptions): { obj: KubeObject; warnings: string[] } {
    const cannot = (why: string) => badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${why}`);
    if (!isPlainObject(body)) throw badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: json: cannot unmarshal into Go value of type struct`);
    const obj = clone(body);
    const expectedApiVersion = apiVersionOf(rt);
    if (obj.apiVersion !== undefined && obj.apiVersion !== expectedApiVersion && !(rt.fromView === undefined && this.isSameGroupOtherVersion(rt, obj.apiVersion))) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${expectedApiVersion})`);
    }
    if (obj.kind !== undefined && obj.kind !== rt.kind) throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${rt.kind})`);
    obj.apiVersion = expectedApiVersion;
    obj.kind = rt.kind;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isPlainObject(obj.metadata)) throw cannot('json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta');
    const meta = metaOf(obj);
    for (const field of ['labels', 'annotations'] as const) {
      const m = meta[field];
      if (m === undefined || m === null) continue;
      if (!isPlainObject(m)) throw cannot(`json: cannot unmarshal ${Array.isArray(m) ? 'array' : typeof m} into Go struct field ObjectMeta.metadata.${field} of type map[string]string`);
      for (const v of Object.values(m)) {
        if (typeof v !== 'string') throw cannot(`json: cannot unmarshal ${v === null ? 'null' : typeof v} into Go struct field ObjectMeta.metadata.${field} of type string`);
      }
    }
    for (const path of rt.microTimeFields) {
      const v = getPath(obj, path);
      if (v === undefined || v === null) continue;
      const err = typeof v === 'string' ? microTimeError(v) : 'json: cannot unmarshal non-string into Go value of type MicroTime';
      if (err) throw cannot(err);
    }
    for (const path of rt.timeFields) {
      const v = getPath(obj, path);
      if (v === undefined || v === null) continue;
      const err = typeof v === 'string' ? timeError(v) : 'json: cannot unmarshal non-string into Go value of type Time';
      if (err) throw cannot(err);
    }
    let unknown: string[];
    if (rt.schema) {
      const res = applySchema(obj, rt.schema);
      unknown = res.unknownFields;
      if (res.causes.length > 0) throw invalid(rt.kind, rt.group, String(meta.name ?? meta.generateName ?? ''), res.causes);
    } else {
      unknown = [];
      for (const k of Object.keys(meta)) {
        if (!OBJECT_META_FIELDS.has(k)) {
          delete meta[k];
          unknown.push(`metadata.${k}`);
        }
      }
      if (rt.knownFields) {
        for (const k of Object.keys(obj)) {
          if (!rt.knownFields.has(k)) {
            delete obj[k];
            unknown.push(k);
          }
        }
      }
    }
    const validation = opts.fieldValidation ?? 'Warn';
    if (unknown.length > 0 && validation === 'Strict') {
      throw badRequest(`strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`);
    }
    const warnings = validation === 'Warn' ? unknown.map((u) => `unknown field "${u}"`) : [];
    return { obj, warnings };
  }

  private isSameGroupOtherVersion(rt: ResourceType, apiVersion: unknown): boolean {
    if (typeof apiVersion !== 'string' || !rt.crdName) return false;
    return apiVersion.startsWith(`${rt.group}/`) && this.registry.all().some((t) => t.storage === rt.storage && apiVersionOf(t) === apiVersion);
  }

  private checkNamespace(rt: ResourceType, namespace: string, meta: ObjectMetaJson): void {
    if (!rt.namespaced) {
      delete meta.namespace;
      return;
    }
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.namespace = namespace;
  }

  private requireLiveNamespace(namespace: string): void {
    const ns = this.store.get(NAMESPACE_STORAGE, '', namespace);
    if (!ns) throw notFound({ group: '', plural: 'namespaces' }, namespace);
    if (metaOf(ns).deletionTimestamp) {
      throw forbidden(`${'unable to create new content in namespace'} ${namespace} because it is being terminated`, {
        name: namespace,
        kind: 'namespaces',
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
      });
    }
  }

  /** ObjectMeta validation plus the kind's own rules; throws 422 Invalid. */
  private validate(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined): void {
    const meta = metaOf(obj);
    const causes: StatusCause[] = [];
    if (!meta.name) {
      causes.push({ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' });
    } else if (rt.storage === NAMESPACE_STORAGE ? !(meta.name.length <= 63 && DNS1123_LABEL.test(meta.name)) : !isDns1123Subdomain(meta.name)) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message: `Invalid value: "${meta.name}": a lowercase RFC 1123 ${rt.storage === NAMESPACE_STORAGE ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      });
    }
    for (const [k, v] of Object.entries(meta.labels ?? {})) {
      if (!QUALIFIED_NAME.test(k) || k.split('/').pop()!.length > 63) causes.push({ reason: 'FieldValueInvalid', field: 'metadata.labels', message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
      if (v.length > 63 || !LABEL_VALUE.test(v)) causes.push({ reason: 'FieldValueInvalid', field: 'metadata.labels', message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
    }
    let annotationBytes = 0;
    for (const [k, v] of Object.entries(meta.annotations ?? {})) {
      if (!QUALIFIED_NAME.test(k.toLowerCase())) causes.push({ reason: 'FieldValueInvalid', field: 'metadata.annotations', message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
      annotationBytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    }
    if (annotationBytes > MAX_ANNOTATIONS_BYTES) causes.push({ reason: 'FieldValueTooLong', field: 'metadata.annotations', message: `Too long: may not be more than ${MAX_ANNOTATIONS_BYTES} bytes` });
    for (const [i, f] of (meta.finalizers ?? []).entries()) {
      if (typeof f !== 'string' || !QUALIFIED_NAME.test(f)) causes.push({ reason: 'FieldValueInvalid', field: `metadata.finalizers[${i}]`, message: `Invalid value: ${JSON.stringify(f)}: name part must consist of alphanumeric characters` });
    }
    if (rt.storage === CRD_STORAGE) causes.push(...validateCrd(obj));
    if (rt.validate) causes.push(...rt.validate(obj, { ...(old ? { old } : {}), isCreate: old === undefined }));
    if (rt.prepare) rt.prepare(obj);
    if (causes.length > 0) throw invalid(rt.kind, rt.group, String(meta.name ?? ''), causes);
  }
}

function successStatus(rt: ResourceType, name: string, uid: unknown): StatusBody {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, ...(rt.group ? { group: rt.group } : {}), kind: rt.plural, ...(typeof uid === 'string' ? { uid } : {}) },
    code: 200,
  };
}

function parseRV(value: string): number {
  if (!/^\d+$/.test(value)) throw badRequest(`resourceVersion: Invalid value: "${value}": strconv.ParseUint: parsing "${value}": invalid syntax`);
  return Number(value);
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: string; rv?: unknown; start?: unknown };
    if (parsed.v === 'meta.k8s.io/v1' && typeof parsed.rv === 'number' && typeof parsed.start === 'string') return { rv: parsed.rv, start: parsed.start };
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}
