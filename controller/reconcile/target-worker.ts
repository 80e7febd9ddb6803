/**
 * Per-target ARM work: at most one write in flight per VMSS/VM; changes that arrive meanwhile merge
 * into the next write; targets never wait for each other. Each pass reads the target's desired set
 * from the latest plan, computes the delta against the last state ARM confirmed (with its etag), records
 * ownership before adding, writes conditioned on that etag (`If-Match`), and updates the state from
 * ARM's answer. When ARM answers 412 (someone else changed the target since), the worker re-reads,
 * re-plans and retries at once, a few times. Client-side rate limiting and Retry-After gates live in
 * the cloud provider: a refused call comes back as a local ThrottledError and the target is retried
 * after the wait it names.
 *
 * Periodic drift checks are grouped: when one target's check is due, one LIST of its (subscription,
 * resource group, kind) refreshes every known target of that group (each keeps the etag it was listed
 * with, so writes stay conditional), which moves all their next checks to one interval later. A group
 * therefore costs one ARM call per interval however many targets it has. A target missing from the
 * list is read with a GET (a list never proves a target gone); first contact, the confirm read of a new
 * assignment and the re-read after a 412 stay single GETs (they are latency-sensitive).
 */
import type { Logger } from '../observability/logger.js';
import { isPreconditionFailedError, isThrottledError } from '../cloud/errors.js';
import { targetArmId, targetKey, type CloudProvider, type Target, type TargetIdentities } from '../cloud/provider.js';
import type { Clock } from '../util/clock.js';
import type { OwnershipStore } from './ownership.js';
import type { Quarantine } from './quarantine.js';
import { computeTargetDelta, type TargetDelta, type TargetState } from './targets.js';
import { classifyArmFailure, type ArmFailure } from './arm-failures.js';
import { assertMayWrite, isFencedError } from './fencing.js';

/** What a target worker needs from the latest plan. */
export interface TargetDemand {
  target: Target;
  desired: ReadonlySet<string>;
  /** Identities referenced by existing Assigned/Created AAIs on this target (adoption on first contact of a term). */
  adoptable: ReadonlySet<string>;
  /** A new assignment waits for a fresh read of the target (its last confirmed read is too old). */
  confirm?: boolean;
}

/** Gate that answers whether ARM writes may be issued right now. */
export interface WriteGate {
  /** undefined when writes are allowed, else why not (not leader, paused, dry run). */
  blockedReason(): string | undefined;
  /**
   * undefined while this replica may write at all (to ARM or Kubernetes), else why not (`not leader`).
   * Checked before every ARM PATCH chunk and retry, and before every ownership-record write.
   */
  fenceReason?(): string | undefined;
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
  /** ARM refused a write with 412 (the target changed since it was read); the worker re-reads and retries. */
  onPreconditionFailed?(key: string): void;
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
  /** Identities never removed (immutable client IDs resolved to resource IDs through AzureIdentities/AAIs). */
  protectedIds: () => ReadonlySet<string>;
  /**
   * Lower-cased client IDs never removed (`--immutable-user-msis` and the cluster identity), matched
   * against the client IDs ARM reports for the identities on the target.
   */
  immutableClientIds?: ReadonlySet<string>;
  unassignGraceMs: number;
  /**
   * Batching window (`--arm-batch-window`): a write waits until the target's desired identities have
   * been stable this long, but never more than 10 windows after the change was first seen (counted in
   * planned time: 20 windows of wall time at most while the sync loop catches up with a burst). During
   * a burst this puts (nearly) every identity into the first write. 0 disables it.
   */
  batchWindowMs?: number;
  /**
   * Drift-check interval (`--identity-assignment-reconcile-interval`). Targets with live assignments
   * are read at least this often; a new assignment on a target read longer ago triggers a read first.
   */
  driftIntervalMs: number;
  /** Upper bound of the adaptive drift interval of targets without live assignments. */
  driftIntervalMaxMs?: number;
  /** How many times a write refused with 412 is re-planned and retried at once (default 3). */
  preconditionRetries?: number;
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
  /** The last state ARM confirmed (read or write answer); undefined when unknown. */
  observed?: Set<string>;
  observedType?: string;
  observedEtag?: string;
  observedClientIds?: ReadonlyMap<string, string>;
  observedAt?: number;
  /** Identities the write being prepared or in flight removes. */
  removing: Set<string>;
  /** Adoption ran in this leadership term (cleared when leadership is acquired). */
  adopted: boolean;
  /** The observation was made in an earlier leadership term (adoption reads again before using it). */
  carried?: boolean;
  /** Leadership term in which this target was last visited (see {@link TargetWorker.newTerm}). */
  term: number;
  undesiredSince: Map<string, number>;
  nextDriftAt?: number;
  driftIntervalMs: number;
  /** Version of the observation (bumped whenever it is replaced or invalidated); a list started later may replace it. */
  seq: number;
}

/** One group LIST: its answer and the version counter when it was sent. */
interface GroupList {
  startSeq: number;
  result: Map<string, TargetIdentities>;
}

const DEFAULT_PRECONDITION_RETRIES = 3;

/** ARM-side reconciler of individual targets; the queue around it guarantees one pass per key at a time. */
export class TargetWorker {
  readonly #o: TargetWorkerOptions;
  readonly #states = new Map<string, MutableState>();
  /** Last failure per target (cleared by the next success), for status reporting. */
  readonly #lastFailure = new Map<string, ArmFailure>();
  /** Targets ARM reported as not found, with the time until which they are not read again. */
  readonly #gone = new Map<string, number>();
  #demand = new Map<string, TargetDemand>();
  /** Targets with a pass in progress (a group list never touches their state behind their back). */
  readonly #busy = new Set<string>();
  /** Group LISTs in flight, by group key; passes due meanwhile wait for the same answer. */
  readonly #lists = new Map<string, Promise<GroupList>>();
  /** Groups whose last LIST failed (not throttled), until when their checks use GETs instead. */
  readonly #listFailedUntil = new Map<string, number>();
  /** Observation version counter. */
  #seq = 0;
  /** Leadership term counter: states touched in an earlier term are visited again once in this one. */
  #term = 0;
  /** When the oldest cluster change the current demand does not reflect yet happened (batching window). */
  #unplannedSince: number | undefined;
  /** When the first cluster change since the snapshot of the plan in progress happened. */
  #changedSincePlanStart: number | undefined;
  /** A plan is being computed (between {@link planStarted} and {@link setDemand}). */
  #planning = false;

  constructor(options: TargetWorkerOptions) {
    this.#o = options;
  }

  /**
   * Something in the cluster changed (an informer event) that the demand may not reflect yet. Until a
   * plan made after it arrives, the batching window does not count the time since as quiet: a sync
   * pass busy with thousands of Kubernetes writes must not make a burst look over.
   */
  noteClusterChange(): void {
    const now = this.#o.clock.now();
    this.#unplannedSince ??= now;
    this.#changedSincePlanStart ??= now;
  }

  /** The sync loop is taking the snapshot the next {@link setDemand} is planned from. */
  planStarted(): void {
    this.#planning = true;
    this.#changedSincePlanStart = undefined;
  }

  /** Replaces the demand (from the latest plan). Returns keys whose work may have changed. */
  setDemand(demand: Map<string, TargetDemand>): string[] {
    const changed: string[] = [];
    const now = this.#o.clock.now();
    if (this.#planning) {
      // The plan reflects every change before its snapshot; those since are still unplanned.
      this.#unplannedSince = this.#changedSincePlanStart;
      this.#planning = false;
    }
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
    // Records of targets nothing needs, not visited this term: an empty one is deleted (one try per term).
    const listed = new Set(changed);
    for (const key of this.#o.ownership.targets().keys()) if (!demand.has(key) && this.#states.get(key)?.term !== this.#term && !listed.has(key)) changed.push(key);
    this.#demand = demand;
    return changed;
  }

  /** Snapshot of what is known per target, for the planner. */
  states(): Map<string, TargetState> {
    const quarantined = this.#o.quarantine.active();
    const out = new Map<string, TargetState>();
    const recorded = this.#o.ownership.targets();
    const keys = new Set([...this.#states.keys(), ...recorded.keys()]);
    for (const key of keys) {
      const st = this.#states.get(key);
      out.set(key, {
        target: st?.target ?? recorded.get(key),
        observed: st?.observed,
        confirmedAt: st?.observedAt,
        removing: st?.removing,
        owned: this.#o.ownership.owned(key),
        adopted: st?.adopted ?? false,
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

  /** ARM's last word on one target (as in {@link states}), for a check right before a Kubernetes write. */
  confirmation(key: string): Pick<TargetState, 'observed' | 'confirmedAt' | 'removing'> | undefined {
    const st = this.#states.get(key);
    return st && { observed: st.observed, confirmedAt: st.observedAt, removing: st.removing };
  }

  /** Observed identities of a target (canonical IDs), if known. */
  observed(key: string): ReadonlySet<string> | undefined {
    return this.#states.get(key)?.observed;
  }

  /** Targets whose drift check is due; returns their keys. */
  dueForDriftCheck(): string[] {
    const now = this.#o.clock.now();
    const due: string[] = [];
    for (const [key, st] of this.#states) {
      if (st.observed && st.nextDriftAt !== undefined && st.nextDriftAt <= now) due.push(key);
    }
    return due;
  }

  /**
   * A new leadership term that keeps what this replica knew (a warm standby taking over again): adoption
   * runs again on first contact with every target, and every target is visited once, but ARM
   * observations are kept. That is safe: every ARM write is conditioned on the etag of the observation
   * it is based on (a stale one costs a 412 and a re-read), a new assignment is reported `Assigned` only
   * from a confirmation younger than the confirm bound, adoption reads the target first when it has
   * something to adopt, and drift checks that fell due meanwhile read at once.
   */
  newTerm(): void {
    this.#term++;
    for (const st of this.#states.values()) {
      st.adopted = false;
      st.carried = true;
      st.removing = new Set();
    }
    this.#demand = new Map();
    this.#gone.clear();
  }

  #state(key: string, target: Target): MutableState {
    let st = this.#states.get(key);
    if (!st) {
      st = { target, undesiredSince: new Map(), driftIntervalMs: this.#o.driftIntervalMs, removing: new Set(), adopted: false, seq: ++this.#seq, term: this.#term };
      this.#states.set(key, st);
    }
    st.term = this.#term;
    return st;
  }

  /** Identities never removed from this target: configured ones, and those whose ARM-reported client ID is immutable. */
  #protected(st: MutableState): ReadonlySet<string> {
    const immutable = this.#o.immutableClientIds;
    const base = this.#o.protectedIds();
    if (!immutable?.size || !st.observedClientIds) return base;
    const out = new Set(base);
    for (const [id, clientId] of st.observedClientIds) if (immutable.has(clientId.toLowerCase())) out.add(id.toLowerCase());
    return out;
  }

  #delta(key: string, d: TargetDemand, st: MutableState): TargetDelta {
    return computeTargetDelta(
      d.desired,
      this.#protected(st),
      { observed: st.observed, owned: this.#o.ownership.owned(key), quarantined: this.#o.quarantine.active(), undesiredSince: st.undesiredSince },
      this.#o.clock.now(),
      this.#o.unassignGraceMs,
    );
  }

  /** The last confirmation of the target is older than the drift interval (or missing). */
  #stale(st: MutableState): boolean {
    return st.observedAt === undefined || this.#o.clock.now() - st.observedAt >= this.#o.driftIntervalMs;
  }

  #needsWork(key: string, d: TargetDemand): boolean {
    const st = this.#states.get(key);
    if (!st?.observed) {
      return d.desired.size > 0 || this.#o.ownership.owned(key).size > 0 || d.adoptable.size > 0;
    }
    if (d.confirm && this.#stale(st)) return true;
    if (!st.adopted && d.adoptable.size > 0) return true;
    const delta = this.#delta(key, d, st);
    return delta.add.length > 0 || delta.remove.length > 0;
  }

  /** Throws FencedError when this replica may not write at all any more. */
  #fence(): void {
    assertMayWrite(this.#o.gate.fenceReason?.bind(this.#o.gate));
  }

  /** One pass over a target. Never throws. */
  async process(key: string, signal?: AbortSignal): Promise<PassResult> {
    this.#busy.add(key);
    try {
      return await this.#process(key, signal);
    } finally {
      this.#busy.delete(key);
    }
  }

  async #process(key: string, signal: AbortSignal | undefined): Promise<PassResult> {
    const planned = this.#demand.get(key);
    const demand = planned ?? this.#recordOnlyDemand(key);
    if (!demand) return { kind: 'done' };
    const log = this.#o.logger.child({ target: targetArmId(demand.target), [demand.target.kind]: demand.target.name });
    if (!planned && this.#o.ownership.owned(key).size === 0) return this.#collectRecord(key, demand.target, signal, log);
    const stKnown = this.#states.get(key);
    if (demand.desired.size === 0 && this.#o.ownership.owned(key).size === 0 && (stKnown?.adopted === true || demand.adoptable.size === 0)) {
      return { kind: 'done' };
    }
    const st = this.#state(key, demand.target);
    const goneUntil = this.#gone.get(key);
    if (goneUntil !== undefined && goneUntil > this.#o.clock.now()) return { kind: 'done' };
    this.#gone.delete(key);
    let adding: readonly string[] = [];
    try {
      const now = this.#o.clock.now();
      const driftDue = st.nextDriftAt !== undefined && st.nextDriftAt <= now;
      const confirmDue = demand.confirm === true && this.#stale(st);
      const adoptDue = !st.adopted && st.carried === true && this.#adoptionCandidates(key, demand).length > 0;
      // Drift due (with or without a confirm waiting): the group's LIST; first contact, a confirm alone, or
      // a carried-over observation before adopting: a GET.
      if (st.observed && driftDue) await this.#driftRead(key, st, demand.target, signal);
      else if (!st.observed || confirmDue || adoptDue) await this.#read(key, st, demand.target, signal);
      // Adoption only records ownership (no ARM write), so it also runs while ARM writes are paused.
      if (!st.adopted) await this.#adopt(key, demand, st, log);
      await this.#noteForeign(key, demand.target, st, log);
      const retries = this.#o.preconditionRetries ?? DEFAULT_PRECONDITION_RETRIES;
      for (let attempt = 0; ; attempt++) {
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
        if (attempt === 0) {
          const hold = this.#batchHold(st);
          if (hold > 0) return { kind: 'retry', afterMs: hold };
        }
        const blocked = this.#o.gate.blockedReason();
        if (blocked) {
          log.debug('ARM write held back', { reason: blocked });
          return { kind: 'done' };
        }
        adding = delta.add;
        const outcome = await this.#write(key, demand.target, st, delta, signal, log);
        if (outcome === 'written') return { kind: 'again' };
        if (attempt >= retries) {
          log.warn('Target kept changing under our writes; retrying later', { attempts: attempt + 1 });
          return { kind: 'retry', rateLimited: true };
        }
        this.#fence();
      }
    } catch (err) {
      return this.#failed(key, demand, st, adding, err, signal, log);
    }
  }

  /** Reads the target (GET) and records ARM's answer. */
  async #read(key: string, st: MutableState, target: Target, signal: AbortSignal | undefined): Promise<void> {
    this.#record(key, st, await this.#o.cloud.getIdentities(target, signal), true);
  }

  /**
   * Records a fresh observation and schedules the next drift check. Tells the controller when the
   * identities changed, or (`confirming`) when a new assignment may wait for this confirmation.
   */
  #record(key: string, st: MutableState, current: TargetIdentities, confirming: boolean): void {
    const before = st.observed;
    this.#observe(st, current);
    const changed = before === undefined || !sameSet(before, st.observed!);
    this.#scheduleDrift(key, st, before !== undefined && changed);
    if (changed || (confirming && this.#demand.get(key)?.confirm)) this.#o.hooks.onObserved(key);
  }

  /**
   * The periodic drift check: one LIST of the target's group (joined when one is already in flight),
   * which also refreshes the group's idle targets; a GET when the target is missing from the answer,
   * when the answer predates this target's last observation, or when the list failed (other than by
   * throttling: then the pass is retried after the wait like any throttled read). After a failed LIST
   * (e.g. the role is granted per VMSS, not on the resource group) the group's checks use GETs for
   * one interval instead of paying a LIST and a GET each.
   */
  async #driftRead(key: string, st: MutableState, target: Target, signal: AbortSignal | undefined): Promise<void> {
    const group = groupKey(target);
    const listFailed = (this.#listFailedUntil.get(group) ?? 0) > this.#o.clock.now();
    if (typeof this.#o.cloud.listIdentities !== 'function' || listFailed) return this.#read(key, st, target, signal);
    let listed: TargetIdentities | undefined;
    try {
      const run = await this.#groupList(target, signal);
      if (st.seq < run.startSeq) listed = run.result.get(key);
    } catch (err) {
      if (isThrottledError(err) || signal?.aborted) throw err;
      this.#listFailedUntil.set(group, this.#o.clock.now() + this.#o.driftIntervalMs);
      this.#o.logger.warn('Listing the resource group failed; reading its targets one by one for an interval', { target: targetArmId(target), err });
    }
    if (listed) this.#record(key, st, listed, true);
    else await this.#read(key, st, target, signal);
  }

  /** The LIST of a target's group: the one in flight, or a new one. */
  #groupList(target: Target, signal: AbortSignal | undefined): Promise<GroupList> {
    const group = groupKey(target);
    const inFlight = this.#lists.get(group);
    if (inFlight) return inFlight;
    const startSeq = ++this.#seq;
    const run = this.#o.cloud.listIdentities!(target.subscriptionId, target.resourceGroup, target.kind, signal).then((result) => {
      this.#applyList(group, startSeq, result);
      return { startSeq, result };
    });
    this.#lists.set(group, run);
    const clear = (): void => {
      if (this.#lists.get(group) === run) this.#lists.delete(group);
    };
    run.then(clear, clear);
    return run;
  }

  /**
   * Refreshes the idle targets of a group from a LIST answer: only those with no pass in progress and
   * no observation newer than the list (a write's answer, a GET, an invalidation since it was sent).
   * Targets missing from the answer are left alone.
   */
  #applyList(group: string, startSeq: number, result: Map<string, TargetIdentities>): void {
    for (const [key, st] of this.#states) {
      if (this.#busy.has(key) || st.seq >= startSeq || groupKey(st.target) !== group) continue;
      const listed = result.get(key);
      if (listed) this.#record(key, st, listed, true);
    }
  }

  /**
   * First contact in this leadership term: adopt identities that existing Assigned/Created AAIs refer
   * to and ARM shows present (a previous controller, or an upstream MIC during a rollback, added them).
   */
  async #adopt(key: string, demand: TargetDemand, st: MutableState, log: Logger): Promise<void> {
    const adopt = this.#adoptionCandidates(key, demand).filter((id) => st.observed!.has(id));
    if (adopt.length && !this.#o.dryRun) {
      this.#fence();
      await this.#o.ownership.add(demand.target, adopt);
      log.info('Adopted identities assigned by a previous controller', { identities: adopt });
    } else if (adopt.length) {
      log.info('Dry run: would adopt identities assigned by a previous controller', { identities: adopt });
    }
    st.adopted = true;
    if (adopt.length) this.#o.hooks.onObserved(key);
  }

  /** Identities existing AAIs refer to that are neither owned nor known as foreign (adoption may take them). */
  #adoptionCandidates(key: string, demand: TargetDemand): string[] {
    const owned = this.#o.ownership.owned(key);
    const foreign = this.#o.ownership.foreign(key);
    return [...demand.adoptable].filter((id) => !owned.has(id) && !foreign.has(id));
  }

  /**
   * One conditioned write. Returns `written`, or `changed` when ARM refused it with 412: then the
   * target has been read again and ownership recorded ahead for identities someone else added
   * meanwhile has been taken back.
   */
  async #write(key: string, target: Target, st: MutableState, delta: TargetDelta, signal: AbortSignal | undefined, log: Logger): Promise<'written' | 'changed'> {
    // From here until ARM's answer is recorded, the identities being removed are not reported present.
    st.removing = new Set(delta.remove);
    if (st.removing.size) this.#o.hooks.onObserved(key);
    const before = this.#o.ownership.owned(key);
    const recordedAhead = delta.add.filter((id) => !before.has(id));
    try {
      if (delta.add.length) {
        this.#fence();
        await this.#o.ownership.add(target, delta.add);
      }
      if (this.#o.gate.blockedReason()) throw new WriteHeldBack(); // lost the lease or paused while recording
      const started = this.#o.clock.now();
      log.info('Updating user-assigned identities', { assign: delta.add.length, unassign: delta.remove.length });
      const current: TargetIdentities = {
        userAssigned: st.observed ?? new Set(),
        type: st.observedType ?? '',
        etag: st.observedEtag,
        clientIds: st.observedClientIds,
      };
      let result;
      let chunksSent = 0;
      const beforeWrite = (): void => {
        this.#fence();
        chunksSent++;
      };
      // A change of more than one PATCH (150 identities): each chunk ARM confirmed counts at once, so
      // pods waiting for the identities it added are not held until the last chunk lands. Identities
      // being removed stay in `removing` (never reported present) until the whole write is done.
      const onProgress = (state: TargetIdentities): void => {
        this.#observe(st, state);
        this.#o.hooks.onObserved(key);
      };
      try {
        result = await this.#o.cloud.updateIdentities(target, delta.add, delta.remove, current, { signal, beforeWrite, onProgress });
      } catch (err) {
        if (!isPreconditionFailedError(err)) throw err;
        this.#o.hooks.onPreconditionFailed?.(key);
        log.info('Target changed since it was read; re-reading and re-planning the write', { etag: st.observedEtag });
        this.#invalidate(st); // the read below replaces it; if it fails, read before the next write
        await this.#read(key, st, target, signal);
        // Only when the first chunk was refused did nothing of ours land: then identities recorded ahead
        // that are present now were added by someone else, and are not ours to remove later.
        const notOurs = chunksSent <= 1 ? recordedAhead.filter((id) => st.observed!.has(id)) : [];
        if (notOurs.length) {
          this.#fence();
          await this.#o.ownership.remove(target, notOurs);
        }
        return 'changed';
      }
      this.#observe(st, result.after);
      st.removing = new Set();
      st.pendingSince = undefined;
      this.#lastFailure.delete(key);
      for (const id of delta.add) if (st.observed!.has(id)) this.#o.quarantine.clear(id);
      const removed = delta.remove.filter((id) => !st.observed!.has(id));
      if (removed.length) {
        this.#fence();
        await this.#o.ownership.remove(target, removed);
      }
      this.#o.hooks.onWrite(key, delta, result.writes, this.#o.clock.now() - started);
      this.#o.hooks.onObserved(key);
      this.#scheduleDrift(key, st, true);
      return 'written';
    } finally {
      if (st.removing.size) {
        st.removing = new Set();
        this.#o.hooks.onObserved(key);
      }
    }
  }

  #failed(key: string, demand: TargetDemand, st: MutableState, adding: readonly string[], err: unknown, signal: AbortSignal | undefined, log: Logger): PassResult {
    if (err instanceof WriteHeldBack) return { kind: 'done' };
    if (isFencedError(err) || signal?.aborted) {
      // Lost the lease (or stopping): nothing more is sent. The write may have landed: read before the next.
      this.#invalidate(st);
      log.info('ARM work stopped: this replica may not write any more', { reason: isFencedError(err) ? err.reason : 'aborted' });
      return { kind: 'done' };
    }
    const failure = classifyArmFailure(err);
    if (failure.kind !== 'rejected' && failure.kind !== 'precondition') this.#lastFailure.set(key, failure);
    switch (failure.kind) {
      case 'rejected': {
        const ids = failure.identityIds.length ? failure.identityIds : [];
        for (const id of ids) this.#o.quarantine.reject(id, failure.reason, failure.message);
        this.#o.hooks.onRejected(key, failure, ids);
        log.warn('ARM rejected identities; retrying the others without them', { identities: ids, code: failure.code, err });
        // Retry at once only when the next write differs (a rejected identity leaves the add list).
        return ids.some((id) => adding.includes(id)) ? { kind: 'again' } : { kind: 'retry', rateLimited: true };
      }
      case 'precondition':
        // The re-read after a 412 failed, or a read raced: read again before the next write, quietly.
        this.#invalidate(st);
        log.info('Target changed while re-planning; retrying', { err });
        return { kind: 'retry', rateLimited: true };
      case 'throttled':
      case 'conflict':
        this.#o.hooks.onFailure(key, failure);
        log.warn('ARM asked to retry later', { kind: failure.kind, retryAfterMs: failure.retryAfterMs, err });
        return { kind: 'retry', afterMs: failure.retryAfterMs };
      case 'target-gone':
        log.info('Target no longer exists; forgetting it', { err });
        void this.#dropRecord(demand.target, log);
        this.#states.delete(key);
        this.#gone.set(key, this.#o.clock.now() + GONE_BACKOFF_MS);
        this.#o.hooks.onObserved(key);
        return { kind: 'done' };
      default:
        this.#invalidate(st); // the write may or may not have landed: read before the next one
        this.#o.hooks.onFailure(key, failure);
        log.error('ARM call failed', { err });
        return { kind: 'retry', rateLimited: true };
    }
  }

  /** Deletes the ownership record of a target; failures are logged (the next pass or term retries). */
  async #dropRecord(target: Target, log: Logger): Promise<void> {
    if (this.#o.dryRun || !this.#o.ownership.hasRecord(targetKeyOf(target))) return;
    try {
      this.#fence();
      await this.#o.ownership.drop(target);
      log.info('Deleted the ownership record of the target');
    } catch (err) {
      log.error('Failed to delete the ownership record of the target', { err });
    }
  }

  /**
   * Records identities present on the target that this controller neither owns nor knows as foreign,
   * so that adoption in a later term never takes them over. A failure is logged; the next pass retries.
   */
  async #noteForeign(key: string, target: Target, st: MutableState, log: Logger): Promise<void> {
    if (this.#o.dryRun || !st.observed) return;
    const owned = this.#o.ownership.owned(key);
    const foreign = this.#o.ownership.foreign(key);
    const unseen = [...st.observed].filter((id) => !owned.has(id) && !foreign.has(id));
    if (!unseen.length) return;
    try {
      this.#fence();
      await this.#o.ownership.addForeign(target, unseen);
    } catch (err) {
      if (isFencedError(err)) throw err;
      log.error('Failed to record identities this controller did not add', { identities: unseen, err });
    }
  }

  /**
   * Garbage collection of a record nothing in the plan needs and that owns nothing: without foreign
   * entries it serves no purpose and is deleted; with them it is kept unless ARM says the target is gone
   * (one read per leadership term).
   */
  async #collectRecord(key: string, target: Target, signal: AbortSignal | undefined, log: Logger): Promise<PassResult> {
    const st = this.#state(key, target); // visited this term
    if (this.#o.gate.blockedReason()) return { kind: 'done' };
    if (this.#o.ownership.foreign(key).size === 0) {
      await this.#dropRecord(target, log);
      return { kind: 'done' };
    }
    try {
      this.#observe(st, await this.#o.cloud.getIdentities(target, signal));
      return { kind: 'done' };
    } catch (err) {
      return this.#failed(key, { target, desired: new Set(), adoptable: new Set() }, st, [], err, signal, log);
    }
  }

  /**
   * How long to hold a write so changes still arriving join it (0: write now). The desired set must
   * have been quiet for one window, counted only up to the oldest cluster change the demand does not
   * reflect yet (see {@link noteClusterChange}); at most ten windows of planned time (see {@link batchHoldMs}).
   */
  #batchHold(st: MutableState): number {
    const window = this.#o.batchWindowMs ?? 0;
    if (window <= 0) return 0;
    const now = this.#o.clock.now();
    st.pendingSince ??= now;
    return batchHoldMs(window, now, st.pendingSince, st.demandChangedAt ?? 0, this.#unplannedSince);
  }

  /** Demand of a target known only from its ownership record (nothing in the plan needs it). */
  #recordOnlyDemand(key: string): TargetDemand | undefined {
    const target = this.#o.ownership.targets().get(key) ?? this.#states.get(key)?.target;
    if (!target || !this.#o.ownership.hasRecord(key)) return undefined;
    return { target, desired: new Set(), adoptable: new Set() };
  }

  async #forgetVanished(key: string, demand: TargetDemand, st: MutableState): Promise<void> {
    // Owned entries that are gone from the target (removed by someone else) are no longer ours.
    const gone = [...this.#o.ownership.owned(key)].filter((id) => !st.observed!.has(id) && !demand.desired.has(id));
    if (gone.length && !this.#o.dryRun) {
      this.#fence();
      await this.#o.ownership.remove(demand.target, gone);
    }
  }

  #observe(st: MutableState, current: TargetIdentities): void {
    st.observed = new Set([...current.userAssigned].map((id) => id.toLowerCase()));
    st.observedType = current.type;
    st.observedEtag = current.etag;
    st.observedClientIds = current.clientIds;
    st.observedAt = this.#o.clock.now();
    st.carried = false;
    st.seq = ++this.#seq;
  }

  /** Forgets the observation (the next pass reads before writing). */
  #invalidate(st: MutableState): void {
    st.observed = undefined;
    st.seq = ++this.#seq;
  }

  /**
   * Next drift check: the base interval after a change or while the target has live assignments
   * (so an identity dropped out of band is repaired within it), else backing off up to the maximum.
   */
  #scheduleDrift(key: string, st: MutableState, driftFound: boolean): void {
    const max = this.#o.driftIntervalMaxMs ?? this.#o.driftIntervalMs * 8;
    const live = (this.#demand.get(key)?.desired.size ?? 0) > 0;
    st.driftIntervalMs = driftFound || live || st.nextDriftAt === undefined ? this.#o.driftIntervalMs : Math.min(max, st.driftIntervalMs * 2);
    st.nextDriftAt = this.#o.clock.now() + st.driftIntervalMs;
  }

  #untilDrift(st: MutableState): number | undefined {
    return st.nextDriftAt === undefined ? undefined : Math.max(1, st.nextDriftAt - this.#o.clock.now());
  }
}

/** Internal: the write gate closed between planning and sending; nothing was sent. */
class WriteHeldBack extends Error {}

function targetKeyOf(t: Target): string {
  return targetKey(t);
}

/** Key of the (kind, subscription, resource group) a target is listed with. */
function groupKey(t: Target): string {
  return `${t.kind}:${t.subscriptionId}/${t.resourceGroup}`.toLowerCase();
}

/** How long a target ARM reported as not found is left alone. */
const GONE_BACKOFF_MS = 5 * 60_000;

/**
 * The batching rule (pure): hold a write until the desired set has been quiet for `window` ms, quiet
 * being known only up to `unplannedSince` (the oldest cluster change not planned yet, if any). The hold
 * ends at the latest ten windows after `pendingSince` in planned time (the cluster changes the demand
 * reflects), so a plan lagging behind a burst does not cut it short, and twenty windows of wall time in
 * any case. Returns the ms to wait (0: write now); while the plan lags, a short re-check.
 */
export function batchHoldMs(window: number, now: number, pendingSince: number, demandChangedAt: number, unplannedSince: number | undefined): number {
  const knownUntil = unplannedSince === undefined ? now : Math.min(now, unplannedSince);
  const capLeft = Math.min(10 * window - (knownUntil - pendingSince), 20 * window - (now - pendingSince));
  if (capLeft <= 0) return 0;
  const quietFor = knownUntil - demandChangedAt;
  if (quietFor >= window) return 0;
  const wait = knownUntil < now ? Math.ceil(window / 4) : window - quietFor;
  return Math.max(1, Math.min(wait, capLeft));
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function minDefined(...xs: (number | undefined)[]): number | undefined {
  const d = xs.filter((x): x is number => x !== undefined);
  return d.length ? Math.min(...d) : undefined;
}
