/** Test helpers: find and parse the deployment YAML under `config/`. */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { PolicyRule } from '../../support/rbac-compare.js';

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The `config/` directory. */
export const CONFIG = join(ROOT, 'config');

/** A parsed Kubernetes-style object. */
export type K8sObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};

/** Every file under `dir` (recursively), skipping symbolic links (e.g. the chart's crds link). */
export function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out.sort();
}

/** True for Helm template files (Go templates, not plain YAML). */
export function isHelmTemplate(path: string): boolean {
  return relative(CONFIG, path).split('/').includes('templates');
}

/** Plain YAML files under `config/` (Helm templates excluded). */
export function plainYamlFiles(): string[] {
  return walk(CONFIG).filter((p) => /\.ya?ml$/.test(p) && !isHelmTemplate(p));
}

/** Parses every document of a YAML file; throws on syntax errors. */
export function parseYamlFile(path: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  const list = Array.isArray(docs) ? docs : [docs];
  const values: unknown[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new Error(`${relative(ROOT, path)}: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

/** Objects (with `kind`) of one YAML file relative to `config/`. */
export function objectsOf(relPath: string): K8sObject[] {
  return parseYamlFile(join(CONFIG, relPath)).filter((v): v is K8sObject => typeof v === 'object' && v !== null && 'kind' in v);
}

/** The single object of `kind` (and optional name) in a list; throws when absent or ambiguous. */
export function only(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as K8sObject;
}

/** Reads a nested property by dotted path (array indexes allowed). */
export function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** RBAC rule as written in a Role/ClusterRole (the recording-proxy comparison's type). */
export type { PolicyRule };

/** Flattens rules into `group/resource` → sorted verbs (union over rules). */
export function grants(rules: PolicyRule[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const key = `${group || 'core'}/${resource}`;
        out[key] ??= new Set();
        for (const verb of rule.verbs) out[key].add(verb);
      }
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

/** A Kubernetes memory quantity (`1Gi`, `768Mi`, `1073741824`) in MiB. */
export function memoryMiB(quantity: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!m) throw new Error(`unsupported memory quantity ${quantity}`);
  const factor = { Ki: 1 / 1024, Mi: 1, Gi: 1024 }[m[2] as 'Ki' | 'Mi' | 'Gi'] ?? 1 / (1024 * 1024);
  return Number(m[1]) * factor;
}

/** The `--max-old-space-size` of a NODE_OPTIONS string, in MiB; throws when absent. */
export function heapCapMiB(nodeOptions: string): number {
  const m = /(?:^|\s)--max-old-space-size=(\d+)(?:\s|$)/.exec(nodeOptions);
  if (!m) throw new Error(`no --max-old-space-size in ${nodeOptions}`);
  return Number(m[1]);
}
