/**
 * The MIC controller loop. Informer events only mark work dirty. One coalesced sync pass turns the
 * cached cluster state into a plan and makes the Kubernetes writes; per-target workers make the ARM
 * writes, one in flight per VMSS/VM, all targets in parallel.
 */
import PQueue from 'p-queue';
import type { AzureAssignedIdentity } from '../api/types.js';
import { WorkQueue } from '../kube/workqueue.js';
import { workQueueMetrics, type MicMetrics } from '../observability/metrics.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import type { AssignedIdentityWriter } from './aai-writer.js';
import type { ArmFailure } from './arm-failures.js';
import type { DesiredAssignment, Problem } from './desired.js';
import { plan, presence, type KubeWrite, type Plan, type PlanConfig } from './plan.js';
import type { Snapshot } from './snapshot.js';
import { objectKey } from './snapshot.js';
import type { TargetDemand, TargetWorker } from './target-worker.js';
import type { Quarantine } from './quarantine.js';
import { computeReadiness, type PodReadiness } from './readiness.js';
import type { AzureIdentityBinding, PodInfo } from '../api/types.js';
import { RateLimiter } from '../util/token-bucket.js';
import { assertMayWrite } from './fencing.js';

/** Reference to the object an Event is about. */
export interface EventObjectRef {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

/** Where Events go (the event recorder). Must never throw or block. */
export interface EventSink {
  record(ref: EventObjectRef, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** The cluster state the controller reads, plus write-through notes so it never acts on stale cache. */
export interface ClusterState {
  /** True when every informer has listed once. */
  synced(): boolean;
  snapshot(): Snapshot;
  /** Records an object this controller just wrote (visible to the next snapshot before the watch echoes it). */
  noteWritten(aai: AzureAssignedIdentity): void;
  /** Records an object this controller just deleted. */
  noteDeleted(aai: AzureAssignedIdentity): void;
}

/** Writes the identity-ready condition of a pod (pods/status). */
export interface PodConditionWriter {
  setCondition(pod: PodInfo, readiness: PodReadiness): Promise<void>;
}

/** Options of {@link MicController}. */
export interface MicControllerOptions {
  planConfig: PlanConfig;
  state: ClusterState;
  writer: AssignedIdentityWriter;
  worker: TargetWorker;
  events: EventSink;
  clock: Clock;
  logger: Logger;
  metrics?: MicMetrics;
  /** Concurrent Kubernetes writes (`--createDeleteBatch`). */
  kubeWriteConcurrency: number;
  /** Concurrent target workers (ARM writes to different targets in flight at once). */
  targetConcurrency?: number;
  /** Periodic full pass (`--syncRetryDuration`). */
  resyncIntervalMs: number;
  /** Dry run: plan and log, write nothing. */
  dryRun?: boolean;
  /** How long in-flight ARM writes may run on after stop() before they are abandoned (default 10 s). */
  stopGraceMs?: number;
  /** Coalescing window of sync requests (default 50 ms). */
  syncBatchMs?: number;
  /** `--clientQps`: rate of Kubernetes writes (burst = its floor); undefined = unlimited. */
  kubeQps?: number;
  /** Maintains the identity readiness gate of pods that declare it (omit to disable). */
  podConditions?: PodConditionWriter;
  /** Explains held-back identities in readiness conditions. */
  quarantine?: Quarantine;
  /**
   * Why this replica may not write to Kubernetes (AAIs, pod conditions) right now, e.g. `not leader`;
   * undefined when it may. Checked before every write.
   */
  fenceReason?: () => string | undefined;
  /** Identity validation (issue 15): called once per sync pass with the desired assignments; never throws, waits only briefly (bounded). */
  identityScreen?: { screen(assignments: Iterable<DesiredAssignment>): Promise<void> };
}

/** Options of {@link MicController.stop}. */
export interface StopOptions {
  /** Abort in-flight ARM calls at once instead of granting the grace period (leadership lost). */
  abortInFlight?: boolean;
}

const SYNC_KEY = 'sync';

/** Key of an AAI in the planner's `writtenThisTerm`. */
function termKey(aai: AzureAssignedIdentity): string {
  return objectKey(aai.metadata.namespace, aai.metadata.name);
}
/** Default time in-flight ARM writes get to finish on stop. */
const DEFAULT_STOP_GRACE_MS = 10_000;
/** How long a term's first pass waits for the first reads of targets it writes `Created` AAIs onto. */
const FIRST_READ_WAIT_MS = 2_000;
const FIRST_READ_POLL_MS = 25;
/** Default coalescing window of sync requests. */
const DEFAULT_SYNC_BATCH_MS = 50;
/** A pass starts at least this many times the previous pass's planning time after it started. */
const PASS_DUTY_FACTOR = 8;
/** Upper bound of that hold. */
const MAX_PASS_HOLD_MS = 2_000;
/** How many entries `writtenThisTerm` may hold beyond the cached AAIs before gone ones are dropped. */
const WRITTEN_SLACK = 1_024;

/** The controller: start it when leadership is acquired, stop it when lost. */
export class MicController {
  readonly #o: MicControllerOptions;
  #syncQueue: WorkQueue;
  #targetQueue: WorkQueue;
  readonly #kubeWrites: PQueue;
  readonly #kubeLimiter: RateLimiter | undefined;
  #cycle = 0;
  /** Duration of the synchronous (planning) parts of the last pass. */
  #lastPlanMs = 0;
  #lastPlan: Plan | undefined;
  #reportedProblems = new Set<string>();
  #firstSeen = new Map<string, number>();
  #loops: Promise<void>[] = [];
  /** Aborted when the controller stops (ends the hold between passes). */
  #stopSignal = new AbortController();
  #stopResync: (() => void) | undefined;
  #running = false;
  /** Aborts in-flight ARM calls when a stop's grace period is over (or at once when the lease is lost). */
  #inflight = new AbortController();
  /** The stop in progress, if any. */
  #stopping: Promise<void> | undefined;
  /** AAIs (`namespace/name`) created or rewritten in this leadership term (not adoption evidence). */
  #writtenThisTerm = new Set<string>();
  /** No sync pass has run yet in this term (see #awaitFirstReads). */
  #firstPassOfTerm = true;
  /** Targets waiting out a retry delay: new demand must not cut the wait short. */
  readonly #retryAt = new Map<string, number>();

  constructor(options: MicControllerOptions) {
    this.#o = options;
    this.#syncQueue = this.#newSyncQueue();
    this.#targetQueue = this.#newTargetQueue();
    this.#kubeWrites = new PQueue({ concurrency: Math.max(1, options.kubeWriteConcurrency) });
    this.#kubeLimiter = options.kubeQps && options.kubeQps > 0 ? new RateLimiter(options.kubeQps, Math.floor(options.kubeQps), options.clock) : undefined;
  }

  #newSyncQueue(): WorkQueue {
    return new WorkQueue({ clock: this.#o.clock, rateLimit: { baseDelayMs: 200, maxDelayMs: 30_000 }, metrics: workQueueMetrics(this.#o.metrics, 'sync') });
  }

  #newTargetQueue(): WorkQueue {
    return new WorkQueue({
      clock: this.#o.clock,
      rateLimit: { baseDelayMs: 1_000, maxDelayMs: 300_000 },
      metrics: workQueueMetrics(this.#o.metrics, 'targets', (n) => this.#o.metrics?.queueDepth.set(n)),
    });
  }

  /** The plan of the last sync pass (for status reporting and tests). */
  get lastPlan(): Plan | undefined {
    return this.#lastPlan;
  }

  /**
   * Something in the cluster changed: asks for a sync pass soon. Requests within `syncBatchMs` coalesce
   * into one pass, so a burst of informer events costs a few passes, not one per event. Until that pass
   * has planned, the target workers' batching window does not count the time as quiet. Safe to call
   * from informer handlers.
   */
  requestSync(): void {
    if (!this.#running) return;
    this.#o.worker.noteClusterChange();
    this.#scheduleSync();
  }

  /** Asks for a sync pass soon, for a reason of this controller's own (a timer, an ARM answer). */
  #scheduleSync(): void {
    if (!this.#running) return;
    // Requests within the window share a pass; it grows with the cost of a pass (at most 2 s). The share
    // of a core planning may take is bounded by the hold between passes (#holdAfterPass), not here.
    const window = Math.min(2_000, Math.max(this.#o.syncBatchMs ?? DEFAULT_SYNC_BATCH_MS, 2 * this.#lastPlanMs));
    this.#syncQueue.addAfter(SYNC_KEY, window);
  }

  /** Asks for a pass over one target (unless it is waiting out a Retry-After or backoff). */
  requestTarget(key: string): void {
    if (!this.#running) return;
    const until = this.#retryAt.get(key);
    if (until !== undefined && until > this.#o.clock.now()) return;
    this.#targetQueue.add(key);
  }

  /** Starts the sync loop, the target workers and the periodic resync. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopSignal = new AbortController();
    this.#writtenThisTerm = new Set();
    this.#firstPassOfTerm = true;
    if (this.#syncQueue.isShuttingDown()) {
      this.#syncQueue = this.#newSyncQueue();
      this.#targetQueue = this.#newTargetQueue();
    }
    this.#loops.push(this.#syncLoop());
    for (let i = 0; i < (this.#o.targetConcurrency ?? 32); i++) this.#loops.push(this.#targetLoop());
    const tick = (): void => {
      this.#scheduleSync();
      this.#stopResync = this.#o.clock.setTimer(tick, this.#o.resyncIntervalMs);
    };
    this.#stopResync = this.#o.clock.setTimer(tick, this.#o.resyncIntervalMs);
    this.#scheduleSync();
  }

  /**
   * Stops taking new work and waits for in-flight passes (ARM writes included) to finish, for at most
   * the grace period; with `abortInFlight` (the lease was lost) in-flight ARM calls are aborted at once.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    if (options.abortInFlight) this.#inflight.abort(new Error('leadership lost'));
    if (this.#stopping) return this.#stopping;
    if (!this.#running) return;
    this.#stopping = this.#stop().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#running = false;
    this.#stopSignal.abort();
    this.#stopResync?.();
    this.#syncQueue.shutDown();
    this.#targetQueue.shutDown();
    // In-flight ARM writes get `stopGraceMs` to finish; then they are abandoned (aborted). That is safe:
    // ownership was recorded before the write, and the next leader reads the target before acting.
    const loops = Promise.allSettled(this.#loops);
    let timer: (() => void) | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = this.#o.clock.setTimer(resolve, this.#o.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
    });
    await Promise.race([loops, grace]);
    timer?.();
    this.#inflight.abort(new Error('controller stopping'));
    await loops;
    await this.#kubeWrites.onIdle();
    this.#loops = [];
    this.#inflight = new AbortController();
  }

  /** Hooks the target worker calls back into (wired by the composition root). */
  readonly workerHooks = {
    onObserved: (_key: string): void => this.#scheduleSync(),
    onRejected: (key: string, failure: ArmFailure, identities: readonly string[]): void => {
      this.#reportRejection(key, failure, identities);
      this.#scheduleSync();
    },
    onFailure: (key: string, failure: ArmFailure): void => this.#reportTargetFailure(key, failure),
    onWrite: (key: string, delta: { add: string[]; remove: string[] }, writes: number, durationMs: number): void => {
      this.#o.logger.info('Updated user-assigned identities', { target: key, assigned: delta.add.length, unassigned: delta.remove.length, writes, durationMs });
    },
    onDryRun: (key: string, delta: { add: string[]; remove: string[] }): void => {
      this.#o.logger.info('Dry run: would update user-assigned identities', { target: key, assign: delta.add, unassign: delta.remove });
    },
    onPreconditionFailed: (_key: string): void => {
      this.#o.metrics?.armPreconditionFailed.inc();
    },
  };

  async #syncLoop(): Promise<void> {
    for (;;) {
      const key = await this.#syncQueue.get();
      if (key === undefined) return;
      const passStarted = this.#o.clock.now();
      try {
        const ok = await this.#syncOnce();
        if (ok) this.#syncQueue.forget(key);
        else this.#syncQueue.addRateLimited(key);
      } catch (err) {
        this.#o.logger.error('Sync pass failed', { err, cycle: this.#cycle });
        this.#syncQueue.addRateLimited(key);
      } finally {
        await this.#holdAfterPass(passStarted);
        this.#syncQueue.done(key);
      }
    }
  }

  /**
   * Keeps the sync key busy until {@link PASS_DUTY_FACTOR} times the last pass's planning time has
   * passed since the pass started, so planning takes at most 1/PASS_DUTY_FACTOR of a core however large
   * the cluster (a pass at 10,000 pods plans for ~30 ms: the next starts ≥ ~240 ms after it). Changes
   * arriving meanwhile are planned together by the next pass. Ends early when the controller stops.
   */
  async #holdAfterPass(passStarted: number): Promise<void> {
    const hold = Math.min(MAX_PASS_HOLD_MS, PASS_DUTY_FACTOR * this.#lastPlanMs) - (this.#o.clock.now() - passStarted);
    if (hold <= 0 || !this.#running) return;
    try {
      await this.#o.clock.sleep(hold, this.#stopSignal.signal);
    } catch {
      // stopping
    }
  }

  async #targetLoop(): Promise<void> {
    for (;;) {
      const key = await this.#targetQueue.get();
      if (key === undefined) return;
      try {
        const result = await this.#o.worker.process(key, this.#inflight.signal);
        this.#retryAt.delete(key);
        if (result.kind === 'again') {
          this.#targetQueue.forget(key);
          this.#targetQueue.add(key);
        } else if (result.kind === 'retry') {
          const after = result.afterMs ?? this.#targetQueue.nextBackoffMs(key);
          this.#retryAt.set(key, this.#o.clock.now() + after);
          if (result.afterMs !== undefined) this.#targetQueue.addAfter(key, result.afterMs);
          else this.#targetQueue.addRateLimited(key);
        } else {
          this.#targetQueue.forget(key);
          if (result.requeueAfterMs !== undefined) this.#targetQueue.addAfter(key, result.requeueAfterMs);
        }
      } catch (err) {
        this.#o.logger.error('Target pass failed', { err, target: key });
        this.#targetQueue.addRateLimited(key);
      } finally {
        this.#targetQueue.done(key);
      }
    }
  }

  /** One sync pass. Returns false when it must be retried with backoff. */
  async #syncOnce(): Promise<boolean> {
    if (!this.#o.state.synced()) return false;
    const firstOfTerm = this.#firstPassOfTerm;
    this.#firstPassOfTerm = false;
    const cycle = ++this.#cycle;
    const started = this.#o.clock.now();
    this.#o.worker.planStarted();
    const snapshot = this.#o.state.snapshot();
    // Forget objects of ours that are gone, once the set has outgrown the cache (a key kept a little
    // longer is harmless: only this leader creates AAIs in its term, and it would add the key again).
    if (this.#writtenThisTerm.size > snapshot.assigned.length + WRITTEN_SLACK) {
      const present = new Set(snapshot.assigned.map(termKey));
      for (const key of this.#writtenThisTerm) if (!present.has(key)) this.#writtenThisTerm.delete(key);
    }
    const p = plan(snapshot, this.#o.worker.states(), this.#o.planConfig, { now: this.#o.clock.now(), writtenThisTerm: this.#writtenThisTerm });
    this.#lastPlan = p;
    const planMs = this.#o.clock.now() - started;
    this.#lastPlanMs = planMs;
    const now = this.#o.clock.now();
    for (const key of p.desired.desired.keys()) if (!this.#firstSeen.has(key)) this.#firstSeen.set(key, now);
    for (const key of this.#firstSeen.keys()) if (!p.desired.desired.has(key)) this.#firstSeen.delete(key);

    await this.#o.identityScreen?.screen(p.desired.desired.values());
    const screened = this.#o.clock.now();
    const demand = new Map<string, TargetDemand>();
    for (const tp of p.targets.values()) demand.set(tp.key, { target: tp.target, desired: tp.desired, adoptable: tp.adoptable, confirm: tp.confirm });
    for (const key of this.#o.worker.setDemand(demand)) this.requestTarget(key);
    this.#reportProblems(p.problems);
    this.#updateStateMetrics(snapshot);
    // The window before the next pass counts every synchronous part of this one (not the screen's wait).
    this.#lastPlanMs = planMs + (this.#o.clock.now() - screened);

    const k = p.kube;
    const work = k.create.length + k.update.length + k.assign.length + k.remove.length + k.demote.length;
    if (work === 0) return this.#o.dryRun ? true : this.#updateReadiness(snapshot, p);
    const log = this.#o.logger.child({ cycle });
    if (this.#o.dryRun) {
      log.info('Dry run: would write AzureAssignedIdentities', {
        create: k.create.map((w) => w.body.metadata.name),
        update: k.update.map((w) => w.body.metadata.name),
        assign: k.assign.map((a) => a.aai.metadata.name),
        demote: k.demote.map((a) => a.aai.metadata.name),
        delete: k.remove.map((r) => r.aai.metadata.name),
      });
      return true;
    }
    let failed = 0;
    const run = (fn: () => Promise<void>): Promise<void> =>
      this.#kubeWrites.add(async () => {
        try {
          await this.#kubeLimiter?.take();
          assertMayWrite(this.#o.fenceReason);
          await fn();
        } catch {
          failed++;
        }
      });
    // Queue order: writes that report `Assigned` first (those pods can start), then demotions, then
    // `Created` writes, which are checked again when their turn comes and sent `Assigned` if the target
    // was confirmed meanwhile (one write per assignment instead of two).
    const assigned = (w: KubeWrite): boolean => w.body.status?.status === 'Assigned';
    const first = [
      ...k.create.filter(assigned).map((w) => run(() => this.#create(w.body, w.desired))),
      ...k.update.filter(assigned).map((w) => run(() => this.#update(w.body, w.desired))),
      ...k.assign.map((a) => run(() => this.#assign(a.aai, a.desired))),
      ...k.demote.map((a) => run(() => this.#demote(a.aai, a.desired, a.why))),
    ];
    const later = [...k.update.filter((w) => !assigned(w)), ...k.create.filter((w) => !assigned(w))];
    // The first pass of a term (a takeover) waits briefly for the first reads of the targets it
    // would write `Created` AAIs onto: the previous leader usually finished the ARM side, so after
    // the read those go out `Assigned` in one write. Only then: a wait in later passes would hold
    // back planning and split the ARM batches of a burst.
    if (firstOfTerm) await this.#awaitFirstReads(later);
    // Those ARM has confirmed since the plan go first; the rest last, so that identities being added
    // right now have the most time to be confirmed before their writes are sent.
    // (A stable partition, each write checked once; every write is checked again when it is sent.)
    const confirmedNow = later.map((w) => this.#lateStatus(w) !== w.body);
    const ordered = [...later.filter((_, i) => confirmedNow[i]), ...later.filter((_, i) => !confirmedNow[i])];
    await Promise.all([
      ...first,
      ...ordered.map((w) => run(() => (w.existing ? this.#update(this.#lateStatus(w), w.desired) : this.#create(this.#lateStatus(w), w.desired)))),
    ]);
    await Promise.all(k.remove.map((r) => run(() => this.#remove(r.aai, r.nodeGone))));
    if (failed === 0 && !(await this.#updateReadiness(snapshot, p))) failed++;
    const seconds = (this.#o.clock.now() - started) / 1000;
    this.#o.metrics?.cycleCount.inc();
    this.#o.metrics?.cycleDuration.observe(seconds);
    log.info('Sync pass wrote AzureAssignedIdentities', {
      created: k.create.length,
      updated: k.update.length,
      assigned: k.assign.length,
      demoted: k.demote.length,
      deleted: k.remove.length,
      pendingAssignment: k.pendingAssignment.length,
      pendingRemoval: k.pendingRemoval.length,
      failed,
      durationMs: Math.round(seconds * 1000),
    });
    return failed === 0;
  }

  /** Waits until every target of `writes` not read yet has been read or has failed, for at most {@link FIRST_READ_WAIT_MS}. */
  async #awaitFirstReads(writes: readonly KubeWrite[]): Promise<void> {
    const keys = new Set(writes.flatMap((w) => (w.targetKey && w.desired.identityId ? [w.targetKey] : [])));
    const pending = (): boolean => [...keys].some((key) => !this.#o.worker.confirmation(key)?.observed && !this.#o.worker.lastFailure(key));
    const deadline = this.#o.clock.now() + FIRST_READ_WAIT_MS;
    while (this.#running && pending() && this.#o.clock.now() < deadline) await this.#o.clock.sleep(FIRST_READ_POLL_MS);
  }

  /**
   * The body of a write planned `Created`, as it should be sent now: `Assigned` when its identity has
   * been confirmed present on its target since the plan (the planner's rule, applied to ARM's latest word).
   */
  #lateStatus(w: KubeWrite): AzureAssignedIdentity {
    const id = w.desired.identityId;
    if (!w.targetKey || !id) return w.body;
    if (presence(this.#o.worker.confirmation(w.targetKey), id, this.#o.clock.now(), this.#o.planConfig.confirmMaxAgeMs) !== 'present') return w.body;
    return { ...w.body, status: { ...w.body.status, status: 'Assigned' } };
  }

  /** Writes readiness-gate conditions that changed. Returns false when a write failed. */
  async #updateReadiness(snapshot: Snapshot, p: Plan): Promise<boolean> {
    const writer = this.#o.podConditions;
    if (!writer || this.#o.dryRun) return true;
    const changes = computeReadiness(snapshot.pods, p, {
      identityProblem: (id) => {
        const q = this.#o.quarantine?.get(id);
        return q && q.until > this.#o.clock.now() ? { reason: q.reason, message: q.message } : undefined;
      },
      targetProblem: (key) => {
        const f = this.#o.worker.lastFailure(key);
        return f ? { reason: f.reason, message: f.message } : undefined;
      },
    });
    let ok = true;
    await Promise.all(
      changes.map((c) =>
        this.#kubeWrites.add(async () => {
          try {
            await this.#kubeLimiter?.take();
            assertMayWrite(this.#o.fenceReason);
            await writer.setCondition(c.pod, c);
          } catch (err) {
            ok = false;
            this.#o.logger.warn('Failed to update the identity readiness condition', { err, pod: `${c.pod.namespace}/${c.pod.name}` });
          }
        }),
      ),
    );
    return ok;
  }

  /** Event target for a binding (a cached one, or the copy embedded in an AAI). */
  #bindingRef(b: Pick<AzureIdentityBinding, 'metadata'> | undefined): EventObjectRef | undefined {
    if (!b?.metadata?.name) return undefined;
    return { apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureIdentityBinding', name: b.metadata.name, namespace: b.metadata.namespace, uid: b.metadata.uid };
  }


  #aaiRef(aai: AzureAssignedIdentity): EventObjectRef {
    return { apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureAssignedIdentity', name: aai.metadata.name, namespace: aai.metadata.namespace, uid: aai.metadata.uid };
  }

  #event(ref: EventObjectRef | undefined, type: 'Normal' | 'Warning', reason: string, message: string): void {
    // A dry run writes nothing to the cluster, Events included (the log lines tell the story).
    if (!ref || this.#o.dryRun) return;
    this.#o.events.record(ref, type, reason, message);
    this.#o.metrics?.eventsEmitted.inc({ type, reason });
  }

  #observeAssigned(d: DesiredAssignment, aaiName: string): void {
    const seen = this.#firstSeen.get(d.key);
    if (seen !== undefined) this.#o.metrics?.assignmentLatency.observe((this.#o.clock.now() - seen) / 1000);
    this.#event(this.#bindingRef(d.binding), 'Normal', 'binding applied', `Binding ${d.binding.metadata.name} applied on node ${d.nodeName} for pod ${aaiName}`);
  }

  async #create(body: AzureAssignedIdentity, d: DesiredAssignment): Promise<void> {
    const t0 = this.#o.clock.now();
    this.#writtenThisTerm.add(termKey(body));
    try {
      const created = await this.#o.writer.create(body);
      this.#o.state.noteWritten(created);
      this.#o.metrics?.assignedIdentityAdditionCount.inc();
      this.#o.metrics?.assignedIdentityAdditionDuration.observe((this.#o.clock.now() - t0) / 1000);
      if (body.status?.status === 'Assigned') this.#observeAssigned(d, body.metadata.name);
    } catch (err) {
      this.#o.metrics?.kubernetesApiOperationsErrors.inc({ operation_type: 'assigned_identity_addition' });
      this.#o.logger.error('Failed to create AzureAssignedIdentity', { err, assignedIdentity: objectKey(body.metadata.namespace, body.metadata.name), pod: `${d.pod.namespace}/${d.pod.name}` });
      this.#event(this.#bindingRef(d.binding), 'Warning', 'binding apply error',
        `failed to create AzureAssignedIdentity ${body.metadata.name}/${body.metadata.namespace ?? ''} for pod ${d.pod.namespace}/${d.pod.name}, error: ${(err as Error).message}`);
      throw err;
    }
  }

  async #update(body: AzureAssignedIdentity, d: DesiredAssignment): Promise<void> {
    const t0 = this.#o.clock.now();
    this.#writtenThisTerm.add(termKey(body));
    try {
      const updated = await this.#o.writer.replace(body);
      this.#o.state.noteWritten(updated);
      this.#o.metrics?.assignedIdentityUpdateCount.inc();
      this.#o.metrics?.assignedIdentityUpdateDuration.observe((this.#o.clock.now() - t0) / 1000);
      if (body.status?.status === 'Assigned') this.#observeAssigned(d, body.metadata.name);
    } catch (err) {
      this.#o.metrics?.kubernetesApiOperationsErrors.inc({ operation_type: 'assigned_identity_update' });
      this.#o.logger.error('Failed to update AzureAssignedIdentity', { err, assignedIdentity: objectKey(body.metadata.namespace, body.metadata.name) });
      this.#event(this.#bindingRef(d.binding), 'Warning', 'binding apply error',
        `failed to update AzureAssignedIdentity ${body.metadata.namespace ?? ''}/${body.metadata.name} for pod ${d.pod.name}/${d.pod.namespace}, error: ${(err as Error).message}`);
      throw err;
    }
  }

  async #assign(aai: AzureAssignedIdentity, d: DesiredAssignment | undefined): Promise<void> {
    try {
      const updated = await this.#o.writer.setStatus(aai, 'Assigned');
      this.#o.state.noteWritten(updated);
      if (d) this.#observeAssigned(d, aai.metadata.name);
    } catch (err) {
      this.#o.metrics?.kubernetesApiOperationsErrors.inc({ operation_type: 'update_azure_assigned_identity_status' });
      this.#o.logger.error('Failed to update AzureAssignedIdentity status', { err, assignedIdentity: objectKey(aai.metadata.namespace, aai.metadata.name), status: 'Assigned' });
      this.#event(this.#aaiRef(aai), 'Warning', 'status update error',
        `failed to update AzureAssignedIdentity ${aai.metadata.namespace ?? ''}/${aai.metadata.name} status to Assigned for pod ${aai.spec.podNamespace}/${aai.spec.pod}, error: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Sets an Assigned object back to Created: ARM no longer shows its identity (or it is being removed). */
  async #demote(aai: AzureAssignedIdentity, d: DesiredAssignment, why: 'missing' | 'removing'): Promise<void> {
    const fields = { assignedIdentity: objectKey(aai.metadata.namespace, aai.metadata.name), pod: `${d.pod.namespace}/${d.pod.name}`, node: d.nodeName, identity: d.identityId, why };
    this.#writtenThisTerm.add(termKey(aai));
    try {
      const updated = await this.#o.writer.setStatus(aai, 'Created');
      this.#o.state.noteWritten(updated);
    } catch (err) {
      this.#o.metrics?.kubernetesApiOperationsErrors.inc({ operation_type: 'update_azure_assigned_identity_status' });
      this.#o.logger.error('Failed to set an AzureAssignedIdentity back to Created', { err, ...fields });
      throw err;
    }
    this.#o.logger.warn('Identity no longer on the node; AzureAssignedIdentity set back to Created until it is assigned again', fields);
    const detail = why === 'missing' ? 'Azure no longer shows it on the VM/VMSS' : 'it is being removed from the VM/VMSS';
    this.#event({ apiVersion: 'v1', kind: 'Pod', name: d.pod.name, namespace: d.pod.namespace, uid: d.pod.uid }, 'Warning', 'IdentityMissing',
      `identity ${d.identity.metadata.name} (${d.identity.spec.resourceID ?? ''}) is not available on node ${d.nodeName}: ${detail}; AzureAssignedIdentity ${aai.metadata.name} is Created again until the identity is re-assigned`);
  }

  async #remove(aai: AzureAssignedIdentity, nodeGone: boolean): Promise<void> {
    const t0 = this.#o.clock.now();
    try {
      await this.#o.writer.remove(aai);
      this.#o.state.noteDeleted(aai);
      this.#o.metrics?.assignedIdentityDeletionCount.inc();
      this.#o.metrics?.assignedIdentityDeletionDuration.observe((this.#o.clock.now() - t0) / 1000);
      if (nodeGone) {
        this.#event(this.#bindingRef(aai.spec.azureBindingRef), 'Normal', 'binding removed',
          `Binding ${aai.spec.azureBindingRef?.metadata?.name ?? ''} removed from node ${aai.spec.nodename} for pod ${aai.spec.pod}`);
      }
    } catch (err) {
      this.#o.metrics?.kubernetesApiOperationsErrors.inc({ operation_type: 'assigned_identity_deletion' });
      this.#o.logger.error('Failed to remove AzureAssignedIdentity', { err, assignedIdentity: objectKey(aai.metadata.namespace, aai.metadata.name) });
      this.#event(this.#bindingRef(aai.spec.azureBindingRef), 'Warning', 'binding remove error',
        `failed to remove AzureIdentityBinding ${aai.spec.azureBindingRef?.metadata?.namespace ?? ''}/${aai.spec.azureBindingRef?.metadata?.name ?? ''} from node ${aai.spec.nodename} for pod ${aai.spec.podNamespace}/${aai.spec.pod}, error: ${(err as Error).message}`);
      throw err;
    }
  }

  #reportProblems(problems: Problem[]): void {
    const current = new Set<string>();
    for (const p of problems) {
      const key = `${p.reason}|${p.object.kind}|${p.object.namespace ?? ''}|${p.object.name}|${p.message}`;
      current.add(key);
      if (this.#reportedProblems.has(key)) continue;
      this.#o.logger.warn('Ignoring invalid input', { reason: p.reason, kind: p.object.kind, object: objectKey(p.object.namespace, p.object.name), detail: p.message });
      this.#event({ ...p.object, apiVersion: p.object.kind === 'Pod' ? 'v1' : 'aadpodidentity.k8s.io/v1' }, 'Warning', p.reason, p.message);
    }
    this.#reportedProblems = current;
  }

  #assignmentsOnTarget(key: string): DesiredAssignment[] {
    const p = this.#lastPlan;
    if (!p) return [];
    const out: DesiredAssignment[] = [];
    for (const w of p.kube.pendingAssignment) if (w.targetKey === key) out.push(w.desired);
    for (const w of [...p.kube.create, ...p.kube.update]) if (w.body.status?.status === 'Created') out.push(w.desired);
    return out;
  }

  #reportRejection(key: string, failure: ArmFailure, identities: readonly string[]): void {
    if (failure.kind !== 'rejected') return;
    if (this.#o.quarantine) this.#o.metrics?.quarantinedIdentities.set(this.#o.quarantine.size());
    const ids = new Set(identities);
    for (const d of this.#assignmentsOnTarget(key)) {
      if (!d.identityId || !ids.has(d.identityId)) continue;
      const msg = `identity ${d.identity.metadata.namespace ?? ''}/${d.identity.metadata.name} (${d.identity.spec.resourceID ?? ''}) cannot be assigned to node ${d.nodeName}: ${failure.reason}; ${failure.remedy}. ARM said: ${failure.message}`;
      this.#event({ apiVersion: 'v1', kind: 'Pod', name: d.pod.name, namespace: d.pod.namespace, uid: d.pod.uid }, 'Warning', failure.reason, msg);
      this.#event(this.#bindingRef(d.binding), 'Warning', 'binding apply error',
        `failed to apply binding ${d.binding.metadata.namespace ?? ''}/${d.binding.metadata.name} node ${d.nodeName} for pod ${d.pod.namespace}/${d.pod.name}, error: ${failure.message}`);
    }
  }

  #reportTargetFailure(key: string, failure: ArmFailure): void {
    // Our own client-side budget pacing writes is normal operation, not worth a Warning.
    if (failure.kind === 'throttled' && failure.local) return;
    for (const d of this.#assignmentsOnTarget(key)) {
      this.#event({ apiVersion: 'v1', kind: 'Pod', name: d.pod.name, namespace: d.pod.namespace, uid: d.pod.uid }, 'Warning', failure.reason,
        `identity ${d.identity.metadata.name} not yet assigned to node ${d.nodeName}: ${failure.message}`);
    }
  }

  #updateStateMetrics(snapshot: Snapshot): void {
    const m = this.#o.metrics;
    if (!m) return;
    const counts: Record<string, number> = { Created: 0, Assigned: 0, Unassigned: 0, none: 0 };
    let oldestCreated: number | undefined;
    for (const aai of snapshot.assigned) {
      const s = aai.status?.status || 'none';
      counts[s] = (counts[s] ?? 0) + 1;
      if (s === 'Created' && aai.metadata.creationTimestamp) {
        const t = Date.parse(aai.metadata.creationTimestamp);
        if (!Number.isNaN(t)) oldestCreated = oldestCreated === undefined ? t : Math.min(oldestCreated, t);
      }
    }
    for (const [state, n] of Object.entries(counts)) m.assignedIdentities.set({ state }, n);
    if (this.#o.quarantine) m.quarantinedIdentities.set(this.#o.quarantine.size());
    m.oldestCreatedAge.set(oldestCreated === undefined ? 0 : Math.max(0, (this.#o.clock.now() - oldestCreated) / 1000));
  }
}
