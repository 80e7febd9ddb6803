/** The set of served resources: builtins plus whatever established CRDs define. */
import { builtinResources } from './builtin-resources.js';
import { resourceTypesOfCrd } from './crd-resources.js';
import type { KubeObject } from './objects.js';
import { metaOf } from './objects.js';
import type { ResourceType } from './resource-type.js';
import { apiVersionOf } from './resource-type.js';

/** An API group with its versions, preferred version first. */
export interface ServedGroup {
  name: string;
  versions: string[];
}

/** Lookup of served resources by URL parts and by apiVersion/kind. */
export class ResourceRegistry {
  private readonly types: ResourceType[] = builtinResources();
  private generation = 0;

  /** Increments whenever the set of resources changes (for discovery/OpenAPI cache hashes). */
  get revision(): number {
    return this.generation;
  }

  /** All served resources. */
  all(): readonly ResourceType[] {
    return this.types;
  }

  /** The resource served at `group/version/plural`. */
  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  /** The resource for an object's `apiVersion` and `kind`. */
  findByKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.types.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
  }

  /** Whether `group/version` is served at all. */
  hasGroupVersion(group: string, version: string): boolean {
    return this.types.some((t) => t.group === group && t.version === version);
  }

  /** Served groups (core excluded), each with its versions. */
  groups(): ServedGroup[] {
    const out = new Map<string, string[]>();
    for (const t of this.types) {
      if (!t.group) continue;
      const versions = out.get(t.group) ?? [];
      if (!versions.includes(t.version)) versions.push(t.version);
      out.set(t.group, versions);
    }
    return [...out].map(([name, versions]) => ({ name, versions: sortVersions(versions) }));
  }

  /** Replaces the resources defined by `crd` (on create and update). */
  registerCrd(crd: KubeObject): void {
    this.unregisterCrd(metaOf(crd).name ?? '');
    this.types.push(...resourceTypesOfCrd(crd));
    this.generation++;
  }

  /** Removes the resources defined by the named CRD. */
  unregisterCrd(name: string): void {
    for (let i = this.types.length - 1; i >= 0; i--) if (this.types[i]?.crdName === name) this.types.splice(i, 1);
    this.generation++;
  }
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first. */
export function sortVersions(versions: string[]): string[] {
  const rank = (v: string): [number, number, number] => {
    const m = v.match(/^v(\d+)(?:(alpha|beta)(\d+))?$/);
    if (!m) return [0, 0, 0];
    const stage = m[2] === 'alpha' ? 1 : m[2] === 'beta' ? 2 : 3;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  return [...versions].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    return rb[0] - ra[0] || rb[1] - ra[1] || rb[2] - ra[2];
  });
}
