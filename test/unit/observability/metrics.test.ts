import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import { WorkQueue } from '../../../controller/kube/workqueue.js';
import {
  ARM_REQUEST_RESULTS,
  armRequestResult,
  createMetrics,
  recordArmCall,
  setAssignedIdentityCounts,
  workQueueMetrics,
} from '../../../controller/observability/metrics.js';
import { FakeClock } from '../../../controller/util/clock.js';

/**
 * client-go's work-queue series (k8s.io/component-base/metrics/prometheus/workqueue): name →
 * [type, help]. The label is `name` on each.
 */
const CLIENT_GO_WORKQUEUE: Record<string, [string, string]> = {
  workqueue_depth: ['gauge', 'Current depth of workqueue'],
  workqueue_adds_total: ['counter', 'Total number of adds handled by workqueue'],
  workqueue_queue_duration_seconds: ['histogram', 'How long in seconds an item stays in workqueue before being requested'],
  workqueue_work_duration_seconds: ['histogram', 'How long in seconds processing an item from workqueue takes'],
  workqueue_unfinished_work_seconds: ['gauge', "How many seconds of work has been done that is in progress and hasn't been observed by work_duration"],
  workqueue_longest_running_processor_seconds: ['gauge', 'How many seconds has the longest running processor for workqueue been running'],
  workqueue_retries_total: ['counter', 'Total number of retries handled by workqueue'],
};

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
  aadpodidentity_mic_throttle_wait_seconds: ['histogram', ['source']],
  aadpodidentity_mic_quarantined_identities: ['gauge', []],
  aadpodidentity_mic_assigned_identities: ['gauge', ['state']],
  aadpodidentity_mic_oldest_created_age_seconds: ['gauge', []],
  aadpodidentity_mic_is_leader: ['gauge', []],
  aadpodidentity_mic_informer_synced: ['gauge', ['resource']],
  aadpodidentity_mic_paused: ['gauge', []],
  aadpodidentity_mic_events_emitted_total: ['counter', ['type', 'reason']],
  ...Object.fromEntries(Object.entries(CLIENT_GO_WORKQUEUE).map(([name, [type]]) => [name, [type, ['name']]])),
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

  it("registers prom-client's default process metrics under their default names (no prefix)", async () => {
    const m = createMetrics();
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name).filter((n) => !n.startsWith('aadpodidentity_') && !n.startsWith('workqueue_'));
    const reference = new PromRegistry();
    collectDefaultMetrics({ register: reference });
    const expected = (await reference.getMetricsAsJSON()).map((x) => x.name);
    expect(names.sort()).toEqual(expected.sort());
    expect(names).toEqual(expect.arrayContaining(['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']));
  });

  it("follows client-go's workqueue_* conventions: names, types, help, `name` label, duration buckets", async () => {
    const m = createMetrics(new Registry(), { defaultMetrics: false });
    const all = new Map((await m.registry.getMetricsAsJSON()).map((x) => [x.name, x]));
    for (const [name, [type, help]] of Object.entries(CLIENT_GO_WORKQUEUE)) {
      expect({ name, type: all.get(name)?.type, help: all.get(name)?.help.startsWith(help) }).toEqual({ name, type, help: true });
    }
    workQueueMetrics(m, 'targets').onQueued?.(0.5);
    const text = await m.registry.metrics();
    // ExponentialBuckets(10e-9, 10, 10): 1e-08 … 10.
    for (const le of ['1e-8', '1e-7', '0.001', '0.01', '0.1', '1', '10', '+Inf']) {
      expect(text).toContain(`workqueue_queue_duration_seconds_bucket{le="${le}",name="targets"}`);
    }
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

describe('workQueueMetrics', () => {
  it('feeds every workqueue_* series of a named queue from the queue itself', async () => {
    const m = createMetrics(new Registry(), { defaultMetrics: false });
    const clock = new FakeClock();
    const mirrored: number[] = [];
    const q = new WorkQueue({ clock, metrics: workQueueMetrics(m, 'targets', (n) => mirrored.push(n)) });
    const value = async (name: string, suffix = ''): Promise<number | undefined> =>
      (await m.registry.getMetricsAsJSON())
        .find((x) => x.name === name)
        ?.values.find((v) => v.labels.name === 'targets' && (suffix === '' || (v as { metricName?: string }).metricName === `${name}${suffix}`))?.value;

    q.add('a');
    q.add('b');
    q.add('a');
    expect(await value('workqueue_depth')).toBe(2);
    expect(await value('workqueue_adds_total')).toBe(2);
    expect(mirrored.at(-1)).toBe(2);

    await clock.advance(3000);
    const key = await q.get();
    expect(await value('workqueue_queue_duration_seconds', '_sum')).toBe(3);
    await clock.advance(4000);
    expect(await value('workqueue_unfinished_work_seconds')).toBe(4);
    expect(await value('workqueue_longest_running_processor_seconds')).toBe(4);
    await q.get();
    await clock.advance(1000);
    expect(await value('workqueue_unfinished_work_seconds')).toBe(6);
    expect(await value('workqueue_longest_running_processor_seconds')).toBe(5);

    q.addRateLimited(key as string);
    expect(await value('workqueue_retries_total')).toBe(1);
    q.done(key as string);
    q.done('b');
    expect(await value('workqueue_work_duration_seconds', '_sum')).toBe(6);
    expect(await value('workqueue_work_duration_seconds', '_count')).toBe(2);
    expect(await value('workqueue_unfinished_work_seconds')).toBe(0);
    expect(await value('workqueue_longest_running_processor_seconds')).toBe(0);
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
