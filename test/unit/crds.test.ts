/**
 * Checks the CRD manifests against the structural-schema rules kube-apiserver enforces, and against
 * upstream aad-pod-identity v1.8's schema (every upstream field keeps its type; nothing stricter).
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  nullable?: boolean;
  format?: string;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [key: string]: unknown;
}

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  priority?: number;
}

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: unknown;
      additionalPrinterColumns?: PrinterColumn[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

const CRD_DIR = join(fileURLToPath(new URL('.', import.meta.url)), '../../crds');

function loadCrds(): { file: string; crd: Crd }[] {
  const out: { file: string; crd: Crd }[] = [];
  for (const file of readdirSync(CRD_DIR).filter((f) => /\.ya?ml$/u.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(CRD_DIR, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      const crd = doc.toJS() as Crd | null;
      if (crd) out.push({ file, crd });
    }
  }
  return out;
}

const CRDS = loadCrds();
const byKind = (kind: string): Crd => {
  const found = CRDS.find((c) => c.crd.spec.names.kind === kind);
  if (!found) throw new Error(`no CRD for ${kind}`);
  return found.crd;
};
const rootSchema = (crd: Crd): Schema => crd.spec.versions[0]!.schema.openAPIV3Schema;

interface Node {
  path: string;
  schema: Schema;
  /** True for an ObjectMeta position: root `metadata` or `metadata` of an embedded resource. */
  objectMeta: boolean;
}

/** Every schema node below the root (properties, items, additionalProperties). */
function walk(schema: Schema, path = '', embeddedOrRoot = true): Node[] {
  const nodes: Node[] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const childPath = `${path}.${key}`;
    nodes.push({ path: childPath, schema: child, objectMeta: embeddedOrRoot && key === 'metadata' });
    nodes.push(...walk(child, childPath, child['x-kubernetes-embedded-resource'] === true));
  }
  if (schema.items) {
    nodes.push({ path: `${path}[]`, schema: schema.items, objectMeta: false });
    nodes.push(...walk(schema.items, `${path}[]`, false));
  }
  if (typeof schema.additionalProperties === 'object') {
    nodes.push({ path: `${path}.*`, schema: schema.additionalProperties, objectMeta: false });
    nodes.push(...walk(schema.additionalProperties, `${path}.*`, false));
  }
  return nodes;
}

const OBJECT_META_FIELDS = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'labels', 'annotations', 'creationTimestamp', 'deletionTimestamp', 'finalizers']);

/** Resolves a simple printer-column jsonPath (`.a.b.c`) against the schema; ObjectMeta fields are implied. */
function resolveJsonPath(schema: Schema, jsonPath: string): Schema | 'object-meta' | undefined {
  const parts = jsonPath.replace(/^\./u, '').split('.');
  let current: Schema = schema;
  let metaAllowed = true;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === 'metadata' && metaAllowed && current.properties?.metadata) {
      const rest = parts.slice(i + 1);
      return rest.length === 1 && OBJECT_META_FIELDS.has(rest[0]!) ? 'object-meta' : undefined;
    }
    const next = current.properties?.[part];
    if (!next) return undefined;
    metaAllowed = next['x-kubernetes-embedded-resource'] === true;
    current = next;
  }
  return current;
}

/**
 * Upstream v1.8 field paths and types (from its CRD manifests). Our schema must keep each of them
 * with the same type, so every object valid upstream stays valid and nothing gets pruned.
 */
const IDENTITY_FIELDS: Record<string, string> = {
  '.apiVersion': 'string', '.kind': 'string', '.metadata': 'object', '.spec': 'object',
  '.spec.adEndpoint': 'string', '.spec.adResourceID': 'string', '.spec.auxiliaryTenantIDs': 'array',
  '.spec.clientID': 'string', '.spec.clientPassword': 'object', '.spec.clientPassword.name': 'string',
  '.spec.clientPassword.namespace': 'string', '.spec.metadata': 'object', '.spec.replicas': 'integer',
  '.spec.resourceID': 'string', '.spec.tenantID': 'string', '.spec.type': 'integer', '.status': 'object',
  '.status.availableReplicas': 'integer', '.status.metadata': 'object',
};
const BINDING_FIELDS: Record<string, string> = {
  '.apiVersion': 'string', '.kind': 'string', '.metadata': 'object', '.spec': 'object',
  '.spec.azureIdentity': 'string', '.spec.metadata': 'object', '.spec.selector': 'string', '.spec.weight': 'integer',
  '.status': 'object', '.status.availableReplicas': 'integer', '.status.metadata': 'object',
};
const prefixed = (prefix: string, fields: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${prefix}${k}`, v]));
const UPSTREAM_FIELDS: Record<string, Record<string, string>> = {
  AzureIdentity: IDENTITY_FIELDS,
  AzureIdentityBinding: BINDING_FIELDS,
  AzureAssignedIdentity: {
    '.apiVersion': 'string', '.kind': 'string', '.metadata': 'object', '.spec': 'object',
    '.spec.azureIdentityRef': 'object', ...prefixed('.spec.azureIdentityRef', IDENTITY_FIELDS),
    '.spec.azureBindingRef': 'object', ...prefixed('.spec.azureBindingRef', BINDING_FIELDS),
    '.spec.metadata': 'object', '.spec.nodename': 'string', '.spec.pod': 'string', '.spec.podNamespace': 'string',
    '.spec.replicas': 'integer', '.status': 'object', '.status.availableReplicas': 'integer',
    '.status.metadata': 'object', '.status.status': 'string',
  },
  AzurePodIdentityException: {
    '.apiVersion': 'string', '.kind': 'string', '.metadata': 'object', '.spec': 'object',
    '.spec.metadata': 'object', '.spec.podLabels': 'object', '.spec.podLabels.*': 'string',
    '.status': 'object', '.status.status': 'string',
  },
};

/** Validation keywords upstream's schema never uses: adding them could reject upstream-valid objects. */
const STRICTER_KEYWORDS = ['required', 'enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'x-kubernetes-validations', 'oneOf', 'anyOf', 'allOf', 'not'];

describe('CRD manifests', () => {
  it('define exactly the four kinds, once each', () => {
    expect(CRDS.map((c) => c.crd.spec.names.kind).sort()).toEqual([
      'AzureAssignedIdentity',
      'AzureIdentity',
      'AzureIdentityBinding',
      'AzurePodIdentityException',
    ]);
  });

  describe.each(CRDS.map((c) => [c.crd.spec.names.kind, c.crd] as const))('%s', (kind, crd) => {
    const names = crd.spec.names;
    const version = crd.spec.versions[0]!;
    const nodes = walk(rootSchema(crd));

    it('is an apiextensions.k8s.io/v1 CRD with consistent names in the aadpodidentity.k8s.io group', () => {
      expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
      expect(crd.kind).toBe('CustomResourceDefinition');
      expect(crd.spec.group).toBe('aadpodidentity.k8s.io');
      expect(crd.metadata.name).toBe(`${names.plural}.${crd.spec.group}`);
      expect(names.listKind).toBe(`${kind}List`);
      expect(names.singular).toBe(kind.toLowerCase());
      expect(names.plural).toBe(names.plural.toLowerCase());
      expect(names.plural.startsWith(names.singular.replace(/y$/u, ''))).toBe(true);
      expect(crd.spec.scope).toBe('Namespaced');
    });

    it('carries the api-approved annotation required for a *.k8s.io group', () => {
      expect(crd.metadata.annotations?.['api-approved.kubernetes.io']).toMatch(/^unapproved/u);
    });

    it('serves and stores only v1, without any subresource (status lives on the main resource)', () => {
      expect(crd.spec.versions).toHaveLength(1);
      expect(version).toMatchObject({ name: 'v1', served: true, storage: true });
      expect(version.subresources).toBeUndefined();
    });

    it('has a short name and the aadpodidentity category', () => {
      expect(names.shortNames?.length).toBeGreaterThan(0);
      expect(names.categories).toContain('aadpodidentity');
    });

    it('gives every schema node a type (structural schema)', () => {
      expect(rootSchema(crd).type).toBe('object');
      const untyped = nodes.filter(
        (n) =>
          n.schema.type === undefined &&
          n.schema['x-kubernetes-int-or-string'] !== true &&
          n.schema['x-kubernetes-preserve-unknown-fields'] !== true,
      );
      expect(untyped.map((n) => n.path)).toEqual([]);
    });

    it('uses x-kubernetes-embedded-resource only on objects with properties or preserve-unknown-fields', () => {
      for (const n of nodes.filter((x) => x.schema['x-kubernetes-embedded-resource'] === true)) {
        expect(n.schema.type).toBe('object');
        const hasShape = n.schema.properties !== undefined || n.schema['x-kubernetes-preserve-unknown-fields'] === true;
        expect({ path: n.path, hasShape }).toEqual({ path: n.path, hasShape: true });
      }
    });

    it('restricts ObjectMeta (root and embedded) to type object with at most name/generateName', () => {
      for (const n of nodes.filter((x) => x.objectMeta)) {
        expect(n.schema.type).toBe('object');
        const extra = Object.keys(n.schema).filter((k) => k !== 'type' && k !== 'properties');
        expect({ path: n.path, extra }).toEqual({ path: n.path, extra: [] });
        for (const key of Object.keys(n.schema.properties ?? {})) expect(['name', 'generateName']).toContain(key);
      }
    });

    it('never combines additionalProperties with properties', () => {
      const both = nodes.filter((n) => n.schema.properties !== undefined && n.schema.additionalProperties !== undefined);
      expect(both.map((n) => n.path)).toEqual([]);
    });

    it('describes every field (except ObjectMeta positions and array/map item schemas)', () => {
      const undescribed = nodes.filter(
        (n) => !n.objectMeta && !n.path.endsWith('[]') && !n.path.endsWith('.*') && !n.schema.description,
      );
      expect(undescribed.map((n) => n.path)).toEqual([]);
      expect(rootSchema(crd).description).toBeTruthy();
    });

    it('adds no validation upstream lacks (no required/enum/pattern/limits)', () => {
      const text = JSON.stringify(rootSchema(crd));
      for (const keyword of STRICTER_KEYWORDS) expect({ keyword, used: text.includes(`"${keyword}":`) }).toEqual({ keyword, used: false });
    });

    it('keeps every upstream v1.8 field with the same type', () => {
      const ours = new Map(nodes.map((n) => [n.path, n.schema.type]));
      for (const [path, type] of Object.entries(UPSTREAM_FIELDS[kind] ?? {})) {
        expect({ path, type: ours.get(path) }).toEqual({ path, type });
      }
    });

    it('keeps upstream nullability of auxiliaryTenantIDs and replicas', () => {
      for (const n of nodes.filter((x) => /\.(auxiliaryTenantIDs|replicas)$/u.test(x.path))) {
        expect({ path: n.path, nullable: n.schema.nullable }).toEqual({ path: n.path, nullable: true });
      }
    });

    it('has printer columns whose jsonPaths resolve in the schema with matching types', () => {
      const columns = version.additionalPrinterColumns ?? [];
      expect(columns.some((c) => c.name === 'Age' && c.jsonPath === '.metadata.creationTimestamp' && c.type === 'date')).toBe(true);
      for (const column of columns) {
        expect(['integer', 'number', 'string', 'boolean', 'date']).toContain(column.type);
        const target = resolveJsonPath(rootSchema(crd), column.jsonPath);
        expect({ column: column.name, resolved: target !== undefined }).toEqual({ column: column.name, resolved: true });
        if (target !== undefined && target !== 'object-meta') {
          expect({ column: column.name, type: target.type }).toEqual({ column: column.name, type: column.type });
        }
      }
    });
  });

  it('short names are unique across kinds', () => {
    const all = CRDS.flatMap((c) => c.crd.spec.names.shortNames ?? []);
    expect(new Set(all).size).toBe(all.length);
  });

  it('embeds identity and binding schemas in AzureAssignedIdentity as embedded resources', () => {
    const spec = rootSchema(byKind('AzureAssignedIdentity')).properties!.spec!;
    for (const ref of ['azureIdentityRef', 'azureBindingRef']) {
      const schema = spec.properties![ref]!;
      expect(schema['x-kubernetes-embedded-resource']).toBe(true);
      expect(Object.keys(schema.properties!).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    }
    expect(spec.properties!.azureIdentityRef!.properties!.spec).toEqual(rootSchema(byKind('AzureIdentity')).properties!.spec);
    expect(spec.properties!.azureBindingRef!.properties!.spec).toEqual(rootSchema(byKind('AzureIdentityBinding')).properties!.spec);
  });

  it('shows pod, namespace, node, identity and status columns for AzureAssignedIdentity', () => {
    const columns = byKind('AzureAssignedIdentity').spec.versions[0]!.additionalPrinterColumns!.map((c) => c.jsonPath);
    expect(columns).toEqual(
      expect.arrayContaining(['.spec.pod', '.spec.podNamespace', '.spec.nodename', '.spec.azureIdentityRef.metadata.name', '.status.status']),
    );
  });

  it('the jsonPath resolver rejects paths that do not exist (self-check)', () => {
    const schema = rootSchema(byKind('AzureAssignedIdentity'));
    expect(resolveJsonPath(schema, '.spec.nope')).toBeUndefined();
    expect(resolveJsonPath(schema, '.spec.metadata.name')).toBeUndefined();
    expect(resolveJsonPath(schema, '.spec.azureIdentityRef.metadata.name')).toBe('object-meta');
  });
});
