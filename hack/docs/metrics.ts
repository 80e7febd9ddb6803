/** The metrics table rendered from the controller's prom-client registry (`createMetrics`). */
import { Registry } from 'prom-client';
import { ARM_REQUEST_RESULTS, createMetrics } from '../../controller/observability/metrics.js';
import { code, table } from './markdown.js';

/** Series with the same name and meaning as upstream MIC v1.8 (or client-go, for the lock gauge). */
export const UPSTREAM_METRICS: ReadonlySet<string> = new Set([
  'aadpodidentity_assigned_identity_addition_count',
  'aadpodidentity_assigned_identity_addition_duration_seconds',
  'aadpodidentity_assigned_identity_deletion_count',
  'aadpodidentity_assigned_identity_deletion_duration_seconds',
  'aadpodidentity_assigned_identity_update_count',
  'aadpodidentity_assigned_identity_update_duration_seconds',
  'aadpodidentity_mic_cycle_count',
  'aadpodidentity_mic_cycle_duration_seconds',
  'aadpodidentity_mic_new_leader_election_count',
  'aadpodidentity_cloud_provider_operations_errors_count',
  'aadpodidentity_cloud_provider_operations_duration_seconds',
  'aadpodidentity_kubernetes_api_operations_errors_count',
  'leader_election_master_status',
]);

/** Values a label takes, where they are a closed set. */
const LABEL_VALUES: Readonly<Record<string, readonly string[]>> = {
  operation_type: ['vm_get', 'vm_update', 'vmss_get', 'vmss_update', 'vm_list', 'vmss_list', 'assigned_identity_addition', 'assigned_identity_deletion', 'assigned_identity_update', 'update_azure_assigned_identity_status'],
  operation: ['vm_get', 'vm_update', 'vmss_get', 'vmss_update', 'vm_list', 'vmss_list'],
  result: ARM_REQUEST_RESULTS,
  state: ['Created', 'Assigned', 'Unassigned', 'none'],
  type: ['Normal', 'Warning'],
  resource: ['pods', 'nodes', 'identities', 'bindings', 'assigned'],
};

/** One controller series as registered. */
export interface MetricRow {
  name: string;
  type: string;
  labels: readonly string[];
  help: string;
}

/** Every controller series (process metrics excluded), sorted upstream first, then by name. */
export function controllerMetrics(): MetricRow[] {
  const registry = new Registry();
  createMetrics(registry, { defaultMetrics: false });
  const rows = registry.getMetricsAsArray().map((m) => {
    const metric = m as unknown as { name: string; help: string; labelNames?: string[]; type?: string; constructor: { name: string } };
    return {
      name: metric.name,
      type: (metric.type ?? metric.constructor.name).toLowerCase(),
      labels: metric.labelNames ?? [],
      help: metric.help,
    };
  });
  const rank = (r: MetricRow): number => (UPSTREAM_METRICS.has(r.name) ? 0 : 1);
  return rows.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

function labelCell(labels: readonly string[]): string {
  if (labels.length === 0) return '—';
  return labels.map((l) => (LABEL_VALUES[l] && l !== 'operation_type' ? `${code(l)} (${LABEL_VALUES[l].map((v) => code(v)).join(', ')})` : code(l))).join(', ');
}

/** docs/troubleshooting.md: every controller series. */
export function renderMetricsTable(): string {
  const rows = controllerMetrics().map((m) => [
    code(m.name),
    m.type,
    labelCell(m.labels),
    UPSTREAM_METRICS.has(m.name) ? 'upstream' : '**new**',
    m.help,
  ]);
  return table(['Metric', 'Type', 'Labels', 'Origin', 'Meaning'], rows);
}
