/**
 * CustomResourceDefinition handling: validation of a CRD as apiextensions does it, its server-set
 * status, and the {@link ResourceType}s (one per served version) it defines.
 */
import type { StatusCause } from './errors.js';
import type { KubeObject } from './objects.js';
import { getPath, isPlainObject, metaOf } from './objects.js';
import type { ResourceType, TableColumn } from './resource-type.js';
import { STANDARD_VERBS, ageColumn, ageOf, nameColumn } from './resource-type.js';
import type { JsonSchema } from './schema.js';

/** Annotation required on CRDs in protected (`*.k8s.io`, `*.kubernetes.io`) groups. */
export const API_APPROVED_ANNOTATION = 'api-approved.kubernetes.io';

interface CrdNames {
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  shortNames: string[];
  categories: string[];
}

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: JsonSchema };
  subresources?: { status?: unknown };
  additionalPrinterColumns?: { name: string; type: string; jsonPath: string; description?: string; priority?: number; format?: string }[];
  selectableFields?: { jsonPath: string }[];
}

function isProtectedGroup(group: string): boolean {
  return ['k8s.io', 'kubernetes.io'].some((g) => group === g || group.endsWith(`.${g}`));
}

/** The CRD's names with the server's defaults (singular = lower-case kind, listKind = kind + List). */
export function crdNames(crd: KubeObject): CrdNames {
  const n = (getPath(crd, 'spec.names') ?? {}) as Record<string, unknown>;
  const kind = String(n.kind ?? '');
  return {
    plural: String(n.plural ?? ''),
    singular: String(n.singular ?? kind.toLowerCase()),
    kind,
    listKind: String(n.listKind ?? `${kind}List`),
    shortNames: Array.isArray(n.shortNames) ? n.shortNames.map(String) : [],
    categories: Array.isArray(n.categories) ? n.categories.map(String) : [],
  };
}

/** Validates a CRD object (`ValidateCustomResourceDefinition`, the parts that matter here). */
export function validateCrd(crd: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const group = getPath(crd, 'spec.group');
  const names = crdNames(crd);
  const name = metaOf(crd).name ?? '';
  if (typeof group !== 'string' || group === '') causes.push({ reason: 'FieldValueRequired', field: 'spec.group', message: 'Required value' });
  else if (!group.includes('.')) causes.push({ reason: 'FieldValueInvalid', field: 'spec.group', message: `Invalid value: "${group}": should be a domain with at least one dot` });
  if (!names.plural) causes.push({ reason: 'FieldValueRequired', field: 'spec.names.plural', message: 'Required value' });
  if (!names.kind) causes.push({ reason: 'FieldValueRequired', field: 'spec.names.kind', message: 'Required value' });
  if (typeof group === 'string' && names.plural && name !== `${names.plural}.${group}`) {
    causes.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group` });
  }
  const scope = getPath(crd, 'spec.scope');
  if (scope !== 'Namespaced' && scope !== 'Cluster') causes.push({ reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: "${String(scope ?? '')}": supported values: "Cluster", "Namespaced"` });
  const versions = getPath(crd, 'spec.versions');
  if (!Array.isArray(versions) || versions.length === 0) {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.versions', message: 'Required value: must have exactly one version marked as storage version' });
  } else {
    const storage = versions.filter((v) => isPlainObject(v) && v.storage === true).length;
    if (storage !== 1) causes.push({ reason: 'FieldValueInvalid', field: 'spec.versions', message: `Invalid value: ${JSON.stringify(versions.map((v) => (v as CrdVersion).name))}: must have exactly one version marked as storage version` });
    versions.forEach((v, i) => {
      if (!isPlainObject(getPath(v, 'schema.openAPIV3Schema'))) causes.push({ reason: 'FieldValueRequired', field: `spec.versions[${i}].schema.openAPIV3Schema`, message: 'Required value: schemas are required' });
      else if (getPath(v, 'schema.openAPIV3Schema.type') !== 'object') causes.push({ reason: 'FieldValueRequired', field: `spec.versions[${i}].schema.openAPIV3Schema.type`, message: 'Required value: must not be empty at the root' });
    });
  }
  if (typeof group === 'string' && isProtectedGroup(group) && !(metaOf(crd).annotations ?? {})[API_APPROVED_ANNOTATION]) {
    causes.push({
      reason: 'FieldValueRequired',
      field: `metadata.annotations[${API_APPROVED_ANNOTATION}]`,
      message: `Required value: protected groups must have approval annotation "${API_APPROVED_ANNOTATION}", see https://github.com/kubernetes/enhancements/pull/1111`,
    });
  }
  return causes;
}

/** Fills the status the apiextensions controllers would set (names accepted, established). */
export function establishCrd(crd: KubeObject, nowIso: string): void {
  const names = crdNames(crd);
  const versions = (getPath(crd, 'spec.versions') as CrdVersion[] | undefined) ?? [];
  const storage = versions.find((v) => v.storage)?.name;
  const prev = (isPlainObject(crd.status) ? crd.status : {}) as Record<string, unknown>;
  const stored = new Set([...((prev.storedVersions as string[] | undefined) ?? []), ...(storage ? [storage] : [])]);
  const cond = (type: string, reason: string, message: string) => ({ type, status: 'True', lastTransitionTime: nowIso, reason, message });
  crd.status = {
    conditions: [cond('NamesAccepted', 'NoConflicts', 'no conflicts found'), cond('Established', 'InitialNamesAccepted', 'the initial names have been accepted')],
    acceptedNames: { plural: names.plural, singular: names.singular, kind: names.kind, listKind: names.listKind, ...(names.shortNames.length ? { shortNames: names.shortNames } : {}), ...(names.categories.length ? { categories: names.categories } : {}) },
    storedVersions: [...stored],
  };
}

/** Evaluates the simple JSONPath forms printer columns use (`.a.b`, `[0]`, `[?(@.k=="v")]`). */
export function evalJsonPath(obj: unknown, path: string): unknown {
  const tokens = path.replace(/^\{?\.?/, '').replace(/\}$/, '').match(/\[\?\(@\.[^)]*\)\]|\[\d+\]|[^.[\]]+/g) ?? [];
  let cur: unknown[] = [obj];
  for (const t of tokens) {
    const next: unknown[] = [];
    for (const c of cur) {
      const filter = t.match(/^\[\?\(@\.([\w.-]+)\s*==\s*["']?([^"')]*)["']?\)\]$/);
      if (filter) {
        if (Array.isArray(c)) next.push(...c.filter((e) => String(getPath(e, filter[1] as string)) === filter[2]));
      } else if (/^\[\d+\]$/.test(t)) {
        if (Array.isArray(c)) next.push(c[Number(t.slice(1, -1))]);
      } else if (isPlainObject(c)) {
        next.push(c[t]);
      }
    }
    cur = next.filter((v) => v !== undefined);
  }
  return cur[0];
}

function printerCell(type: string, value: unknown, now: number): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'date':
      return typeof value === 'string' ? ageOf(value, now) : null;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? value : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

function columnsOf(version: CrdVersion): TableColumn[] {
  const printer = version.additionalPrinterColumns;
  if (!printer || printer.length === 0) return [nameColumn(), ageColumn()];
  return [
    nameColumn(),
    ...printer.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
      cell: (obj: KubeObject, now: number) => printerCell(c.type, evalJsonPath(obj, c.jsonPath), now),
    })),
  ];
}

/** One {@link ResourceType} per served version of `crd`. */
export function resourceTypesOfCrd(crd: KubeObject): ResourceType[] {
  const names = crdNames(crd);
  const group = String(getPath(crd, 'spec.group') ?? '');
  const namespaced = getPath(crd, 'spec.scope') === 'Namespaced';
  const versions = (getPath(crd, 'spec.versions') as CrdVersion[] | undefined) ?? [];
  return versions
    .filter((v) => v.served !== false)
    .map((v) => {
      const apiVersion = `${group}/${v.name}`;
      const fieldLabels: ResourceType['fieldLabels'] = {};
      for (const f of v.selectableFields ?? []) {
        const path = f.jsonPath.replace(/^\./, '');
        fieldLabels[path] = (o) => {
          const value = getPath(o, path);
          return value === undefined || value === null ? undefined : String(value);
        };
      }
      return {
        group,
        version: v.name,
        plural: names.plural,
        singular: names.singular,
        kind: names.kind,
        listKind: names.listKind,
        namespaced,
        shortNames: names.shortNames,
        categories: names.categories,
        verbs: STANDARD_VERBS,
        storage: `crd:${group}/${names.plural}`,
        statusSubresource: isPlainObject(v.subresources) && v.subresources.status !== undefined,
        builtin: false,
        hasGeneration: true,
        columns: columnsOf(v),
        fieldLabels,
        microTimeFields: [],
        timeFields: [],
        schema: v.schema?.openAPIV3Schema,
        crdName: metaOf(crd).name,
        toView: (stored: KubeObject) => (stored.apiVersion === apiVersion ? stored : { ...stored, apiVersion }),
      } satisfies ResourceType;
    });
}
