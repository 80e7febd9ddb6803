/**
 * Server-side printing: `Table` (meta.k8s.io/v1) and `PartialObjectMetadata(List)` responses,
 * chosen from the request's `Accept` header the way kubectl asks for them.
 */
import type { KubeObject } from './objects.js';
import type { ResourceType } from './resource-type.js';

/** What the client asked to receive. */
export type ResponseShape =
  | { kind: 'object' }
  | { kind: 'table'; apiVersion: string; includeObject: 'None' | 'Metadata' | 'Object' }
  | { kind: 'metadata'; apiVersion: string };

/** Parses `Accept` (and `includeObject`) into a {@link ResponseShape}; the first supported entry wins. */
export function responseShape(accept: string | undefined, includeObject: string | null): ResponseShape {
  for (const entry of (accept ?? '').split(',')) {
    const [type, ...params] = entry.split(';').map((s) => s.trim());
    const p = Object.fromEntries(params.map((x) => x.split('=').map((s) => s.trim()) as [string, string]));
    if (type !== 'application/json' && type !== '*/*') continue;
    if (p.as === 'Table' && p.g === 'meta.k8s.io' && (p.v === 'v1' || p.v === 'v1beta1')) {
      const inc = includeObject === 'None' || includeObject === 'Object' ? includeObject : 'Metadata';
      return { kind: 'table', apiVersion: `meta.k8s.io/${p.v}`, includeObject: inc };
    }
    if ((p.as === 'PartialObjectMetadata' || p.as === 'PartialObjectMetadataList') && p.g === 'meta.k8s.io' && (p.v === 'v1' || p.v === 'v1beta1')) {
      return { kind: 'metadata', apiVersion: `meta.k8s.io/${p.v}` };
    }
    if (!p.as) return { kind: 'object' };
  }
  return { kind: 'object' };
}

/** `PartialObjectMetadata` of an object. */
export function partialMetadata(obj: KubeObject, apiVersion = 'meta.k8s.io/v1'): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: obj.metadata };
}

/** Builds a Table of `stored` objects (cells computed on the stored form, row objects in `views`). */
export function buildTable(
  rt: ResourceType,
  stored: KubeObject[],
  views: KubeObject[],
  shape: Extract<ResponseShape, { kind: 'table' }>,
  listMeta: Record<string, unknown>,
  nowMs: number,
): KubeObject {
  return {
    kind: 'Table',
    apiVersion: shape.apiVersion,
    metadata: listMeta,
    columnDefinitions: rt.columns.map(({ name, type, format, description, priority }) => ({ name, type, format, description, priority })),
    rows: stored.map((o, i) => {
      const row: KubeObject = { cells: rt.columns.map((c) => c.cell(o, nowMs)) };
      const view = views[i] as KubeObject;
      if (shape.includeObject === 'Object') row.object = view;
      else if (shape.includeObject === 'Metadata') row.object = partialMetadata(view);
      return row;
    }),
  };
}

/** The shape's body for a list (for `object`, the caller builds the typed list). */
export function metadataList(views: KubeObject[], apiVersion: string, listMeta: Record<string, unknown>): KubeObject {
  return { kind: 'PartialObjectMetadataList', apiVersion, metadata: listMeta, items: views.map((v) => partialMetadata(v, apiVersion)) };
}
