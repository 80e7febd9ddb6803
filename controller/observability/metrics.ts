/**
 * Prometheus metrics of the controller, on a dedicated prom-client {@link Registry}.
 *
 * The upstream MIC v1.8 series keep their names, labels and buckets (namespace `aadpodidentity_`)
 * so existing dashboards keep working; the project's own series use the `aadpodidentity_mic_`
 * prefix. The work queues export client-go's `workqueue_*` series (label `name`), and process
 * metrics come from prom-client's default collectors under their default names, so stock
 * dashboards and alerts for Kubernetes controllers and Node.js processes apply unchanged.
 * `docs/troubleshooting.md` explains each series and what to alert on.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WorkQueueMetrics, WorkQueueProbe } from '../kube/workqueue.js';

/** Namespace of every upstream-compatible series. */
export const UPSTREAM_PREFIX = 'aadpodidentity_';
/** Prefix of the series this project adds. */
export const MIC_PREFIX = 'aadpodidentity_mic_';
/** Prefix of client-go's work-queue series (k8s.io/component-base workqueue metrics provider). */
export const WORKQUEUE_PREFIX = 'workqueue_';

/** Upstream buckets for AzureAssignedIdentity create/update/delete durations (seconds). */
export const KUBE_OPERATION_BUCKETS: readonly number[] = [
  0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 2, 3, 4, 5, 10,
];
/** Upstream buckets for sync-cycle and cloud-operation durations (seconds). */
export const CYCLE_BUCKETS: readonly number[] = [0.5, 1, 5, 10, 30, 60, 120, 300, 600, 900, 1200];
/** Buckets for "pod seen → AzureAssignedIdentity Assigned" (seconds). */
export const ASSIGNMENT_LATENCY_BUCKETS: readonly number[] = [
  0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800,
];
/** client-go's work-queue duration buckets: 10 ns … 10 s, ×10 per step (`ExponentialBuckets(10e-9, 10, 10)`). */
export const WORKQUEUE_DURATION_BUCKETS: readonly number[] = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10];
/** Buckets for time spent waiting on a client-side or server-side throttle (seconds). */
export const THROTTLE_WAIT_BUCKETS: readonly number[] = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1200];

/**
 * `operation_type` values of the cloud-provider series: upstream's four, plus `vm_list`/`vmss_list`
 * (one LIST of a resource group's VMs/VMSS, used by the periodic drift check; upstream never lists).
 */
export type CloudOperationType = 'vm_get' | 'vm_update' | 'vmss_get' | 'vmss_update' | 'vm_list' | 'vmss_list';
/** Upstream `operation_type` values of `kubernetes_api_operations_errors_count`. */
export type KubeOperationType =
  | 'assigned_identity_addition'
  | 'assigned_identity_deletion'
  | 'assigned_identity_update'
  | 'update_azure_assigned_identity_status';
/** The `result` label of `aadpodidentity_mic_arm_requests_total`. */
export type ArmRequestResult = 'success' | 'throttled' | 'conflict' | 'forbidden' | 'not_found' | 'error';
/** Every {@link ArmRequestResult}, in a stable order. */
export const ARM_REQUEST_RESULTS: readonly ArmRequestResult[] = [
  'success',
  'throttled',
  'conflict',
  'forbidden',
  'not_found',
  'error',
];

/** client-go's `workqueue_*` series, labelled by queue `name`. */
export interface WorkQueueSeries {
  readonly depth: Gauge<'name'>;
  readonly adds: Counter<'name'>;
  readonly queueDuration: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
  readonly unfinishedWork: Gauge<'name'>;
  readonly longestRunningProcessor: Gauge<'name'>;
  readonly retries: Counter<'name'>;
  /** The queue of each name whose in-flight keys the two gauges above report at scrape time. */
  readonly probes: Map<string, WorkQueueProbe>;
}

/** Where a throttling wait came from (`source` label of `throttle_wait_seconds`). */
export type ThrottleWaitSource = 'client' | 'arm';

/** The metric objects, typed by their label names. */
export interface MicMetrics {
  /** The registry every metric below is registered on (serve it on `/metrics`). */
  readonly registry: Registry;

  // ---- upstream-compatible (aadpodidentity_*) ----
  /** AzureAssignedIdentity created (POST succeeded). */
  readonly assignedIdentityAdditionCount: Counter;
  /** Duration of successful AzureAssignedIdentity creations. */
  readonly assignedIdentityAdditionDuration: Histogram;
  /** AzureAssignedIdentity deleted (including already gone). */
  readonly assignedIdentityDeletionCount: Counter;
  /** Duration of successful AzureAssignedIdentity deletions. */
  readonly assignedIdentityDeletionDuration: Histogram;
  /** AzureAssignedIdentity replaced (PUT succeeded). */
  readonly assignedIdentityUpdateCount: Counter;
  /** Duration of successful AzureAssignedIdentity updates. */
  readonly assignedIdentityUpdateDuration: Histogram;
  /** Reconcile cycles that did work. */
  readonly cycleCount: Counter;
  /** Duration of reconcile cycles that did work. */
  readonly cycleDuration: Histogram;
  /** Leader-election starts (upstream counts process starts; we count leadership acquisitions too). */
  readonly newLeaderElectionCount: Counter;
  /** Failed ARM calls by upstream operation type. */
  readonly cloudProviderOperationsErrors: Counter<'operation_type'>;
  /** Duration of successful ARM calls by upstream operation type. */
  readonly cloudProviderOperationsDuration: Histogram<'operation_type'>;
  /** Failed Kubernetes writes by upstream operation type. */
  readonly kubernetesApiOperationsErrors: Counter<'operation_type'>;

  // ---- project series (aadpodidentity_mic_*) ----
  /** Seconds from the controller first seeing a pod's (pod, identity) pair to the AAI being Assigned. */
  readonly assignmentLatency: Histogram;
  /** Keys waiting in the work queue. */
  readonly queueDepth: Gauge;
  /** ARM requests by operation and classified result. */
  readonly armRequests: Counter<'operation' | 'result'>;
  /** ARM identity updates (PATCH chunks with their LROs) currently in flight. */
  readonly armWritesInflight: Gauge;
  /** Waits imposed on ARM calls by throttling: client-side refusals and ARM's Retry-After. */
  readonly throttleWait: Histogram<'source'>;
  /** Identities currently quarantined after repeated per-identity failures. */
  readonly quarantinedIdentities: Gauge;
  /** AzureAssignedIdentities by `status.status` (`Created`, `Assigned`, `Unassigned`, `none`). */
  readonly assignedIdentities: Gauge<'state'>;
  /** Age in seconds of the oldest AzureAssignedIdentity still `Created` (0 when none). */
  readonly oldestCreatedAge: Gauge;
  /** 1 while this process holds the leader lease. */
  readonly isLeader: Gauge;
  /** 1 when the informer of `resource` has synced and is watching. */
  readonly informerSynced: Gauge<'resource'>;
  /** 1 while ARM writes are paused (pause ConfigMap). */
  readonly paused: Gauge;
  /** Kubernetes Events emitted by type and reason. */
  readonly eventsEmitted: Counter<'type' | 'reason'>;
  /** ARM identity writes refused with 412 (the target changed since it was read); each is re-read and retried. */
  readonly armPreconditionFailed: Counter;

  // ---- client-go conventions (workqueue_*) ----
  /** The work queues' series; feed them through {@link workQueueMetrics}. */
  readonly workqueue: WorkQueueSeries;
  /** client-go's `leader_election_master_status{name}`: 1 while this process leads the named election. */
  readonly leaderElectionMasterStatus: Gauge<'name'>;
  /** Times this process became leader (sum over replicas for a "leadership flapping" alert). */
  readonly leaderTransitions: Counter;
}

/** Options of {@link createMetrics}. */
export interface CreateMetricsOptions {
  /** Register prom-client's process/runtime collectors (default names, no prefix). Default true. */
  defaultMetrics?: boolean;
}

/**
 * Creates every controller metric on `registry` (a fresh one by default). Calling it twice on the
 * same registry throws (prom-client refuses duplicate names), so create one set per process.
 */
export function createMetrics(registry: Registry = new Registry(), options: CreateMetricsOptions = {}): MicMetrics {
  const registers = [registry];
  const counter = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> =>
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> =>
    new Gauge<L>({ name, help, labelNames, registers });
  const histogram = <L extends string = string>(
    name: string,
    help: string,
    buckets: readonly number[],
    labelNames: readonly L[] = [],
  ): Histogram<L> => new Histogram<L>({ name, help, labelNames, buckets: [...buckets], registers });

  const up = (suffix: string): string => UPSTREAM_PREFIX + suffix;
  const own = (suffix: string): string => MIC_PREFIX + suffix;

  const metrics: MicMetrics = {
    registry,
    assignedIdentityAdditionCount: counter(up('assigned_identity_addition_count'), 'Total number of AzureAssignedIdentity creations'),
    assignedIdentityAdditionDuration: histogram(
      up('assigned_identity_addition_duration_seconds'),
      'Duration in seconds of AzureAssignedIdentity creations',
      KUBE_OPERATION_BUCKETS,
    ),
    assignedIdentityDeletionCount: counter(up('assigned_identity_deletion_count'), 'Total number of AzureAssignedIdentity deletions'),
    assignedIdentityDeletionDuration: histogram(
      up('assigned_identity_deletion_duration_seconds'),
      'Duration in seconds of AzureAssignedIdentity deletions',
      KUBE_OPERATION_BUCKETS,
    ),
    assignedIdentityUpdateCount: counter(up('assigned_identity_update_count'), 'Total number of AzureAssignedIdentity updates'),
    assignedIdentityUpdateDuration: histogram(
      up('assigned_identity_update_duration_seconds'),
      'Duration in seconds of AzureAssignedIdentity updates',
      KUBE_OPERATION_BUCKETS,
    ),
    cycleCount: counter(up('mic_cycle_count'), 'Total number of MIC reconcile cycles that did work'),
    cycleDuration: histogram(up('mic_cycle_duration_seconds'), 'Duration in seconds of MIC reconcile cycles', CYCLE_BUCKETS),
    newLeaderElectionCount: counter(up('mic_new_leader_election_count'), 'Total number of MIC leader elections'),
    cloudProviderOperationsErrors: counter(
      up('cloud_provider_operations_errors_count'),
      'Total number of failed cloud provider (ARM) operations',
      ['operation_type'],
    ),
    cloudProviderOperationsDuration: histogram(
      up('cloud_provider_operations_duration_seconds'),
      'Duration in seconds of successful cloud provider (ARM) operations',
      CYCLE_BUCKETS,
      ['operation_type'],
    ),
    kubernetesApiOperationsErrors: counter(
      up('kubernetes_api_operations_errors_count'),
      'Total number of failed Kubernetes API write operations',
      ['operation_type'],
    ),

    assignmentLatency: histogram(
      own('assignment_latency_seconds'),
      'Seconds from the controller seeing a pod that needs an identity to its AzureAssignedIdentity becoming Assigned',
      ASSIGNMENT_LATENCY_BUCKETS,
    ),
    queueDepth: gauge(own('queue_depth'), 'Number of targets (VM/VMSS keys) waiting in the work queue'),
    armRequests: counter(own('arm_requests_total'), 'ARM requests by operation and result', ['operation', 'result']),
    armWritesInflight: gauge(own('arm_writes_inflight'), 'ARM identity updates (PATCH requests including their long-running operations) in flight'),
    throttleWait: histogram(
      own('throttle_wait_seconds'),
      'Seconds an ARM call was told to wait by throttling: source="client" for a client-side budget or Retry-After gate refusal, source="arm" for a Retry-After from ARM',
      THROTTLE_WAIT_BUCKETS,
      ['source'],
    ),
    quarantinedIdentities: gauge(own('quarantined_identities'), 'Identities currently quarantined after repeated failures'),
    assignedIdentities: gauge(own('assigned_identities'), 'AzureAssignedIdentities by status', ['state']),
    oldestCreatedAge: gauge(
      own('oldest_created_age_seconds'),
      'Age in seconds of the oldest AzureAssignedIdentity still in Created state (0 if none)',
    ),
    isLeader: gauge(own('is_leader'), '1 while this process holds the leader lease, else 0'),
    informerSynced: gauge(own('informer_synced'), '1 when the informer has synced and is watching, else 0', ['resource']),
    paused: gauge(own('paused'), '1 while ARM writes are paused by the pause switch, else 0'),
    eventsEmitted: counter(own('events_emitted_total'), 'Kubernetes Events emitted by type and reason', ['type', 'reason']),
    armPreconditionFailed: counter(
      own('arm_precondition_failed_total'),
      'ARM identity writes refused with 412 Precondition Failed because the VM/VMSS changed since it was read (re-read and retried)',
    ),
    workqueue: createWorkQueueSeries(registers),
    leaderElectionMasterStatus: gauge('leader_election_master_status', 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. \'name\' is the string used to identify the lease.', ['name']),
    leaderTransitions: counter(own('leader_transitions_total'), 'Number of times this process became leader'),
  };

  // Gauges that have a meaningful zero are exported from the start.
  metrics.queueDepth.set(0);
  metrics.armWritesInflight.set(0);
  metrics.quarantinedIdentities.set(0);
  metrics.oldestCreatedAge.set(0);
  metrics.isLeader.set(0);
  metrics.paused.set(0);

  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
  }
  return metrics;
}

/** The `workqueue_*` series with client-go's names, help texts, buckets and `name` label. */
function createWorkQueueSeries(registers: Registry[]): WorkQueueSeries {
  const probes = new Map<string, WorkQueueProbe>();
  const wq = (suffix: string): string => WORKQUEUE_PREFIX + suffix;
  const labelNames = ['name'] as const;
  /** A gauge computed at scrape time from each queue's in-flight processing ages (seconds). */
  const inFlightGauge = (name: string, help: string, reduce: (agesSeconds: number[]) => number): Gauge<'name'> =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect(this: Gauge<'name'>) {
        for (const [queue, probe] of probes) this.set({ name: queue }, reduce(probe.processingAgesMs().map((ms) => ms / 1000)));
      },
    });
  return {
    depth: new Gauge({ name: wq('depth'), help: 'Current depth of workqueue', labelNames, registers }),
    adds: new Counter({ name: wq('adds_total'), help: 'Total number of adds handled by workqueue', labelNames, registers }),
    queueDuration: new Histogram({
      name: wq('queue_duration_seconds'),
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames,
      buckets: [...WORKQUEUE_DURATION_BUCKETS],
      registers,
    }),
    workDuration: new Histogram({
      name: wq('work_duration_seconds'),
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames,
      buckets: [...WORKQUEUE_DURATION_BUCKETS],
      registers,
    }),
    unfinishedWork: inFlightGauge(
      wq('unfinished_work_seconds'),
      "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads",
      (ages) => ages.reduce((a, b) => a + b, 0),
    ),
    longestRunningProcessor: inFlightGauge(
      wq('longest_running_processor_seconds'),
      'How many seconds has the longest running processor for workqueue been running',
      (ages) => ages.reduce((a, b) => Math.max(a, b), 0),
    ),
    retries: new Counter({ name: wq('retries_total'), help: 'Total number of retries handled by workqueue', labelNames, registers }),
    probes,
  };
}

/**
 * The hooks that feed the `workqueue_*` series of queue `name` (empty without metrics).
 * `onDepth` is an extra depth listener (e.g. a project gauge mirroring one queue).
 */
export function workQueueMetrics(metrics: MicMetrics | undefined, name: string, onDepth?: (n: number) => void): WorkQueueMetrics {
  if (!metrics) return onDepth ? { onDepth } : {};
  const s = metrics.workqueue;
  const labels = { name };
  s.depth.set(labels, 0);
  s.adds.inc(labels, 0);
  s.retries.inc(labels, 0);
  return {
    onDepth: (n) => {
      s.depth.set(labels, n);
      onDepth?.(n);
    },
    onAdd: () => s.adds.inc(labels),
    onRetry: () => s.retries.inc(labels),
    onQueued: (ms) => s.queueDuration.observe(labels, ms / 1000),
    onWork: (ms) => s.workDuration.observe(labels, ms / 1000),
    observe: (probe) => {
      s.probes.set(name, probe);
    },
  };
}

/** One ARM call as reported by the cloud provider's `onCall` hook. */
export interface ArmCallRecord {
  /** Upstream operation type. */
  op: CloudOperationType;
  /** Coarse outcome the provider saw. */
  outcome: 'success' | 'throttled' | 'error';
  /** Wall-clock duration of the call, including any LRO wait. */
  durationMs: number;
  /** HTTP status of the failing response, when known. */
  statusCode?: number;
}

/** Maps a call outcome (and HTTP status) onto the `result` label of `arm_requests_total`. */
export function armRequestResult(outcome: ArmCallRecord['outcome'], statusCode?: number): ArmRequestResult {
  if (outcome === 'success') return 'success';
  if (outcome === 'throttled' || statusCode === 429) return 'throttled';
  switch (statusCode) {
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    default:
      return 'error';
  }
}

/**
 * Records one ARM call on both the upstream series (errors count / success duration by
 * `operation_type`) and `aadpodidentity_mic_arm_requests_total`.
 */
export function recordArmCall(metrics: MicMetrics, call: ArmCallRecord): void {
  const result = armRequestResult(call.outcome, call.statusCode);
  metrics.armRequests.inc({ operation: call.op, result });
  if (result === 'success') {
    metrics.cloudProviderOperationsDuration.observe({ operation_type: call.op }, call.durationMs / 1000);
  } else {
    metrics.cloudProviderOperationsErrors.inc({ operation_type: call.op });
  }
}

/** Counts of AzureAssignedIdentities by status, for {@link setAssignedIdentityCounts}. */
export interface AssignedIdentityCounts {
  Created: number;
  Assigned: number;
  Unassigned: number;
  /** Objects with an empty status (written by pre-1.5 MICs). */
  none: number;
}

/** Sets every `assigned_identities{state}` series at once (so vanished states drop to 0). */
export function setAssignedIdentityCounts(metrics: MicMetrics, counts: AssignedIdentityCounts): void {
  for (const state of ['Created', 'Assigned', 'Unassigned', 'none'] as const) {
    metrics.assignedIdentities.set({ state }, counts[state]);
  }
}
