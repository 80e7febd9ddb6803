/** The description of one served resource (a group/version/plural), builtin or from a CRD. */
import type { StatusCause } from './errors.js';
import type { KubeObject } from './objects.js';
import { humanDuration, metaOf } from './objects.js';
import type { JsonSchema } from './schema.js';

/** A `Table` column definition (`meta.k8s.io/v1` TableColumnDefinition). */
export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** A column plus how to compute its cell for one object. */
export interface TableColumn extends ColumnDefinition {
  cell(obj: KubeObject, nowMs: number): unknown;
}

/** Context handed to per-kind validators. */
export interface ValidationContext {
  /** The object before this write (absent on create). */
  old?: KubeObject;
  /** True on create (some rules apply only then). */
  isCreate: boolean;
}

/** One served resource. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Store bucket. Views of the same data (core and events.k8s.io Events, CRD versions) share one. */
  storage: string;
  /** Whether `/status` is a subresource (then main-resource writes keep the old status). */
  statusSubresource: boolean;
  /** Builtin kinds accept strategic-merge patches; custom resources do not. */
  builtin: boolean;
  /** A `scale` subresource (autoscaling/v1 Scale over `spec.replicas`), with the path of the label selector. */
  scale?: { selectorPath: string };
  /** Whether `metadata.generation` is maintained. */
  hasGeneration: boolean;
  /** Table columns, Name included. Cells are computed on the stored form (core form for Events). */
  columns: TableColumn[];
  /** Field-selector labels beyond `metadata.name`/`metadata.namespace`; getters read the stored form. */
  fieldLabels: Record<string, (obj: KubeObject) => string | undefined>;
  /** Top-level JSON fields a builtin kind knows (strict field validation); absent = any. */
  knownFields?: Set<string>;
  /** Paths of `metav1.MicroTime` fields (exactly 6 fractional digits). */
  microTimeFields: string[];
  /** Paths of `metav1.Time` fields. */
  timeFields: string[];
  /** Structural schema of a custom resource version. */
  schema?: JsonSchema;
  /** The name of the CRD that defines this resource. */
  crdName?: string;
  /** Per-kind validation on create/update, on the object as the client sent it (view form). */
  validate?(obj: KubeObject, ctx: ValidationContext): StatusCause[];
  /** Normalises an incoming object before it is stored (view form, mutates). */
  prepare?(obj: KubeObject): void;
  /** Converts the stored form into this view (must not mutate the input). */
  toView?(stored: KubeObject): KubeObject;
  /** Converts this view's form into the stored form. */
  fromView?(obj: KubeObject): KubeObject;
}

/** `v1` or `group/version`. */
export function apiVersionOf(rt: Pick<ResourceType, 'group' | 'version'>): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** The verbs every plain resource supports. */
export const STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The Name column every table starts with. */
export function nameColumn(): TableColumn {
  return {
    name: 'Name',
    type: 'string',
    format: 'name',
    description: 'Name must be unique within a namespace.',
    priority: 0,
    cell: (obj) => metaOf(obj).name ?? '',
  };
}

/** The Age column (from `metadata.creationTimestamp`). */
export function ageColumn(): TableColumn {
  return {
    name: 'Age',
    type: 'string',
    format: '',
    description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
    priority: 0,
    cell: (obj, now) => ageOf(metaOf(obj).creationTimestamp, now),
  };
}

/** Human age of an RFC 3339 timestamp, `<unknown>` when absent. */
export function ageOf(ts: unknown, now: number): string {
  if (typeof ts !== 'string') return '<unknown>';
  const t = Date.parse(ts);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

/** A simple column computed by `cell`. */
export function column(name: string, cell: TableColumn['cell'], opts: Partial<ColumnDefinition> = {}): TableColumn {
  return { name, type: opts.type ?? 'string', format: opts.format ?? '', description: opts.description ?? name, priority: opts.priority ?? 0, cell };
}
