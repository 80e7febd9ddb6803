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

interface RoleDoc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[];
}

/** Every rule of every Role/ClusterRole listed in `<kustomizationDir>/kustomization.yaml`, in file order. */
export function baseRbacRules(kustomizationDir: string): RbacRule[] {
  const k = parseAllDocuments(readFileSync(join(kustomizationDir, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as { namespace?: string; resources?: string[] };
  const out: RbacRule[] = [];
  for (const resource of k.resources ?? []) {
    const file = join(kustomizationDir, resource);
    if (!/\.ya?ml$/u.test(file)) continue;
    for (const d of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const doc = d.toJS() as RoleDoc | null;
      if (doc?.kind !== 'Role' && doc?.kind !== 'ClusterRole') continue;
      for (const rule of doc.rules ?? []) {
        out.push({
          scope: doc.kind === 'ClusterRole' ? 'cluster' : (doc.metadata?.namespace ?? k.namespace ?? 'default'),
          roleKind: doc.kind,
          roleName: doc.metadata?.name ?? '',
          apiGroups: rule.apiGroups ?? [],
          resources: rule.resources ?? [],
          verbs: rule.verbs ?? [],
        });
      }
    }
  }
  return out;
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

function scopeCell(rule: RbacRule, micNamespace: string): string {
  if (rule.scope === 'cluster') return `cluster (ClusterRole ${code(rule.roleName)})`;
  return rule.scope === micNamespace ? `MIC namespace (Role ${code(rule.roleName)})` : `namespace ${code(rule.scope)} (Role ${code(rule.roleName)})`;
}

/** README.md and docs/deploy.md: every grant of config/base and why. */
export function renderRbacTable(kustomizationDir: string): string {
  const k = parseAllDocuments(readFileSync(join(kustomizationDir, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as { namespace?: string };
  const micNamespace = k.namespace ?? 'default';
  const rows = baseRbacRules(kustomizationDir).map((r) => [
    scopeCell(r, micNamespace),
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

