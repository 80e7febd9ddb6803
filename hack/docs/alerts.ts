/** The alert table rendered from config/monitoring/prometheusrule.yaml (the rules the chart ships too). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { code, table } from './markdown.js';

/** One alerting rule. */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string; description?: string };
}

/** Rule groups of a PrometheusRule `spec` (or of the chart's rules file). */
export interface RuleGroups {
  groups: { name: string; rules: AlertRule[] }[];
}

/** Path of the PrometheusRule manifest. */
export function prometheusRulePath(root: string): string {
  return join(root, 'config', 'monitoring', 'prometheusrule.yaml');
}

/** The rule groups of config/monitoring/prometheusrule.yaml. */
export function readAlertGroups(root: string): RuleGroups {
  const doc = parse(readFileSync(prometheusRulePath(root), 'utf8')) as { spec: RuleGroups };
  return doc.spec;
}

/** docs/troubleshooting.md: every alert. */
export function renderAlertTable(root: string): string {
  const rows = readAlertGroups(root).groups.flatMap((g) =>
    g.rules.map((r) => [
      code(r.alert),
      code(r.expr),
      r.for ?? '0m',
      r.labels?.severity ?? '',
      `${r.annotations?.summary ?? ''}. ${r.annotations?.description ?? ''}`.trim(),
    ]),
  );
  return table(['Alert', 'Expression', 'For', 'Severity', 'Why'], rows);
}
