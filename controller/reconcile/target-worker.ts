/**
 * Per-target ARM work: at most one write in flight per VMSS/VM; changes that arrive meanwhile merge
 * into the next write; targets never wait for each other. Each pass reads the target's desired set
 * from the latest plan, computes the delta against the cached observation (no GET when the cache says
 * what is needed), records ownership before adding, writes, and updates the cache from ARM's answer.
 * Client-side rate limiting and Retry-After gates live in the cloud provider: a refused call comes
 * back as a local ThrottledError and the target is retried after the wait it names.
 */
import type { Logger } from '../observability/logger.js';
import { targetArmId, type CloudProvider, type Target, type TargetIdentities } from '../cloud/provider.js';
import type { Clock } from '../util/clock.js';
import type { OwnershipStore } from './ownership.js';
import type { Quarantine } from './quarantine.js';
import { computeTargetDelta, type TargetDelta, type TargetState } from './targets.js';
import { classifyArmFailure, type ArmFailure } from './arm-failures.js';

/** What a target worker needs from the latest plan. */
export interface TargetDemand {
  target: Target;
  desired: ReadonlySet<string>;
  /** Identities referenced by existing Assigned AAIs on this target (adoption on first contact). */
  adoptable: ReadonlySet<string>;
}

/** Gate that answers whether ARM writes may be issued right now. */
export interface WriteGate {
  /** undefined when writes are allowed, else why not (not leader, paused, dry run). */
  blockedReason(): string | undefined;
}

/** Hooks the worker calls so the controller can react (events, metrics, a new sync pass). */
export interface TargetWorkerHooks {
  /** The target's observed identities changed (AAIs may now be Assigned or deletable). */
  onObserved(key: string): void;
  /** ARM rejected identities on a target. */
  onRejected(key: string, failure: ArmFailure, identities: readonly string[]): void;
  /** A write/read failed for another reason. */
  onFailure(key: string, failure: ArmFailure): void;
  /** A write succeeded. */
  onWrite(key: string, delta: TargetDelta, writes: number, durationMs: number): void;
  /** Dry run: the write that would have been made. */
  onDryRun(key: string, delta: TargetDelta): void;
}

/** Options of {@link TargetWorker}. */
export interface TargetWorkerOptions {
  cloud: CloudProvider;
  ownership: OwnershipStore;
  quarantine: Quarantine;
  gate: WriteGate;
  clock: Clock;
  logger: Logger;
  hooks: TargetWorkerHooks;
  /** Identities never removed (immutable client IDs resolved to resource IDs). */
  protectedIds: () => ReadonlySet<string>;
  unassignGraceMs: number;
  /**
   * Batching window (`--arm-batch-window`): a write waits until the target's desired identities have
   * been stable this long, but never more than 10 windows after the change was first seen. During a
   * burst this puts (nearly) every identity into the first write. 0 disables it.
   */
  batchWindowMs?: number;
  /** Base drift-check interval (`--identity-assignment-reconcile-interval`). */
  driftIntervalMs: number;
  /** Upper bound of the adaptive drift interval. */
  driftIntervalMaxMs?: number;
  dryRun?: boolean;
}

/** Outcome of one pass over a target, used by the queue to schedule the next. */
export type PassResult =
  | { kind: 'done'; requeueAfterMs?: number }
  | { kind: 'retry'; afterMs?: number; rateLimited?: boolean }
  | { kind: 'again' };

interface MutableState {
  target: Target;
  /** When the desired set last changed (batching window). */
  demandChangedAt?: number;
  /** When a non-empty delta was first seen since the last write (bounds the batching delay). */
  pendingSince?: number;
  observed?: Set<string>;
  observedType?: string;
  observedAt?: number;
  undesiredSince: Map<string, number>;
  nextDriftAt?: number;
  driftIntervalMs: number;
}

/** ARM-side reconciler of individual targets; the queue around it guarantees one pass per key at a time. */
export class TargetWorker {
  readonly #o: TargetWorkerOptions;
  readonly #states = new Map<string, MutableState>();
  /** Last failure per target (cleared by the next success), for status reporting. */
  readonly #lastFailure = new Map<string, ArmFailure>();
  /** Targets ARM reported as not found, with the time until which they are not read again. */
  readonly #gone = new Map<string, number>();
  #demand = new Map<string, TargetDemand>();

  constructor(options: TargetWorkerOptions) {
    this.#o = options;
  }

  /** Replaces the demand (from the latest plan). Returns keys whose work may have changed. */
  setDemand(demand: Map<string, TargetDemand>): string[] {
    const changed: string[] = [];
    const now = this.#o.clock.now();
    for (const [key, d] of demand) {
      const prev = this.#demand.get(key);
      const st = this.#state(key, d.target);
      for (const id of this.#o.ownership.owned(key)) {
        if (d.desired.has(id)) st.undesiredSince.delete(id);
        else if (!st.undesiredSince.has(id)) st.undesiredSince.set(id, now);
      }
      if (!prev || !sameSet(prev.desired, d.desired)) st.demandChangedAt = now;
      const gone = (this.#gone.get(key) ?? 0) > now;
      if (!gone && (!prev || !sameSet(prev.desired, d.desired) || this.#needsWork(key, d))) changed.push(key);
    }
    for (const key of this.#demand.keys()) if (!demand.has(key)) changed.push(key);
    this.#demand = demand;
    return changed;
  }

  /** Snapshot of what is known per target, for the planner. */
  states(): Map<string, TargetState> {
    const quarantined = this.#o.quarantine.active();
    const out = new Map<string, TargetState>();
    const keys = new Set([...this.#states.keys(), ...this.#o.ownership.targets().keys()]);
    for (const key of keys) {
      const st = this.#states.get(key);
      out.set(key, {
        target: st?.target ?? this.#o.ownership.targets().get(key),
        observed: st?.observed,
        owned: this.#o.ownership.owned(key),
        adopted: this.#o.ownership.hasRecord(key),
        quarantined,
        undesiredSince: st?.undesiredSince ?? new Map(),
      });
    }
    return out;
  }

  /** Why the last pass over a target failed, if it did. */
  lastFailure(key: string): ArmFailure | undefined {
    return this.#lastFailure.get(key);
  }

  /** Observed identities of a target (canonical IDs), if known. */
  observed(key: string): ReadonlySet<string> | undefined {
    return this.#states.get(key)?.observed;
  }

  /** Marks every target's observation stale whose drift check is due; returns their keys. */
  dueForDriftCheck(): string[] {
    const now = this.#o.clock.now();
    const due: string[] = [];
    for (const [key, st] of this.#states) {
      if (st.observed && st.nextDriftAt !== undefined && st.nextDriftAt <= now) due.push(key);
    }
    return due;
  }

  /** Forgets cached observations (e.g. on losing leadership). */
  reset(): void {
    this.#states.clear();
  }

  #state(key: string, target: Target): MutableState {
    let st = this.#states.get(key);
    if (!st) {
      st = { target, undesiredSince: new Map(), driftIntervalMs: this.#o.driftIntervalMs };
      this.#states.set(key, st);
    }
    return st;
  }

  #delta(key: string, d: TargetDemand, st: MutableState): TargetDelta {
    return computeTargetDelta(
      d.desired,
      this.#o.protectedIds(),
      { observed: st.observed, owned: this.#o.ownership.owned(key), quarantined: this.#o.quarantine.active(), undesiredSince: st.undesiredSince },
      this.#o.clock.now(),
      this.#o.unassignGraceMs,
    );
  }

  #needsWork(key: string, d: TargetDemand): boolean {
    const st = this.#states.get(key);
    if (!st?.observed) {
      return d.desired.size > 0 || this.#o.ownership.owned(key).size > 0 || (!this.#o.ownership.hasRecord(key) && d.adoptable.size > 0);
    }
    const delta = this.#delta(key, d, st);
    return delta.add.length > 0 || delta.remove.length > 0;
  }

  /** One pass over a target. Never throws. */
  async process(key: string, signal?: AbortSignal): Promise<PassResult> {
    const demand = this.#demand.get(key) ?? this.#ownedOnlyDemand(key);
    if (!demand) return { kind: 'done' };
    if (demand.desired.size === 0 && this.#o.ownership.owned(key).size === 0 && (this.#o.ownership.hasRecord(key) || demand.adoptable.size === 0)) {
      return { kind: 'done' };
    }
    const st = this.#state(key, demand.target);
    const goneUntil = this.#gone.get(key);
    if (goneUntil !== undefined && goneUntil > this.#o.clock.now()) return { kind: 'done' };
    this.#gone.delete(key);
    let adding: readonly string[] = [];
    const log = this.#o.logger.child({ target: targetArmId(demand.target), [demand.target.kind]: demand.target.name });
    try {
      const now = this.#o.clock.now();
      const driftDue = st.nextDriftAt !== undefined && st.nextDriftAt <= now;
      if (!st.observed || driftDue) {
        const before = st.observed;
        const current = await this.#o.cloud.getIdentities(demand.target, signal);
        this.#observe(st, current);
        this.#scheduleDrift(st, before !== undefined && !sameSet(before, st.observed!));
        if (!before || !sameSet(before, st.observed!)) this.#o.hooks.onObserved(key);
      }
      if (!this.#o.ownership.hasRecord(key)) {
        if (this.#o.gate.blockedReason() && !this.#o.dryRun) return { kind: 'done' };
        // First contact: adopt identities existing Assigned AAIs prove a previous MIC added.
        const adopt = [...demand.adoptable].filter((id) => st.observed!.has(id));
        await this.#o.ownership.add(demand.target, adopt);
        if (adopt.length) log.info('Adopted identities assigned by a previous controller', { identities: adopt });
      }
      const delta = this.#delta(key, demand, st);
      const graceAfter = delta.graceExpiresAt !== undefined ? Math.max(1, delta.graceExpiresAt - this.#o.clock.now()) : undefined;
      if (delta.add.length === 0 && delta.remove.length === 0) {
        await this.#forgetVanished(key, demand, st);
        return { kind: 'done', requeueAfterMs: minDefined(graceAfter, this.#untilDrift(st)) };
      }
      if (this.#o.dryRun) {
        this.#o.hooks.onDryRun(key, delta);
        return { kind: 'done', requeueAfterMs: graceAfter };
      }
      const hold = this.#batchHold(st);
      if (hold > 0) return { kind: 'retry', afterMs: hold };
      const blocked = this.#o.gate.blockedReason();
      if (blocked) {
        log.debug('ARM write held back', { reason: blocked });
        return { kind: 'done' };
      }
      adding = delta.add;
      if (delta.add.length) await this.#o.ownership.add(demand.target, delta.add);
      if (this.#o.gate.blockedReason()) return { kind: 'done' }; // lost the lease while recording
      const started = this.#o.clock.now();
      log.info('Updating user-assigned identities', { assign: delta.add.length, unassign: delta.remove.length });
      const current: TargetIdentities = { userAssigned: st.observed ?? new Set(), type: st.observedType ?? '' };
      const result = await this.#o.cloud.updateIdentities(demand.target, delta.add, delta.remove, current, signal);
      this.#observe(st, result.after);
      st.pendingSince = undefined;
      this.#lastFailure.delete(key);
      for (const id of delta.add) if (st.observed!.has(id)) this.#o.quarantine.clear(id);
      const removed = delta.remove.filter((id) => !st.observed!.has(id));
      if (removed.length) await this.#o.ownership.remove(demand.target, removed);
      this.#o.hooks.onWrite(key, delta, result.writes, this.#o.clock.now() - started);
      this.#o.hooks.onObserved(key);
      this.#scheduleDrift(st, true);
      return { kind: 'again' };
    } catch (err) {
      const failure = classifyArmFailure(err);
      if (failure.kind !== 'rejected') this.#lastFailure.set(key, failure);
      switch (failure.kind) {
        case 'rejected': {
          const ids = failure.identityIds.length ? failure.identityIds : [];
          for (const id of ids) this.#o.quarantine.reject(id, failure.reason, failure.message);
          this.#o.hooks.onRejected(key, failure, ids);
          log.warn('ARM rejected identities; retrying the others without them', { identities: ids, code: failure.code, err });
          // Retry at once only when the next write differs (a rejected identity leaves the add list).
          return ids.some((id) => adding.includes(id)) ? { kind: 'again' } : { kind: 'retry', rateLimited: true };
        }
        case 'throttled':
        case 'conflict':
          this.#o.hooks.onFailure(key, failure);
          log.warn('ARM asked to retry later', { kind: failure.kind, retryAfterMs: failure.retryAfterMs, err });
          return { kind: 'retry', afterMs: failure.retryAfterMs };
        case 'target-gone':
          log.info('Target no longer exists; forgetting it', { err });
          await this.#o.ownership.drop(demand.target).catch(() => undefined);
          this.#states.delete(key);
          this.#gone.set(key, this.#o.clock.now() + GONE_BACKOFF_MS);
          this.#o.hooks.onObserved(key);
          return { kind: 'done' };
        default:
          st.observed = undefined; // the write may or may not have landed: read before the next one
          this.#o.hooks.onFailure(key, failure);
          log.error('ARM call failed', { err });
          return { kind: 'retry', rateLimited: true };
      }
    }
  }

  /** How long to hold a write so changes still arriving join it (0: write now). */
  #batchHold(st: MutableState): number {
    const window = this.#o.batchWindowMs ?? 0;
    if (window <= 0) return 0;
    const now = this.#o.clock.now();
    st.pendingSince ??= now;
    const quietFor = now - (st.demandChangedAt ?? 0);
    const waited = now - st.pendingSince;
    if (quietFor >= window || waited >= 10 * window) return 0;
    return Math.max(1, Math.min(window - quietFor, 10 * window - waited));
  }

  #ownedOnlyDemand(key: string): TargetDemand | undefined {
    const target = this.#o.ownership.targets().get(key) ?? this.#states.get(key)?.target;
    if (!target || this.#o.ownership.owned(key).size === 0) return undefined;
    return { target, desired: new Set(), adoptable: new Set() };
  }

  async #forgetVanished(key: string, demand: TargetDemand, st: MutableState): Promise<void> {
    // Owned entries that are gone from the target (removed by someone else) are no longer ours.
    const gone = [...this.#o.ownership.owned(key)].filter((id) => !st.observed!.has(id) && !demand.desired.has(id));
    if (gone.length) await this.#o.ownership.remove(demand.target, gone);
  }

  #observe(st: MutableState, current: TargetIdentities): void {
    st.observed = new Set([...current.userAssigned].map((id) => id.toLowerCase()));
    st.observedType = current.type;
    st.observedAt = this.#o.clock.now();
  }

  #scheduleDrift(st: MutableState, driftFound: boolean): void {
    const max = this.#o.driftIntervalMaxMs ?? this.#o.driftIntervalMs * 8;
    st.driftIntervalMs = driftFound || st.nextDriftAt === undefined ? this.#o.driftIntervalMs : Math.min(max, st.driftIntervalMs * 2);
    st.nextDriftAt = this.#o.clock.now() + st.driftIntervalMs;
  }

  #untilDrift(st: MutableState): number | undefined {
    return st.nextDriftAt === undefined ? undefined : Math.max(1, st.nextDriftAt - this.#o.clock.now());
  }
}

/** How long a target ARM reported as not found is left alone. */
const GONE_BACKOFF_MS = 5 * 60_000;

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function minDefined(...xs: (number | undefined)[]): number | undefined {
  const d = xs.filter((x): x is number => x !== undefined);
  return d.length ? Math.min(...d) : undefined;
}
