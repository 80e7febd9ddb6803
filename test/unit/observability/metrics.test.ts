import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import {
  ARM_REQUEST_RESULTS,
  armRequestResult,
  createMetrics,
  recordArmCall,
  setAssignedIdentityCounts,
} from '../../../controller/observability/metrics.js';

/** Every series the controller must expose: name → [type, label names]. */
const EXPECTED: Record<string, [string, string[]]> = {
  aadpodidentity_assigned_identity_addition_count: ['counter', []],
  aadpodidentity_assigned_identity_addition_duration_seconds: ['histogram', []],
  aadpodidentity_assigned_identity_deletion_count: ['counter', []],
  aadpodidentity_assigned_identity_deletion_duration_seconds: ['histogram', []],
  aadpodidentity_assigned_identity_update_count: ['counter', []],
  aadpodidentity_assigned_identity_update_duration_seconds: ['histogram', []],
  aadpodidentity_mic_cycle_count: ['counter', []],
  aadpodidentity_mic_cycle_duration_seconds: ['histogram', []],
  aadpodidentity_mic_new_leader_election_count: ['counter', []],
  aadpodidentity_cloud_provider_operations_errors_count: ['counter', ['operation_type']],
  aadpodidentity_cloud_provider_operations_duration_seconds: ['histogram', ['operation_type']],
  aadpodidentity_kubernetes_api_operations_errors_count: ['counter', ['operation_type']],
  aadpodidentity_mic_assignment_latency_seconds: ['histogram', []],
  aadpodidentity_mic_queue_depth: ['gauge', []],
  aadpodidentity_mic_arm_requests_total: ['counter', ['operation', 'result']],
  aadpodidentity_mic_arm_writes_inflight: ['gauge', []],
  aadpodidentity_mic_throttle_wait_seconds: ['histogram', []],
  aadpodidentity_mic_quarantined_identities: ['gauge', []],
  aadpodidentity_mic_assigned_identities: ['gauge', ['state']],
  aadpodidentity_mic_oldest_created_age_seconds: ['gauge', []],
  aadpodidentity_mic_is_leader: ['gauge', []],
  aadpodidentity_mic_informer_synced: ['gauge', ['resource']],
  aadpodidentity_mic_paused: ['gauge', []],
  aadpodidentity_mic_events_emitted_total: ['counter', ['type', 'reason']],
  aadpodidentity_mic_arm_precondition_failed_total: ['counter', []],
};

async function metricJson(registry: Registry, name: string) {
  const all = await registry.getMetricsAsJSON();
  const found = all.find((m) => m.name === name);
  if (!found) throw new Error(`metric ${name} not registered`);
  return found;
}

describe('createMetrics', () => {
  it('registers every upstream and project series with type, labels and help', async () => {
    const m = createMetrics(new Registry(), { defaultMetrics: false });
    const all = await m.registry.getMetricsAsJSON();
    const byName = new Map(all.map((x) => [x.name, x]));
    for (const [name, [type]] of Object.entries(EXPECTED)) {
      const metric = byName.get(name);
      expect(metric).toBeDefined();
      expect(metric?.type).toBe(type);
      expect(metric?.help.length).toBeGreaterThan(10);
    }
    // Nothing unexpected slipped in without being documented here.
    expect([...byName.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('uses the label names of the upstream and project contracts', () => {
    const m = createMetrics(new Registry(), { defaultMetrics: false });
    for (const [name, [, labels]] of Object.entries(EXPECTED)) {
      const metric = m.registry.getSingleMetric(name) as unknown as { labelNames: string[] };
      expect({ name, labels: [...metric.labelNames].sort() }).toEqual({ name, labels: [...labels].sort() });
    }
  });

  it('keeps upstream histogram buckets', async () => {
    const m = createMetrics(new Registry(), { defaultMetrics: false });
    m.assignedIdentityAdditionDuration.observe(0.015);
    m.cycleDuration.observe(42);
    const text = await m.registry.metrics();
    expect(text).toContain('aadpodidentity_assigned_identity_addition_duration_seconds_bucket{le="0.02"} 1');
    expect(text).toContain('aadpodidentity_assigned_identity_addition_duration_seconds_bucket{le="0.01"} 0');
    expect(text).toContain('aadpodidentity_mic_cycle_duration_seconds_bucket{le="30"} 0');
    expect(text).toContain('aadpodidentity_mic_cycle_duration_seconds_bucket{le="60"} 1');
    expect(text).toContain('aadpodidentity_mic_cycle_duration_seconds_bucket{le="1200"} 1');
  });

  it('exports zero-valued gauges before the first observation', async () => {
    const m = createMetrics(new Registry(), { defaultMetrics: false });
    const text = await m.registry.metrics();
    expect(text).toMatch(/^aadpodidentity_mic_is_leader 0$/m);
    expect(text).toMatch(/^aadpodidentity_mic_paused 0$/m);
    expect(text).toMatch(/^aadpodidentity_mic_queue_depth 0$/m);
  });

  it('registers default process metrics with the mic_ prefix', async () => {
    const m = createMetrics();
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name);
    expect(names).toContain('mic_process_cpu_user_seconds_total');
    expect(names.some((n) => n.startsWith('mic_nodejs_'))).toBe(true);
  });

  it('refuses a second metric set on the same registry', () => {
    const registry = new Registry();
    createMetrics(registry, { defaultMetrics: false });
    expect(() => createMetrics(registry, { defaultMetrics: false })).toThrow();
  });

  it('records labelled values', async () => {
    const m = createMetrics(new Registry(), { defaultMetrics: false });
    m.eventsEmitted.inc({ type: 'Warning', reason: 'IdentityForbidden' });
    m.eventsEmitted.inc({ type: 'Warning', reason: 'IdentityForbidden' });
    m.informerSynced.set({ resource: 'pods' }, 1);
    m.kubernetesApiOperationsErrors.inc({ operation_type: 'assigned_identity_addition' });
    const events = await metricJson(m.registry, 'aadpodidentity_mic_events_emitted_total');
    expect(events.values).toEqual([{ labels: { type: 'Warning', reason: 'IdentityForbidden' }, value: 2 }]);
    const text = await m.registry.metrics();
    expect(text).toContain('aadpodidentity_mic_informer_synced{resource="pods"} 1');
    expect(text).toContain('aadpodidentity_kubernetes_api_operations_errors_count{operation_type="assigned_identity_addition"} 1');
  });
});

describe('ARM call recording', () => {
  it.each([
    ['success', undefined, 'success'],
    ['throttled', undefined, 'throttled'],
    ['error', 429, 'throttled'],
    ['error', 403, 'forbidden'],
    ['error', 404, 'not_found'],
    ['error', 409, 'conflict'],
    ['error', 500, 'error'],
    ['error', undefined, 'error'],
  ] as const)('maps %s/%s to %s', (outcome, status, result) => {
    expect(armRequestResult(outcome, status)).toBe(result);
    expect(ARM_REQUEST_RESULTS).toContain(result);
  });

  it('feeds both the upstream series and arm_requests_total', async () => {
    const m = createMetrics(new Registry(), { defaultMetrics: false });
    recordArmCall(m, { op: 'vmss_update', outcome: 'success', durationMs: 2500 });
    recordArmCall(m, { op: 'vmss_update', outcome: 'error', durationMs: 100, statusCode: 403 });
    recordArmCall(m, { op: 'vm_get', outcome: 'throttled', durationMs: 1 });
    const text = await m.registry.metrics();
    expect(text).toContain('aadpodidentity_mic_arm_requests_total{operation="vmss_update",result="success"} 1');
    expect(text).toContain('aadpodidentity_mic_arm_requests_total{operation="vmss_update",result="forbidden"} 1');
    expect(text).toContain('aadpodidentity_mic_arm_requests_total{operation="vm_get",result="throttled"} 1');
    expect(text).toContain('aadpodidentity_cloud_provider_operations_errors_count{operation_type="vmss_update"} 1');
    expect(text).toContain('aadpodidentity_cloud_provider_operations_errors_count{operation_type="vm_get"} 1');
    expect(text).toContain('aadpodidentity_cloud_provider_operations_duration_seconds_sum{operation_type="vmss_update"} 2.5');
    expect(text).toContain('aadpodidentity_cloud_provider_operations_duration_seconds_count{operation_type="vmss_update"} 1');
  });

  it('sets every assigned_identities state at once', async () => {
    const m = createMetrics(new Registry(), { defaultMetrics: false });
    setAssignedIdentityCounts(m, { Created: 2, Assigned: 5, Unassigned: 0, none: 1 });
    setAssignedIdentityCounts(m, { Created: 0, Assigned: 6, Unassigned: 0, none: 1 });
    const text = await m.registry.metrics();
    expect(text).toContain('aadpodidentity_mic_assigned_identities{state="Created"} 0');
    expect(text).toContain('aadpodidentity_mic_assigned_identities{state="Assigned"} 6');
    expect(text).toContain('aadpodidentity_mic_assigned_identities{state="none"} 1');
  });
});
