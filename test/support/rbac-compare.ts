/**
 * RBAC bookkeeping for tests: turns recorded API requests into Kubernetes request attributes (verb,
 * group, resource, subresource, namespace, name — as the API server's RequestInfo does), matches
 * them against Role/ClusterRole rules, and lists the grants no recorded call used.
 */

/** A rule as written in a Role or ClusterRole. */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** Rules that apply cluster-wide (ClusterRole via ClusterRoleBinding) or in one namespace (Role via RoleBinding). */
export interface Grant {
  /** undefined = cluster-wide. */
  namespace?: string;
  /** Where the rules come from, for messages (`ClusterRole/x`, `Role/ns/x`). */
  source: string;
  rules: PolicyRule[];
}

/** Authorization attributes of one resource request. */
export interface RequestAttributes {
  verb: string;
  group: string;
  /** `resource` or `resource/subresource`. */
  resource: string;
  namespace?: string;
  name?: string;
}

/** The attributes of a request path, or undefined for non-resource paths (discovery, /version, /healthz). */
export function requestAttributes(method: string, path: string, query: URLSearchParams): RequestAttributes | undefined {
  const parts = path.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] as string;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  if (rest.length === 0) return undefined;
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length === 2) {
    // GET /api/v1/namespaces/<name>: the namespace object itself.
    namespace = rest[1];
  }
  const [resource, name, sub] = rest as [string, string | undefined, string | undefined];
  let verb: string;
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
      verb = watchPath || query.get('watch') === 'true' || query.get('watch') === '1' ? 'watch' : name ? 'get' : 'list';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name ? 'delete' : 'deletecollection';
      break;
    default:
      verb = method.toLowerCase();
  }
  return { verb, group, resource: sub ? `${resource}/${sub}` : resource, namespace, ...(name ? { name } : {}) };
}

const has = (list: string[] | undefined, v: string): boolean => !!list && (list.includes('*') || list.includes(v));

/** True when `rule` allows the request (ignoring the namespace, which the caller checks). */
export function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!has(rule.apiGroups, a.group) || !has(rule.verbs, a.verb) || !has(rule.resources, a.resource)) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) return a.name !== undefined && rule.resourceNames.includes(a.name) && a.verb !== 'create';
  return true;
}

/** The grants that allow `a` (empty: RBAC would deny it). */
export function allowingGrants(grants: Grant[], a: RequestAttributes): Grant[] {
  return grants.filter((g) => (g.namespace === undefined || g.namespace === a.namespace) && g.rules.some((r) => ruleAllows(r, a)));
}

/** One (group, resource, verb) a grant gives, in `source: group/resource verb` form. */
export interface GrantedPermission {
  source: string;
  namespace?: string;
  group: string;
  resource: string;
  verb: string;
}

/** Every (group, resource, verb) the grants give, expanded one per triple. */
export function expandGrants(grants: Grant[]): GrantedPermission[] {
  const out: GrantedPermission[] = [];
  for (const g of grants) {
    for (const r of g.rules) {
      for (const group of r.apiGroups ?? []) for (const resource of r.resources ?? []) for (const verb of r.verbs) out.push({ source: g.source, namespace: g.namespace, group, resource, verb });
    }
  }
  return out;
}

/** `group/resource verb` (core group shown as `core`). */
export function permissionKey(p: { group: string; resource: string; verb: string }): string {
  return `${p.group || 'core'}/${p.resource} ${p.verb}`;
}

/** Grants that no recorded request used, as `source: group/resource verb`. */
export function unusedGrants(grants: Grant[], used: RequestAttributes[]): string[] {
  const out = new Set<string>();
  for (const p of expandGrants(grants)) {
    const usedIt = used.some((a) =>
      (p.namespace === undefined || p.namespace === a.namespace) &&
      (p.group === '*' || p.group === a.group) && (p.resource === '*' || p.resource === a.resource) && (p.verb === '*' || p.verb === a.verb));
    if (!usedIt) out.add(`${p.source}: ${permissionKey(p)}`);
  }
  return [...out].sort();
}
