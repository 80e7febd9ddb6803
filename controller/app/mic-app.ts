/**
 * Composition of one controller replica: informers (warm on standbys too, so failover is quick),
 * leader election, the controller started on leadership, the pause switch, probes and metrics.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { MicOptions } from '../config/options.js';
import type { CloudProvider } from '../cloud/provider.js';
import { IdentityScreen } from '../cloud/identity-screen.js';
import { IdentityValidator, type IdentityReader } from '../cloud/identity-validator.js';
import { EventRecorder } from '../kube/event-recorder.js';
import { LeaderElector, type LeaseLoss, type LockPermissionDenial, type StopReason } from '../kube/leader-election.js';
import { PermissionReporter, skipWhenForbidden } from '../kube/permissions.js';
import { isForbidden, KUBE_REQUEST_TIMEOUT_MS, makeApiClient } from '../kube/client.js';
import type { PodConditionWriter } from '../reconcile/controller.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics, type MicMetrics } from '../observability/metrics.js';
import { startObservabilityServers, type HealthState, type ObservabilityServers } from '../observability/probes.js';
import { KubeAssignedIdentityWriter } from '../reconcile/aai-writer.js';
import { InformerClusterState } from '../reconcile/cluster-state.js';
import { MicController } from '../reconcile/controller.js';
import { KubePodConditionWriter } from '../reconcile/pod-conditions.js';
import { ConfigMapOwnershipStore } from '../reconcile/ownership.js';
import { Quarantine } from '../reconcile/quarantine.js';
import { resolveNodeTarget } from '../reconcile/targets.js';
import { TargetWorker } from '../reconcile/target-worker.js';
import { systemClock, type Clock } from '../util/clock.js';
import { PauseSwitch } from './pause.js';
import { runTypeUpgrade } from './type-upgrade.js';
import { MIC_VERSION } from './version.js';

/** Inputs of {@link MicApp}. */
export interface MicAppOptions {
  options: MicOptions;
  /** Subscription/resource group of azure.json (for nodes without a providerID). */
  subscriptionId: string;
  resourceGroup: string;
  /** Client ID of the cluster identity (`userAssignedIdentityID` of azure.json, any auth mode; never removed), or ''. */
  clusterIdentityClientId: string;
  cloud: CloudProvider;
  kc: KubeConfig;
  logger: Logger;
  metrics?: MicMetrics;
  clock?: Clock;
  /** Serve /healthz, /readyz, /metrics (default true). */
  serveProbes?: boolean;
  /** Called when leadership is lost, with how it was lost (main exits the process, as upstream). */
  onLeadershipLost?: (loss: LeaseLoss | undefined) => void;
  /** Target worker concurrency (default 32). */
  targetConcurrency?: number;
  /** Time in-flight ARM writes get on shutdown before they are abandoned (default 10 s). */
  stopGraceMs?: number;
  /** LRO poll interval etc. are the cloud provider's business; nothing else here. */
  /** Reads user-assigned identities for identity validation (IdentityNotFound / IdentityClientIDMismatch); omit to disable. */
  identityReader?: IdentityReader;
}

/** One replica of the controller. */
export class MicApp {
  readonly state: InformerClusterState;
  readonly elector: LeaderElector;
  readonly controller: MicController;
  readonly worker: TargetWorker;
  readonly ownership: ConfigMapOwnershipStore;
  readonly events: EventRecorder;
  readonly pause: PauseSwitch;
  readonly metrics: MicMetrics;
  /** RBAC permissions refused so far (degraded features), shown on /readyz. */
  readonly permissions: PermissionReporter;
  #o: MicAppOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  #servers: ObservabilityServers | undefined;
  #syncLoopRunning = false;
  #shuttingDown = false;
  #leading = false;

  constructor(o: MicAppOptions) {
    this.#clock = o.clock ?? systemClock;
    this.#log = o.logger;
    this.metrics = o.metrics ?? createMetrics();
    o = { ...o, metrics: this.metrics };
    this.#o = o;
    const opts = o.options;
    const core = makeApiClient(o.kc, CoreV1Api, { requestTimeoutMs: KUBE_REQUEST_TIMEOUT_MS });
    this.ownership = new ConfigMapOwnershipStore(core, opts.micPodNamespace);
    this.events = new EventRecorder({ kc: o.kc, clock: this.#clock, logger: o.logger, instance: opts.leaderElectionInstance });
    this.permissions = new PermissionReporter({
      logger: o.logger,
      events: this.events,
      // The leader lock object (before its first read, a reference by name).
      eventTarget: () =>
        this.elector.lockStatus().active.map((l) => l.eventTarget()).find((t) => t !== undefined) ??
        { apiVersion: 'v1', kind: 'Endpoints', name: opts.leaderElectionName, namespace: opts.leaderElectionNamespace },
    });
    const quarantine = new Quarantine({ clock: this.#clock });
    const immutable = new Set([...opts.immutableUserMsis, o.clusterIdentityClientId].filter(Boolean).map((s) => s.toLowerCase()));
    // The worker, informers and pause switch call back into the controller, which is built after them.
    const late: { controller?: MicController } = {};
    this.worker = new TargetWorker({
      cloud: o.cloud,
      ownership: this.ownership,
      quarantine,
      gate: { blockedReason: () => this.#blockedReason(), fenceReason: () => this.#fenceReason() },
      clock: this.#clock,
      logger: o.logger,
      hooks: {
        onObserved: (k) => late.controller?.workerHooks.onObserved(k),
        onRejected: (k, f, ids) => late.controller?.workerHooks.onRejected(k, f, ids),
        onFailure: (k, f) => late.controller?.workerHooks.onFailure(k, f),
        onWrite: (k, d, w, ms) => late.controller?.workerHooks.onWrite(k, d, w, ms),
        onDryRun: (k, d) => late.controller?.workerHooks.onDryRun(k, d),
        onPreconditionFailed: (k) => late.controller?.workerHooks.onPreconditionFailed(k),
      },
      protectedIds: () => late.controller?.lastPlan?.protectedIds ?? new Set(),
      immutableClientIds: immutable,
      unassignGraceMs: opts.unassignGracePeriodMs,
      batchWindowMs: opts.armBatchWindowMs,
      driftIntervalMs: opts.identityAssignmentReconcileIntervalMs,
      dryRun: opts.dryRun,
    });
    this.state = new InformerClusterState({
      kc: o.kc,
      clock: this.#clock,
      logger: o.logger,
      onChange: () => late.controller?.requestSync(),
      onInvalid: (kind, obj, err) => {
        const meta = (obj as { metadata?: { name?: string; namespace?: string; uid?: string } })?.metadata;
        o.logger.warn('Ignoring malformed object', { kind, object: `${meta?.namespace ?? ''}/${meta?.name ?? ''}`, err });
        if (meta?.name && this.#leading && !opts.dryRun) {
          this.events.record({ kind, name: meta.name, namespace: meta.namespace, uid: meta.uid, apiVersion: kind === 'Pod' || kind === 'Node' ? 'v1' : 'aadpodidentity.k8s.io/v1' },
            'Warning', 'InvalidObject', `ignored by the identity controller: ${(err as Error).message}`);
        }
      },
      onStateChange: (resource, st) => o.metrics?.informerSynced.set({ resource }, st === 'watching' ? 1 : 0),
    });
    const controller = new MicController({
      planConfig: {
        forceNamespaced: opts.forceNamespaced,
        immutableClientIds: immutable,
        defaults: { subscriptionId: o.subscriptionId, resourceGroup: o.resourceGroup },
        unassignGraceMs: opts.unassignGracePeriodMs,
        confirmMaxAgeMs: opts.identityAssignmentReconcileIntervalMs,
      },
      state: this.state,
      writer: new KubeAssignedIdentityWriter(makeApiClient(o.kc, CustomObjectsApi, { requestTimeoutMs: KUBE_REQUEST_TIMEOUT_MS })),
      worker: this.worker,
      events: this.events,
      clock: this.#clock,
      logger: o.logger,
      metrics: o.metrics,
      kubeWriteConcurrency: opts.createDeleteBatch,
      kubeQps: opts.clientQps,
      targetConcurrency: o.targetConcurrency,
      stopGraceMs: o.stopGraceMs,
      resyncIntervalMs: opts.syncRetryDurationMs,
      dryRun: opts.dryRun,
      podConditions: this.#guardedPodConditions(new KubePodConditionWriter(core)),
      quarantine,
      fenceReason: () => this.#fenceReason(),
      ...(o.identityReader
        ? {
            identityScreen: new IdentityScreen({
              validator: new IdentityValidator({ read: o.identityReader, clock: this.#clock, logger: o.logger, onResult: () => late.controller?.requestSync() }),
              quarantine,
              events: this.events,
              logger: o.logger,
            }),
          }
        : {}),
    });
    late.controller = controller;
    this.controller = controller;
    this.pause = new PauseSwitch({
      kc: o.kc,
      namespace: opts.micPodNamespace,
      name: opts.pauseConfigMap,
      clock: this.#clock,
      logger: o.logger,
      onPermissionMissing: (p) => this.permissions.report(p),
      onChange: (paused) => {
        o.metrics?.paused.set(paused ? 1 : 0);
        if (!paused) late.controller?.requestSync();
        for (const key of this.worker.states().keys()) late.controller?.requestTarget(key);
      },
    });
    const d = opts.leaderElectionDurationMs;
    this.elector = new LeaderElector({
      kc: o.kc,
      namespace: opts.leaderElectionNamespace,
      name: opts.leaderElectionName,
      identity: opts.leaderElectionInstance,
      leaseDurationMs: d,
      // Renew deadline ⅔ and retry period 1/10 of the duration (15 s → 10 s / 1.5 s): a standby notices an
      // expired lease within 1.5 s, so failover after a crash takes about 17 s instead of upstream's ~23 s.
      renewDeadlineMs: Math.round((d * 2) / 3),
      retryPeriodMs: Math.max(100, Math.round(d / 10)),
      clock: this.#clock,
      logger: o.logger,
      onStartedLeading: (signal) => this.#startLeading(signal),
      onStoppedLeading: (reason) => void this.#stopLeading(reason),
      onNewLeader: (identity) => o.logger.info('Observed leader', { leader: identity }),
      onPermissionDenied: (denial) => this.#lockDenied(denial),
      // A dry run takes part in the election (its lock records) but records no Events.
      ...(opts.dryRun ? {} : { events: this.events }),
    });
    this.metrics.leaderElectionMasterStatus.set({ name: opts.leaderElectionName }, 0);
  }

  /** True while this replica leads and its controller runs. */
  get active(): boolean {
    return this.#leading && this.#syncLoopRunning;
  }

  /** Starts informers, probes and the election. */
  async start(): Promise<void> {
    const opts = this.#o.options;
    this.#o.metrics?.newLeaderElectionCount.inc();
    this.state.start();
    this.pause.start();
    if (this.#o.serveProbes !== false) {
      this.#servers = await startObservabilityServers({
        probePort: opts.httpProbePort,
        metricsPort: opts.prometheusPort,
        registry: this.metrics.registry,
        health: () => this.health(),
        logger: this.#log,
        clock: this.#clock,
      });
    }
    this.elector.start();
  }

  /** Health snapshot for the probes. */
  health(): HealthState {
    return {
      leading: this.#leading,
      syncLoopRunning: this.#syncLoopRunning,
      lastLeaseRenewAt: this.elector.lastRenewAt(),
      lastLeaseObservedAt: this.elector.lastObservedAt(),
      leaseDurationMs: this.#o.options.leaderElectionDurationMs,
      informers: this.#leading
        ? (['pods', 'nodes', 'identities', 'bindings', 'assigned'] as const).map((n) => ({
            name: n,
            synced: this.state[n].hasSynced(),
            watching: this.state[n].isWatching(),
          }))
        : [],
      shuttingDown: this.#shuttingDown,
      missingPermissions: this.permissions.summary(),
      electionBlocked: this.elector.lockStatus().active.length === 0 ? 'RBAC refuses every leader lock (Endpoints and Lease)' : undefined,
    };
  }

  /** Readiness-gate conditions need `patch pods/status` (not in upstream's RBAC): skipped when refused. */
  #guardedPodConditions(writer: PodConditionWriter): PodConditionWriter {
    const setCondition = skipWhenForbidden((pod: Parameters<PodConditionWriter['setCondition']>[0], r: Parameters<PodConditionWriter['setCondition']>[1]) => writer.setCondition(pod, r), this.permissions, {
      verb: 'patch',
      resource: 'pods/status',
      namespace: '',
      consequence: 'the identity readiness condition is not written; pods with the readiness gate stay not ready (grant it or remove the gate)',
    }, isForbidden);
    return { setCondition };
  }

  #lockDenied(denial: LockPermissionDenial): void {
    const opts = this.#o.options;
    this.permissions.report({
      verb: denial.verb,
      resource: denial.lock.resource,
      namespace: opts.leaderElectionNamespace,
      consequence: denial.noLockLeft
        ? 'no leader lock is usable: this replica cannot lead (grant endpoints get/create/update)'
        : denial.lock.kind === 'Lease'
          ? 'leading through the Endpoints lock alone (as upstream MIC); a controller that only uses the Lease is not excluded'
          : 'leading through the Lease alone: an upstream MIC (Endpoints lock) running next to this one is NOT excluded',
    });
  }

  /** Graceful stop: finish or safely abandon in-flight work, release the lease, close everything. */
  async stop(): Promise<void> {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    await this.controller.stop();
    this.#syncLoopRunning = false;
    await this.elector.release().catch((err: unknown) => this.#log.warn('Failed to release the lease', { err }));
    await this.elector.stop();
    await Promise.all([this.state.stop(), this.pause.stop()]);
    await this.events.flush();
    await this.#servers?.close();
  }

  #blockedReason(): string | undefined {
    if (this.#shuttingDown) return 'shutting down';
    if (!this.elector.isLeader()) return 'not leader';
    if (this.pause.paused) return 'paused';
    return undefined;
  }

  /** Why this replica may not write at all (ARM, AAIs, pod conditions, ownership records): it does not lead. */
  #fenceReason(): string | undefined {
    return this.elector.isLeader() ? undefined : 'not leader';
  }

  async #startLeading(signal: AbortSignal): Promise<void> {
    this.#leading = true;
    this.#o.metrics?.isLeader.set(1);
    this.metrics.leaderElectionMasterStatus.set({ name: this.#o.options.leaderElectionName }, 1);
    this.metrics.leaderTransitions.inc();
    this.#log.info('Became leader', { identity: this.elector.identity });
    const opts = this.#o.options;
    if (opts.enableTypeUpgrade && !opts.dryRun) {
      await runTypeUpgrade({ kc: this.#o.kc, namespace: opts.micPodNamespace, configMapName: opts.configMapName, statusKey: opts.typeUpgradeStatusKey, version: MIC_VERSION, logger: this.#log })
        .catch((err: unknown) => this.#log.error('Type upgrade failed; continuing (retried at the next leadership)', { err }));
    }
    for (;;) {
      try {
        await this.ownership.load();
        break;
      } catch (err) {
        this.#log.error('Failed to load ownership records; retrying', { err });
        if (signal.aborted) return;
        await this.#clock.sleep(2000, signal).catch(() => undefined);
        if (signal.aborted) return;
      }
    }
    const synced = await this.state.waitForSync(signal);
    if (!synced || signal.aborted) return;
    if (this.ownership.listForbidden) await this.#loadOwnershipByName(signal);
    if (signal.aborted) return;
    // A new term: adoption runs again on first contact with every target; what this replica already
    // knows about targets is kept (writes based on it are etag-conditioned; see TargetWorker.newTerm).
    this.worker.newTerm();
    this.controller.start();
    this.#syncLoopRunning = true;
    this.#log.info('Sync loop started');
  }

  /** Upstream's RBAC has no ConfigMap list: read the records of every target the nodes show, by name. */
  async #loadOwnershipByName(signal: AbortSignal): Promise<void> {
    const opts = this.#o.options;
    this.permissions.report({
      verb: 'list',
      resource: 'configmaps',
      namespace: opts.micPodNamespace,
      consequence: 'ownership records are read by name for the VMs/VMSSs of current nodes; records of targets without nodes are not garbage-collected',
    });
    const defaults = { subscriptionId: this.#o.subscriptionId, resourceGroup: this.#o.resourceGroup };
    const targets = this.state.nodes.list().map((n) => resolveNodeTarget(n.name, n, defaults)).flatMap((r) => (r.ok ? [r.target] : []));
    while (!signal.aborted) {
      try {
        await this.ownership.loadByName(targets);
        return;
      } catch (err) {
        this.#log.error('Failed to read ownership records by name; retrying', { err });
        await this.#clock.sleep(2000, signal).catch(() => undefined);
      }
    }
  }

  async #stopLeading(reason: StopReason): Promise<void> {
    this.#leading = false;
    this.#o.metrics?.isLeader.set(0);
    this.metrics.leaderElectionMasterStatus.set({ name: this.#o.options.leaderElectionName }, 0);
    this.#log.warn('Stopped leading', { reason });
    // A lost lease aborts in-flight ARM calls at once: another replica may already lead. The grace
    // period is for a graceful stop (SIGTERM), where this replica still holds the lease.
    await this.controller.stop({ abortInFlight: reason === 'lost' });
    this.#syncLoopRunning = false;
    if (reason === 'lost') this.#o.onLeadershipLost?.(this.elector.lastLoss());
  }
}
