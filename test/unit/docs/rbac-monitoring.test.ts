/**
 * Every RBAC verb config/base grants has a documented reason, and the alert rules shipped in
 * config/monitoring and the Helm chart are the same and only use series that exist.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { readAlertGroups, type RuleGroups } from '../../../hack/docs/alerts.js';
import { controllerMetrics } from '../../../hack/docs/metrics.js';
import { baseDir, baseRbacRules, missingWhy } from '../../../hack/docs/rbac.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Series the alert rules use that other branches add (drop-in: leader lock metrics). Remove an
 * entry once `createMetrics` registers it; the test below fails if an entry is not needed any more.
 */
const PENDING_METRICS = new Set(['aadpodidentity_mic_leader_transitions_total', 'leader_election_master_status']);

describe('RBAC of config/base', () => {
  const rules = baseRbacRules(baseDir(ROOT));

  it('finds the ClusterRole and the Role', () => {
    expect(new Set(rules.map((r) => r.roleKind))).toEqual(new Set(['ClusterRole', 'Role']));
  });

  it('has a why (hack/docs/rbac-why.ts) for every granted verb', () => {
    expect(rules.flatMap(missingWhy)).toEqual([]);
  });
});

describe('alert rules', () => {
  const groups = readAlertGroups(ROOT);

  it('ship identically in config/monitoring and the Helm chart', () => {
    const chart = parse(readFileSync(join(ROOT, 'config/helm/aad-pod-identity-mic/files/prometheus-rules.yaml'), 'utf8')) as RuleGroups;
    expect(chart).toEqual(groups);
  });

  it('use only series the controller exports', () => {
    const names = new Set(controllerMetrics().map((m) => m.name));
    const used = new Set<string>();
    for (const rule of groups.groups.flatMap((g) => g.rules)) {
      for (const m of rule.expr.matchAll(/\b(aadpodidentity_[a-z_]+?|leader_election_[a-z_]+?)(?:_bucket|_sum|_count)?\b(?=[{[)\s]|$)/gu)) {
        const base = m[1] ?? '';
        used.add(names.has(base) ? base : names.has(m[0]) ? m[0] : base);
      }
    }
    expect([...used]).toEqual(expect.arrayContaining(['aadpodidentity_mic_assignment_latency_seconds', 'aadpodidentity_mic_is_leader', 'aadpodidentity_mic_leader_transitions_total']));
    expect([...used].filter((n) => !names.has(n) && !PENDING_METRICS.has(n))).toEqual([]);
    expect([...PENDING_METRICS].filter((n) => names.has(n))).toEqual([]);
  });

  it('have a summary, a description and a severity each', () => {
    for (const r of groups.groups.flatMap((g) => g.rules)) {
      expect({ alert: r.alert, ok: Boolean(r.annotations?.summary && r.annotations.description && r.labels?.severity) }).toEqual({ alert: r.alert, ok: true });
    }
  });
});
