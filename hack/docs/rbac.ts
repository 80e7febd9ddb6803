/** The RBAC table rendered from the Roles and ClusterRoles that config/base installs. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { code, table } from './markdown.js';
import { RBAC_WHY, whyKey } from './rbac-why.js';

/** One rule of a Role or ClusterRole, with where it applies. */
export interface RbacRule {
  /** `cluster`, or the Role's namespace. */
  scope: string;
  roleKind: 'ClusterRole' | 'Role';
  roleName: string;
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

interface BaseDoc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[];
  spec?: { template?: { spec?: { containers?: { name?: string; args?: string[] }[] } } };
}

/** Every object of the files listed in `<kustomizationDir>/kustomization.yaml`, in file order, with the kustomization's `namespace:` applied where it sets one. */
function baseObjects(kustomizationDir: string): BaseDoc[] {
  const k = parseAllDocuments(readFileSync(join(kustomizationDir, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as { namespace?: string; resources?: string[] };
  const out: BaseDoc[] = [];
  for (const resource of k.resources ?? []) {
    const file = join(kustomizationDir, resource);
    if (!/\.ya?ml$/u.test(file)) continue;
    for (const d of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const doc = d.toJS() as BaseDoc | null;
      if (!doc?.kind) continue;
      if (k.namespace !== undefined && doc.metadata && !doc.kind.startsWith('Cluster') && doc.kind !== 'Namespace') doc.metadata.namespace = k.namespace;
      out.push(doc);
    }
  }
  return out;
}

/** Every rule of every Role/ClusterRole listed in `<kustomizationDir>/kustomization.yaml`, in file order. */
export function baseRbacRules(kustomizationDir: string): RbacRule[] {
  const out: RbacRule[] = [];
  for (const doc of baseObjects(kustomizationDir)) {
    if (doc.kind !== 'Role' && doc.kind !== 'ClusterRole') continue;
    for (const rule of doc.rules ?? []) {
      out.push({
        scope: doc.kind === 'ClusterRole' ? 'cluster' : (doc.metadata?.namespace ?? 'default'),
        roleKind: doc.kind,
        roleName: doc.metadata?.name ?? '',
        apiGroups: rule.apiGroups ?? [],
        resources: rule.resources ?? [],
        verbs: rule.verbs ?? [],
      });
    }
  }
  return out;
}

/** Namespaces of the base: MIC's own (its ServiceAccount's) and the leader-election lock's (the mic container's `--leader-election-namespace`, upstream's flag default `default` when absent). */
export function baseNamespaces(kustomizationDir: string): { mic: string; lock: string } {
  const objects = baseObjects(kustomizationDir);
  const mic = objects.find((o) => o.kind === 'ServiceAccount')?.metadata?.namespace ?? 'default';
  const args = objects.find((o) => o.kind === 'Deployment')?.spec?.template?.spec?.containers?.find((c) => c.name === 'mic')?.args ?? [];
  const lock = args.find((a) => a.startsWith('--leader-election-namespace='))?.slice('--leader-election-namespace='.length) ?? 'default';
  return { mic, lock };
}

/** `(apiGroup, resource, verb)` triples of `rule` that have no entry in {@link RBAC_WHY}. */
export function missingWhy(rule: RbacRule): string[] {
  const missing: string[] = [];
  for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) if (!RBAC_WHY[whyKey(g, r, v)]) missing.push(whyKey(g, r, v));
  return missing;
}

/** "verbs: why; verbs: why" for one rule, grouping verbs that share a reason. */
function whyCell(rule: RbacRule): string {
  const byWhy = new Map<string, string[]>();
  for (const v of rule.verbs) {
    const reasons = new Set<string>();
    for (const g of rule.apiGroups) for (const r of rule.resources) reasons.add(RBAC_WHY[whyKey(g, r, v)] ?? 'UNDOCUMENTED');
    const why = [...reasons].join('; ');
    byWhy.set(why, [...(byWhy.get(why) ?? []), v]);
  }
  return [...byWhy].map(([why, verbs]) => `${verbs.join(', ')}: ${why}`).join('. ');
}

function scopeCell(rule: RbacRule, namespaces: { mic: string; lock: string }): string {
  if (rule.scope === 'cluster') return `cluster (ClusterRole ${code(rule.roleName)})`;
  if (rule.scope === namespaces.mic) return `MIC namespace (Role ${code(rule.roleName)})`;
  if (rule.scope === namespaces.lock) return `lock namespace ${code(rule.scope)} (Role ${code(rule.roleName)})`;
  return `namespace ${code(rule.scope)} (Role ${code(rule.roleName)})`;
}

/** README.md and docs/deploy.md: every grant of config/base and why. */
export function renderRbacTable(kustomizationDir: string): string {
  const namespaces = baseNamespaces(kustomizationDir);
  const rows = baseRbacRules(kustomizationDir).map((r) => [
    scopeCell(r, namespaces),
    r.apiGroups.map((g) => code(g === '' ? '""' : g)).join(', '),
    r.resources.map(code).join(', '),
    r.verbs.join(', '),
    whyCell(r),
  ]);
  return table(['Scope', 'API group', 'Resources', 'Verbs', 'Why'], rows);
}

/** Directory of config/base given the repository root. */
export function baseDir(root: string): string {
  return join(root, 'config', 'base');
}

