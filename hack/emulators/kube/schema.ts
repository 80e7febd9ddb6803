/**
 * Structural-schema handling for custom resources, as the API server does it on every write:
 * defaulting, pruning of unknown fields (unless `x-kubernetes-preserve-unknown-fields`), type and
 * `required` validation, a few value constraints, and `x-kubernetes-embedded-resource` checks.
 */
import type { StatusCause } from './errors.js';
import { isPlainObject } from './objects.js';

/** The subset of an OpenAPI v3 schema a structural CRD schema uses. */
export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
  nullable?: boolean;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  format?: string;
  description?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [key: string]: unknown;
}

/** ObjectMeta fields kept at the root of every object (anything else in `metadata` is dropped). */
export const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers',
  'managedFields',
]);

/** ObjectMeta fields kept inside an embedded resource. */
// The apiserver coerces embedded metadata through metav1.ObjectMeta: every ObjectMeta field survives
// (upstream MIC relies on the embedded resourceVersion), unknown ones are dropped.
const EMBEDDED_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

/** Result of {@link applySchema}. */
export interface SchemaResult {
  causes: StatusCause[];
  /** Dotted paths of dropped unknown fields. */
  unknownFields: string[];
}

/**
 * Defaults, prunes and validates `obj` (mutated in place) against the root schema of a CR version.
 * Root `apiVersion`/`kind` are kept; `metadata` is reduced to ObjectMeta fields.
 */
export function applySchema(obj: Record<string, unknown>, schema: JsonSchema | undefined): SchemaResult {
  const result: SchemaResult = { causes: [], unknownFields: [] };
  pruneMetadata(obj, OBJECT_META_FIELDS, 'metadata', result);
  if (!schema) return result;
  const rootSchema: JsonSchema = {
    ...schema,
    type: 'object',
    properties: { ...(schema.properties ?? {}), apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
  };
  walkObject(obj, rootSchema, '', result);
  return result;
}

function pruneMetadata(obj: Record<string, unknown>, keep: Set<string>, path: string, result: SchemaResult): void {
  const meta = obj.metadata;
  if (!isPlainObject(meta)) return;
  for (const key of Object.keys(meta)) {
    if (!keep.has(key)) {
      delete meta[key];
      result.unknownFields.push(`${path}.${key}`);
    }
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'null';
}

function typeMatches(v: unknown, s: JsonSchema): boolean {
  if (s['x-kubernetes-int-or-string']) return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
  switch (s.type) {
    case undefined:
      return true;
    case 'object':
      return isPlainObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

/** Validates one value (a wrong type is reported once and its children are skipped). */
function walkValue(v: unknown, s: JsonSchema, path: string, result: SchemaResult): void {
  if (v === null) {
    if (!s.nullable && s.type !== undefined) {
      result.causes.push({ reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: "null": ${path} in body must be of type ${s.type}: "null"` });
    }
    return;
  }
  if (!typeMatches(v, s)) {
    const expected = s['x-kubernetes-int-or-string'] ? 'integer,string' : String(s.type);
    result.causes.push({
      reason: 'FieldValueTypeInvalid',
      field: path,
      message: `Invalid value: "${typeName(v)}": ${path} in body must be of type ${expected}: "${typeName(v)}"`,
    });
    return;
  }
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
    result.causes.push({ reason: 'FieldValueNotSupported', field: path, message: `Unsupported value: ${show(v)}: supported values: ${s.enum.map(show).join(', ')}` });
  }
  if (typeof v === 'number') checkNumber(v, s, path, result);
  if (typeof v === 'string') checkString(v, s, path, result);
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) result.causes.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${v.length}: ${path} in body should have at least ${s.minItems} items` });
    if (s.maxItems !== undefined && v.length > s.maxItems) result.causes.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${v.length}: must have at most ${s.maxItems} items` });
    if (s.items) v.forEach((item, i) => walkValue(item, s.items as JsonSchema, `${path}[${i}]`, result));
  }
  if (isPlainObject(v)) walkObject(v, s, path, result);
}

function checkNumber(v: number, s: JsonSchema, path: string, result: SchemaResult): void {
  if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) {
    result.causes.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${v}: ${path} in body should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${s.minimum}` });
  }
  if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) {
    result.causes.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${v}: ${path} in body should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${s.maximum}` });
  }
}

function checkString(v: string, s: JsonSchema, path: string, result: SchemaResult): void {
  if (s.minLength !== undefined && v.length < s.minLength) result.causes.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(v)}: ${path} in body should be at least ${s.minLength} chars long` });
  if (s.maxLength !== undefined && v.length > s.maxLength) result.causes.push({ reason: 'FieldValueTooLong', field: path, message: `Too long: may not be more than ${s.maxLength} bytes` });
  if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v)) result.causes.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(v)}: ${path} in body should match '${s.pattern}'` });
}

function walkObject(v: Record<string, unknown>, s: JsonSchema, path: string, result: SchemaResult): void {
  const props = s.properties ?? {};
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  if (s['x-kubernetes-embedded-resource']) {
    for (const key of ['apiVersion', 'kind']) {
      if (typeof v[key] !== 'string' || v[key] === '') result.causes.push({ reason: 'FieldValueRequired', field: join(path, key), message: 'Required value: must not be empty' });
    }
    pruneMetadata(v, EMBEDDED_META_FIELDS, join(path, 'metadata'), result);
  }
  for (const [key, propSchema] of Object.entries(props)) {
    if (v[key] === undefined && propSchema.default !== undefined) v[key] = structuredClone(propSchema.default);
    else if (v[key] === null && !propSchema.nullable && propSchema.default !== undefined) v[key] = structuredClone(propSchema.default);
  }
  for (const key of Object.keys(v)) {
    const child = join(path, key);
    const propSchema = props[key];
    if (s['x-kubernetes-embedded-resource'] && key === 'metadata') {
      // Embedded ObjectMeta was pruned to its known fields above; its schema (usually a bare
      // `type: object`) must not prune it again, exactly as the real apiserver behaves.
    } else if (propSchema) {
      walkValue(v[key], propSchema, child, result);
    } else if (isPlainObject(s.additionalProperties)) {
      walkValue(v[key], s.additionalProperties, child, result);
    } else if (s.additionalProperties === true || preserve || (s['x-kubernetes-embedded-resource'] && ['apiVersion', 'kind', 'metadata'].includes(key))) {
      // kept as is
    } else {
      delete v[key];
      result.unknownFields.push(child);
    }
  }
  for (const key of s.required ?? []) {
    if (v[key] === undefined) result.causes.push({ reason: 'FieldValueRequired', field: join(path, key), message: 'Required value' });
  }
}
