/**
 * The four patch flavours the API server accepts: JSON merge patch (RFC 7386), JSON patch
 * (RFC 6902, with the `test` op), strategic merge patch (builtin kinds; the directives kubectl
 * emits) and a server-side-apply merge (good enough for `kubectl apply --server-side`).
 */
import { KubeStatusError, badRequest } from './errors.js';
import { clone, deepEqual, isPlainObject } from './objects.js';
import type { JsonSchema } from './schema.js';

/** RFC 7386 JSON merge patch; returns a new value. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** A JSON patch that parsed but could not be applied (the server answers 422). */
function applyFailed(message: string): KubeStatusError {
  return new KubeStatusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`, {
    causes: [{ reason: 'FieldValueInvalid', message }],
  });
}

function parsePointer(ptr: string): string[] {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw badRequest(`invalid JSON pointer: ${ptr}`);
  return ptr.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

interface Located {
  parent: unknown;
  key: string;
}

function locate(doc: unknown, tokens: string[], op: string, path: string): Located {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur) && /^\d+$/.test(t)) cur = cur[Number(t)];
    else if (isPlainObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw applyFailed(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
    if (cur === undefined) throw applyFailed(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  return { parent: cur, key: tokens[tokens.length - 1] as string };
}

function getAt(doc: unknown, ptr: string, op: string): unknown {
  let cur = doc;
  for (const t of parsePointer(ptr)) {
    if (Array.isArray(cur) && /^\d+$/.test(t) && Number(t) < cur.length) cur = cur[Number(t)];
    else if (isPlainObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw applyFailed(`${op} operation does not apply: doc is missing path: "${ptr}": missing value`);
  }
  return cur;
}

function addAt(doc: unknown, ptr: string, value: unknown, op: string): unknown {
  const tokens = parsePointer(ptr);
  if (tokens.length === 0) return value;
  const { parent, key } = locate(doc, tokens, op, ptr);
  if (Array.isArray(parent)) {
    const idx = key === '-' ? parent.length : Number(key);
    if (!/^\d+$/.test(key) && key !== '-') throw applyFailed(`${op} operation does not apply: invalid array index "${key}"`);
    if (idx > parent.length) throw applyFailed(`${op} operation does not apply: index out of bounds: ${idx}`);
    parent.splice(idx, 0, value);
  } else if (isPlainObject(parent)) {
    parent[key] = value;
  } else {
    throw applyFailed(`${op} operation does not apply: doc is missing path: "${ptr}"`);
  }
  return doc;
}

function removeAt(doc: unknown, ptr: string, op: string): unknown {
  const tokens = parsePointer(ptr);
  const { parent, key } = locate(doc, tokens, op, ptr);
  if (Array.isArray(parent) && /^\d+$/.test(key) && Number(key) < parent.length) return parent.splice(Number(key), 1)[0];
  if (isPlainObject(parent) && Object.hasOwn(parent, key)) {
    const v = parent[key];
    delete parent[key];
    return v;
  }
  throw applyFailed(`${op} operation does not apply: doc is missing key: ${ptr}: missing value`);
}

/** RFC 6902 JSON patch; throws 400 for a malformed patch and 422 when an op cannot apply. */
export function jsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = clone(target);
  for (const raw of patch) {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw badRequest('invalid JSON patch operation: missing op or path');
    const { op, path } = raw as { op: string; path: string };
    switch (op) {
      case 'add':
        doc = addAt(doc, path, clone(raw.value), op);
        break;
      case 'remove':
        removeAt(doc, path, op);
        break;
      case 'replace':
        getAt(doc, path, op);
        if (path === '') doc = clone(raw.value);
        else {
          removeAt(doc, path, op);
          doc = addAt(doc, path, clone(raw.value), op);
        }
        break;
      case 'move': {
        if (typeof raw.from !== 'string') throw badRequest('move operation missing from');
        const v = removeAt(doc, raw.from, op);
        doc = addAt(doc, path, v, op);
        break;
      }
      case 'copy': {
        if (typeof raw.from !== 'string') throw badRequest('copy operation missing from');
        doc = addAt(doc, path, clone(getAt(doc, raw.from, op)), op);
        break;
      }
      case 'test': {
        let actual: unknown;
        try {
          actual = getAt(doc, path, op);
        } catch {
          actual = undefined;
        }
        if (!deepEqual(actual, raw.value ?? null)) throw applyFailed(`testing value ${path} failed: test failed`);
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

/** Merge keys of lists in builtin kinds (`patchMergeKey` struct tags), by field name. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  ownerReferences: 'uid',
  conditions: 'type',
  secrets: 'name',
  addresses: 'type',
  resourceClaims: 'name',
};

/** Primitive lists merged as sets (`patchStrategy:"merge"` on a []string). */
const MERGE_PRIMITIVE_LISTS = new Set(['finalizers']);

/** How a list at a given field merges. */
interface ListStrategy {
  kind: 'replace' | 'map' | 'set';
  keys?: string[];
}

type ListStrategyFn = (field: string, schema: JsonSchema | undefined) => ListStrategy;

const builtinLists: ListStrategyFn = (field) => {
  if (MERGE_PRIMITIVE_LISTS.has(field)) return { kind: 'set' };
  const key = MERGE_KEYS[field];
  return key ? { kind: 'map', keys: [key] } : { kind: 'replace' };
};

const schemaLists: ListStrategyFn = (field, schema) => {
  if (field === 'finalizers') return { kind: 'set' };
  if (field === 'ownerReferences') return { kind: 'map', keys: ['uid'] };
  const listType = schema?.['x-kubernetes-list-type'];
  if (listType === 'set') return { kind: 'set' };
  if (listType === 'map') return { kind: 'map', keys: (schema?.['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [] };
  return { kind: 'replace' };
};

function sameKey(a: unknown, b: unknown, keys: string[]): boolean {
  return isPlainObject(a) && isPlainObject(b) && keys.every((k) => deepEqual(a[k], b[k]));
}

/** Strategic merge patch for builtin kinds (maps merge, keyed lists merge, `$patch`/`$retainKeys`/`$deleteFromPrimitiveList`). */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  return smpValue(target, patch, '');
}

function smpValue(target: unknown, patch: unknown, field: string): unknown {
  if (isPlainObject(patch)) return smpMap(isPlainObject(target) ? target : {}, patch);
  if (Array.isArray(patch)) return smpList(Array.isArray(target) ? target : [], patch, field);
  return clone(patch);
}

function smpMap(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return clone(rest);
  }
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const merged = smpValue(out[k], v, k);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }
  return out;
}

function smpList(target: unknown[], patch: unknown[], field: string): unknown[] {
  const strategy = builtinLists(field, undefined);
  if (patch.some((e) => isPlainObject(e) && e.$patch === 'replace')) {
    return clone(patch.filter((e) => !(isPlainObject(e) && e.$patch === 'replace')));
  }
  if (strategy.kind === 'set') {
    const out = [...target];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(clone(v));
    return out;
  }
  if (strategy.kind !== 'map' || !strategy.keys) return clone(patch);
  const keys = strategy.keys;
  const out = [...target];
  for (const el of patch) {
    if (!isPlainObject(el)) {
      out.push(clone(el));
      continue;
    }
    const idx = out.findIndex((x) => sameKey(x, el, keys));
    if (el.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = smpMap(out[idx] as Record<string, unknown>, el);
    else out.push(smpMap({}, el));
  }
  return out;
}

/**
 * Server-side apply, simplified: the applied configuration is merged into the live object (maps
 * recurse, keyed lists merge by key, other lists are replaced). Fields removed from a later applied
 * configuration are not removed, and no field-ownership conflicts are reported.
 */
export function applyMerge(live: unknown, applied: unknown, opts: { builtin: boolean; schema?: JsonSchema }): unknown {
  const lists = opts.builtin ? builtinLists : schemaLists;
  const walk = (target: unknown, patch: unknown, field: string, schema: JsonSchema | undefined): unknown => {
    if (isPlainObject(patch)) {
      const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
      for (const [k, v] of Object.entries(patch)) {
        const child = schema?.properties?.[k] ?? (isPlainObject(schema?.additionalProperties) ? schema?.additionalProperties : undefined);
        out[k] = walk(out[k], v, k, child);
      }
      return out;
    }
    if (Array.isArray(patch)) {
      const strategy = lists(field, schema);
      const base = Array.isArray(target) ? target : [];
      if (strategy.kind === 'set') {
        const out = [...base];
        for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(clone(v));
        return out;
      }
      if (strategy.kind === 'map' && strategy.keys && strategy.keys.length > 0) {
        const keys = strategy.keys;
        const out = [...base];
        for (const el of patch) {
          const idx = out.findIndex((x) => sameKey(x, el, keys));
          if (idx >= 0) out[idx] = walk(out[idx], el, '', schema?.items);
          else out.push(clone(el));
        }
        return out;
      }
      return clone(patch);
    }
    return clone(patch);
  };
  return walk(live, applied, '', opts.schema);
}

/** A rough `fieldsV1` set for a managedFields entry: every leaf path of the applied object. */
export function fieldsV1Of(obj: unknown): Record<string, unknown> {
  if (!isPlainObject(obj)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata' && isPlainObject(v)) {
      const meta: Record<string, unknown> = {};
      for (const mk of ['labels', 'annotations']) if (isPlainObject(v[mk])) meta[`f:${mk}`] = fieldsV1Of(v[mk]);
      if (Object.keys(meta).length > 0) out['f:metadata'] = meta;
      continue;
    }
    out[`f:${k}`] = isPlainObject(v) ? fieldsV1Of(v) : {};
  }
  return out;
}
