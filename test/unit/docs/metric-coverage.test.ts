/**
 * Every documented controller metric must be shown to move by at least one integration test: each
 * series maps to the test file that asserts it (checked by finding the metric name in that file),
 * or is listed as not yet asserted with a reason. A new metric fails this test until it is one or
 * the other.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controllerMetrics } from '../../../hack/docs/metrics.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const MOVE_TEST = 'test/integration/observability/metrics-move.test.ts';
const ARM_METRICS_TEST = 'test/integration/cloud/arm-metrics.test.ts';
/** Metrics that move only on a refused write or a busy worker, driven by the emulators' fault controls. */
const FAULTS_TEST = 'test/integration/observability/metrics-faults.test.ts';
/** The work queues' client-go series are fed by the queue itself, asserted on a real WorkQueue. */
const WORKQUEUE_TEST = 'test/unit/observability/metrics.test.ts';

/** Metric → integration/e2e test file (relative to the root) that asserts the metric changes. */
const ASSERTED_IN: Readonly<Record<string, string>> = {
  aadpodidentity_assigned_identity_addition_count: MOVE_TEST,
  aadpodidentity_assigned_identity_addition_duration_seconds: MOVE_TEST,
  aadpodidentity_assigned_identity_deletion_count: MOVE_TEST,
  aadpodidentity_assigned_identity_deletion_duration_seconds: MOVE_TEST,
  aadpodidentity_assigned_identity_update_count: MOVE_TEST,
  aadpodidentity_assigned_identity_update_duration_seconds: MOVE_TEST,
  aadpodidentity_cloud_provider_operations_duration_seconds: MOVE_TEST,
  aadpodidentity_cloud_provider_operations_errors_count: MOVE_TEST,
  aadpodidentity_mic_cycle_count: MOVE_TEST,
  aadpodidentity_mic_cycle_duration_seconds: MOVE_TEST,
  aadpodidentity_mic_new_leader_election_count: MOVE_TEST,
  aadpodidentity_mic_arm_requests_total: MOVE_TEST,
  aadpodidentity_mic_assigned_identities: MOVE_TEST,
  aadpodidentity_mic_assignment_latency_seconds: MOVE_TEST,
  aadpodidentity_mic_events_emitted_total: MOVE_TEST,
  aadpodidentity_mic_arm_precondition_failed_total: 'test/integration/controller/safe-writes.test.ts',
  aadpodidentity_mic_informer_synced: MOVE_TEST,
  aadpodidentity_mic_is_leader: MOVE_TEST,
  aadpodidentity_mic_oldest_created_age_seconds: MOVE_TEST,
  aadpodidentity_mic_paused: MOVE_TEST,
  aadpodidentity_mic_quarantined_identities: MOVE_TEST,
  aadpodidentity_mic_leader_transitions_total: MOVE_TEST,
  leader_election_master_status: MOVE_TEST,
  aadpodidentity_mic_arm_writes_inflight: ARM_METRICS_TEST,
  aadpodidentity_mic_throttle_wait_seconds: ARM_METRICS_TEST,
  aadpodidentity_kubernetes_api_operations_errors_count: FAULTS_TEST,
  aadpodidentity_mic_queue_depth: FAULTS_TEST,
  workqueue_adds_total: WORKQUEUE_TEST,
  workqueue_depth: WORKQUEUE_TEST,
  workqueue_longest_running_processor_seconds: WORKQUEUE_TEST,
  workqueue_queue_duration_seconds: WORKQUEUE_TEST,
  workqueue_retries_total: WORKQUEUE_TEST,
  workqueue_unfinished_work_seconds: WORKQUEUE_TEST,
  workqueue_work_duration_seconds: WORKQUEUE_TEST,
};

/** Metrics no integration test asserts yet, with why. Move an entry to ASSERTED_IN when one does. */
const NOT_ASSERTED: Readonly<Record<string, string>> = {};

describe('every controller metric is asserted to move', () => {
  const metrics = controllerMetrics().map((m) => m.name);

  it('maps each metric to a test or to a reason', () => {
    const unaccounted = metrics.filter((m) => !(m in ASSERTED_IN) && !(m in NOT_ASSERTED));
    expect(unaccounted).toEqual([]);
  });

  it('lists no metric that does not exist, and none twice', () => {
    const known = new Set(metrics);
    expect([...Object.keys(ASSERTED_IN), ...Object.keys(NOT_ASSERTED)].filter((m) => !known.has(m))).toEqual([]);
    expect(Object.keys(ASSERTED_IN).filter((m) => m in NOT_ASSERTED)).toEqual([]);
  });

  it('names each mapped metric in its test file', () => {
    const bad = Object.entries(ASSERTED_IN).filter(([metric, file]) => !existsSync(join(ROOT, file)) || !readFileSync(join(ROOT, file), 'utf8').includes(metric));
    expect(bad).toEqual([]);
  });
});
