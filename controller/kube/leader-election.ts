/**
 * Leader election over one or more lock objects, following client-go's algorithm: acquire when every
 * lock is absent, released, expired or ours; renew every retry period; optimistic concurrency
 * through resourceVersion.
 *
 * Two locks by default (like client-go's `endpointsleases` migration lock, in our own terms):
 * upstream MIC's Endpoints record (`control-plane.alpha.kubernetes.io/leader`) and a Lease of the same
 * name. This replica leads only when it wrote *all* usable locks in the same round, and never while
 * any lock names another holder whose record is unexpired. An upstream MIC (Endpoints only) and an
 * earlier release of this controller (Lease only) are therefore both excluded, in both directions.
 *
 * Expiry of another holder's record is judged on the *local monotonic* clock, from the moment our
 * read that first returned its current version completed (never from the timestamps inside it), so
 * clock skew and wall-clock jumps are harmless.
 *
 * Permissions: a lock whose calls are refused (403) is reported once through `onPermissionDenied` and
 * left out; the election goes on with the others (upstream's RBAC has Endpoints but no Leases). When
 * every lock is refused nobody can lead; the locks are retried every round and the refusal is visible
 * on `/readyz`.
 *
 * Fencing: {@link LeaderElector.isLeader} is true only while `now < lastSuccessfulRenew +
 * renewDeadline` on the monotonic clock. The renew deadline is shorter than the lease duration, so a
 * replica that stopped renewing stops writing before anybody else can acquire.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { CoordinationV1Api, CoreV1Api, type ConfigurationOptions, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { monotonicNow, systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../observability/logger.js';
import { withJitter } from './backoff.js';
import { isAlreadyExists, isConflict, isForbidden, makeApiClient, requestOptions, userAgent as defaultUserAgent } from './client.js';
import { EndpointsLock, type EndpointsApi } from './endpoints-lock.js';
import type { EventSink } from './event-recorder.js';
import { LeaseLock, type LeaseApi } from './lease-lock.js';
import type { LeaderElectionRecord, LockObservation, ResourceLock } from './resource-lock.js';

export type { LeaseApi } from './lease-lock.js';
export type { EndpointsApi } from './endpoints-lock.js';

/** Why leadership ended. `lost`: renewals failed or another holder took over; the process should exit. */
export type StopReason = 'lost' | 'released' | 'stopped';

/** How the lease was lost: another holder took it, or renewals failed until the renew deadline. */
export interface LeaseLoss {
  reason: 'taken' | 'renewDeadline';
  /** The holder the lock named at that moment. */
  holder: string | undefined;
}

/** Reason of the Events client-go records on the lock objects. */
export const LEADER_ELECTION_EVENT_REASON = 'LeaderElection';

/** A lock call refused by RBAC. */
export interface LockPermissionDenial {
  lock: ResourceLock;
  verb: 'get' | 'create' | 'update';
  /** True when no usable lock is left (this replica cannot lead). */
  noLockLeft: boolean;
}

/** Options for {@link LeaderElector}. */
export interface LeaderElectorOptions {
  /** Kubeconfig to build both locks from (Endpoints and Lease); or pass the APIs or `locks`. */
  kc?: KubeConfig;
  /** A Lease lock over this API (alone unless `endpointsApi` is given too). */
  coordinationApi?: LeaseApi;
  /** An Endpoints lock over this API. */
  endpointsApi?: EndpointsApi;
  /** Explicit locks (tests); overrides the above. */
  locks?: ResourceLock[];
  /** User agent for the clients built from `kc`. */
  userAgent?: string;
  namespace: string;
  name: string;
  /** Holder identity (default `<hostname>_<uuid>`). */
  identity?: string;
  /** Default 15 000 ms. */
  leaseDurationMs?: number;
  /** Default 10 000 ms; must be below the lease duration. */
  renewDeadlineMs?: number;
  /** Default 2 000 ms; must be below the renew deadline. */
  retryPeriodMs?: number;
  clock?: Clock;
  logger: Logger;
  /** `LeaderElection` Events ("<id> became leader", "<id> stopped leading") on every held lock object. */
  events?: EventSink;
  /** Called once leadership is acquired; `signal` aborts when it ends. Errors are logged. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once when leadership ends after having been acquired. */
  onStoppedLeading(reason: StopReason): void;
  /** Called whenever a different holder (possibly us) is observed. */
  onNewLeader?(identity: string): void;
  /** Called the first time a lock call is refused (403). */
  onPermissionDenied?(denial: LockPermissionDenial): void;
  /** Random source in `[0, 1)` for jitter (tests). */
  random?: () => number;
}

/** Invalid leader-election timing or missing client. */
export class LeaderElectionConfigError extends Error {
  override readonly name = 'LeaderElectionConfigError';
}

/** True for a {@link LeaderElectionConfigError}. */
export function isLeaderElectionConfigError(e: unknown): e is LeaderElectionConfigError {
  return e instanceof LeaderElectionConfigError;
}

/** Result of one acquire-or-renew attempt. */
type Attempt = 'ok' | 'failed' | 'held';

/** The default holder identity: `<hostname>_<uuid>` (as controller-runtime). */
export function defaultIdentity(): string {
  return `${os.hostname()}_${randomUUID()}`;
}

/** What the elector knows about one lock. */
interface LockState {
  lock: ResourceLock;
  /** Refused by RBAC: left out of the election. */
  forbidden: boolean;
  observation: LockObservation | undefined;
  /** Monotonic ms at which the current fingerprint was first seen (after the read returned). */
  observedAt: number;
}

/** Leader elector over several locks; see the module comment. */
export class LeaderElector {
  /** This replica's holder identity. */
  readonly identity: string;
  readonly #o: LeaderElectorOptions;
  readonly #locks: LockState[];
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #requestTimeoutMs: number;
  readonly #random: () => number;

  #running = false;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;
  /** Fencing flag: cleared first when leadership ends. */
  #leading = false;
  /** Leadership callbacks owed: set when `onStartedLeading` ran, cleared when `onStoppedLeading` ran. */
  #leadershipActive = false;
  #leadingAbort: AbortController | undefined;
  /** How the lease was last lost (undefined until it is). */
  #lastLoss: LeaseLoss | undefined;
  /** Monotonic ms at the start of our last successful round. */
  #lastRenewAt = Number.NEGATIVE_INFINITY;
  /** Monotonic ms of our last successful read or write of any lock. */
  #lastContactAt = Number.NEGATIVE_INFINITY;
  #reportedLeader: string | undefined;
  #leader: string | undefined;

  constructor(options: LeaderElectorOptions) {
    this.#o = options;
    this.identity = options.identity || defaultIdentity();
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger.child({ lock: `${options.namespace}/${options.name}`, identity: this.identity });
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.#random = options.random ?? Math.random;
    if (!(this.#leaseDurationMs > this.#renewDeadlineMs)) {
      throw new LeaderElectionConfigError('leaseDuration must be greater than renewDeadline');
    }
    if (!(this.#renewDeadlineMs > this.#retryPeriodMs * 1.2)) {
      throw new LeaderElectionConfigError('renewDeadline must be greater than 1.2 * retryPeriod');
    }
    if (!(this.#retryPeriodMs > 0)) throw new LeaderElectionConfigError('retryPeriod must be positive');
    this.#requestTimeoutMs = Math.max(this.#renewDeadlineMs / 2, 1000);
    const locks = options.locks ?? this.#buildLocks(options);
    if (locks.length === 0) throw new LeaderElectionConfigError('either kc, coordinationApi, endpointsApi or locks is required');
    this.#locks = locks.map((lock) => ({ lock, forbidden: false, observation: undefined, observedAt: Number.NEGATIVE_INFINITY }));
  }

  #buildLocks(o: LeaderElectorOptions): ResourceLock[] {
    const seconds = this.#leaseDurationSeconds();
    const agent = { userAgent: o.userAgent ?? defaultUserAgent('unknown') };
    const endpoints = o.endpointsApi ?? (o.kc ? makeApiClient(o.kc, CoreV1Api, agent) : undefined);
    const leases = o.coordinationApi ?? (o.kc ? makeApiClient(o.kc, CoordinationV1Api, agent) : undefined);
    const locks: ResourceLock[] = [];
    // Endpoints first: it is the lock an upstream MIC reads, so it is taken before the Lease.
    if (endpoints) locks.push(new EndpointsLock(endpoints, o.namespace, o.name, seconds));
    if (leases) locks.push(new LeaseLock(leases, o.namespace, o.name, seconds));
    return locks;
  }

  /** Starts campaigning in the background. Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stop = new AbortController();
    this.#loop = this.#run();
  }

  /** Resolves when the election loop has ended (lost, released or stopped). */
  async done(): Promise<void> {
    await this.#loop;
  }

  /**
   * Fencing check: true only while we lead and our last successful renewal is younger than the
   * renew deadline, on the monotonic clock. Check it immediately before every external write.
   */
  isLeader(): boolean {
    return this.#leading && monotonicNow(this.#clock) < this.#lastRenewAt + this.#renewDeadlineMs;
  }

  /** Wall-clock epoch ms of our last successful acquire/renew (from its monotonic age), or undefined. */
  lastRenewAt(): number | undefined {
    return this.#toWall(this.#lastRenewAt);
  }

  /** Wall-clock epoch ms of the last successful read or write of the locks (any holder), or undefined. */
  lastObservedAt(): number | undefined {
    return this.#toWall(this.#lastContactAt);
  }

  /** How the lease was last lost, if it was (the reason also logged as `Leader lease lost`). */
  lastLoss(): LeaseLoss | undefined {
    return this.#lastLoss;
  }

  /** The holder last observed (may be us); for two locks naming different holders, a foreign one. */
  getLeader(): string | undefined {
    return this.#leader;
  }

  /** The Lease as last read or written, when a Lease lock is in use (read-only view). */
  getLease(): Readonly<V1Lease> | undefined {
    for (const s of this.#locks) if (s.lock instanceof LeaseLock) return s.lock.lease;
    return undefined;
  }

  /** Annotations of the Lease as last read or written. */
  getAnnotations(): Readonly<Record<string, string>> {
    return this.getLease()?.metadata?.annotations ?? {};
  }

  /** Locks in use and locks refused by RBAC. */
  lockStatus(): { active: ResourceLock[]; forbidden: ResourceLock[] } {
    return { active: this.#locks.filter((s) => !s.forbidden).map((s) => s.lock), forbidden: this.#locks.filter((s) => s.forbidden).map((s) => s.lock) };
  }

  /** Stops campaigning without releasing: another replica takes over once the records expire. */
  async stop(): Promise<void> {
    await this.#halt();
    this.#endLeadership('stopped');
  }

  /**
   * Graceful shutdown: stops leading (fencing turns false first), then clears `holderIdentity` on
   * every lock and shortens the duration so a standby acquires on its next retry instead of waiting.
   */
  async release(): Promise<void> {
    const wasLeading = this.#leading;
    this.#leading = false;
    await this.#halt();
    if (wasLeading) await this.#writeRelease();
    this.#endLeadership(wasLeading ? 'released' : 'stopped');
  }

  // -------------------------------------------------------------------------------------------

  #toWall(mono: number): number | undefined {
    if (!Number.isFinite(mono)) return undefined;
    return this.#clock.now() - (monotonicNow(this.#clock) - mono);
  }

  async #halt(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stop.abort(new Error('leader elector stopped'));
    await this.#loop;
  }

  async #run(): Promise<void> {
    this.#log.info('Leader election started', { locks: this.#locks.map((s) => s.lock.kind) });
    // Acquire.
    for (;;) {
      if (!this.#running) return;
      const attempt = await this.#tryAcquireOrRenew();
      if (attempt === 'ok') break;
      if (!(await this.#sleep(withJitter(this.#retryPeriodMs, 1.2, this.#random)))) return;
    }
    if (!this.#running) return;
    this.#beginLeadership();
    // Renew.
    for (;;) {
      if (!(await this.#sleep(this.#retryPeriodMs))) return;
      const attempt = await this.#tryAcquireOrRenew();
      if (!this.#running) return;
      if (attempt === 'ok') continue;
      if (attempt === 'held' || monotonicNow(this.#clock) >= this.#lastRenewAt + this.#renewDeadlineMs) {
        this.#lastLoss = { reason: attempt === 'held' ? 'taken' : 'renewDeadline', holder: this.getLeader() };
        this.#log.error('Leader lease lost', { ...this.#lastLoss });
        this.#running = false;
        this.#endLeadership('lost');
        return;
      }
    }
  }

  #beginLeadership(): void {
    this.#leading = true;
    this.#leadershipActive = true;
    this.#leadingAbort = new AbortController();
    this.#log.info('Became leader');
    this.#recordEvent('became leader');
    try {
      const result = this.#o.onStartedLeading(this.#leadingAbort.signal);
      if (result instanceof Promise) {
        result.catch((err: unknown) => this.#log.error('onStartedLeading failed', { err }));
      }
    } catch (err) {
      this.#log.error('onStartedLeading failed', { err });
    }
  }

  #endLeadership(reason: StopReason): void {
    this.#leading = false;
    if (!this.#leadershipActive) return;
    this.#leadershipActive = false;
    this.#leadingAbort?.abort(new Error(`leadership ended: ${reason}`));
    if (reason !== 'lost') this.#log.info('Stopped leading', { reason });
    this.#recordEvent('stopped leading');
    try {
      this.#o.onStoppedLeading(reason);
    } catch (err) {
      this.#log.error('onStoppedLeading failed', { err });
    }
  }

  /** client-go's `RecordEvent`: Normal `LeaderElection` "<identity> <what>" on each lock object in use. */
  #recordEvent(what: string): void {
    if (!this.#o.events) return;
    for (const s of this.#locks) {
      const target = s.forbidden ? undefined : s.lock.eventTarget();
      if (target) this.#o.events.record(target, 'Normal', LEADER_ELECTION_EVENT_REASON, `${this.identity} ${what}`);
    }
  }

  /** Sleeps unless stopped; false when stopped. */
  async #sleep(ms: number): Promise<boolean> {
    try {
      await this.#clock.sleep(ms, this.#stop.signal);
      return this.#running;
    } catch {
      return false;
    }
  }

  #requestOptions(): ConfigurationOptions {
    return requestOptions({ timeoutMs: this.#requestTimeoutMs, signal: this.#stop.signal });
  }

  /** Locks taking part this round: those not refused, or all of them when every one was refused. */
  #usable(): LockState[] {
    const allowed = this.#locks.filter((s) => !s.forbidden);
    return allowed.length > 0 ? allowed : this.#locks;
  }

  /** Marks a lock refused; true when it was newly refused. */
  #denied(s: LockState, verb: LockPermissionDenial['verb'], err: unknown): void {
    if (s.forbidden) return;
    s.forbidden = true;
    const noLockLeft = this.#locks.every((l) => l.forbidden);
    this.#log.debug('Lock refused by RBAC', { kind: s.lock.kind, verb, err });
    try {
      this.#o.onPermissionDenied?.({ lock: s.lock, verb, noLockLeft });
    } catch (e) {
      this.#log.warn('onPermissionDenied failed', { err: e });
    }
  }

  /** Records an observation; restarts that lock's expiry clock when its record changed. */
  #observe(s: LockState, obs: LockObservation | undefined): void {
    const at = monotonicNow(this.#clock); // after the call returned: a standby never under-estimates
    this.#lastContactAt = at;
    if (obs?.fingerprint !== s.observation?.fingerprint || (obs === undefined) !== (s.observation === undefined)) s.observedAt = at;
    s.observation = obs;
  }

  /** One acquire-or-renew round over every usable lock (client-go `tryAcquireOrRenew`). */
  async #tryAcquireOrRenew(): Promise<Attempt> {
    const roundStart = monotonicNow(this.#clock);
    const wallNow = this.#clock.now();
    const round = this.#usable();
    // 1. Read every lock.
    for (const s of round) {
      try {
        this.#observe(s, await s.lock.get(this.#requestOptions()));
        if (s.forbidden && this.#locks.some((l) => !l.forbidden)) continue;
        s.forbidden = false; // re-probed after every lock had been refused, and allowed again
      } catch (err) {
        if (isForbidden(err)) this.#denied(s, 'get', err);
        else this.#log.warn('Leader lock read failed', { kind: s.lock.kind, err });
        return 'failed';
      }
    }
    // 2. Stand by while any lock names another holder whose record has not expired.
    const now = monotonicNow(this.#clock);
    let foreign: string | undefined;
    for (const s of round) {
      const rec = s.observation?.record;
      if (!rec || rec.holderIdentity === '' || rec.holderIdentity === this.identity) continue;
      foreign ??= rec.holderIdentity;
      if (s.observedAt + rec.leaseDurationSeconds * 1000 > now) {
        this.#noteLeader(rec.holderIdentity);
        return 'held';
      }
    }
    // 3. Write every lock; we lead only when all writes succeeded in this round.
    for (const s of round) {
      const old = s.observation?.record;
      const ours = old?.holderIdentity === this.identity;
      const record: LeaderElectionRecord = {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#leaseDurationSeconds(),
        acquireTime: ours ? old?.acquireTime ?? wallNow : wallNow,
        renewTime: wallNow,
        leaderTransitions: old ? (ours ? old.leaderTransitions : old.leaderTransitions + 1) : 0,
      };
      const verb = s.observation ? 'update' : 'create';
      try {
        const written = verb === 'update' ? await s.lock.update(record, this.#requestOptions()) : await s.lock.create(record, this.#requestOptions());
        this.#observe(s, written);
      } catch (err) {
        if (isForbidden(err)) {
          this.#denied(s, verb, err);
          if (this.#locks.some((l) => !l.forbidden)) continue;
        } else if (isConflict(err) || isAlreadyExists(err)) this.#log.debug('Leader lock changed concurrently', { kind: s.lock.kind, err });
        else this.#log.warn('Leader lock write failed', { kind: s.lock.kind, err });
        return 'failed';
      }
    }
    if (foreign !== undefined) this.#log.info('Took over expired leader lock', { previous: foreign });
    this.#lastRenewAt = roundStart;
    this.#noteLeader(this.identity);
    return 'ok';
  }

  #noteLeader(holder: string): void {
    this.#leader = holder;
    if (holder === this.#reportedLeader) return;
    this.#reportedLeader = holder;
    this.#log.info('New leader observed', { holder });
    try {
      this.#o.onNewLeader?.(holder);
    } catch (err) {
      this.#log.warn('onNewLeader failed', { err });
    }
  }

  #leaseDurationSeconds(): number {
    return Math.max(1, Math.round(this.#leaseDurationMs / 1000));
  }

  /** Hands every lock still ours back so a standby can take over at once. */
  async #writeRelease(): Promise<void> {
    const options = requestOptions({ timeoutMs: this.#requestTimeoutMs });
    const wallNow = this.#clock.now();
    for (const s of this.#locks) {
      if (s.forbidden) continue;
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const current = attempt === 0 && s.observation ? s.observation : await s.lock.get(options);
          const rec = current?.record;
          if (!rec || rec.holderIdentity !== this.identity) break;
          s.observation = await s.lock.update(
            { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: wallNow, renewTime: wallNow, leaderTransitions: rec.leaderTransitions },
            options,
          );
          this.#log.info('Leader lock released', { kind: s.lock.kind });
          break;
        } catch (err) {
          if (isConflict(err) && attempt === 0) continue; // our copy was stale: re-read once
          this.#log.warn('Leader lock release failed', { kind: s.lock.kind, err });
          break;
        }
      }
    }
  }
}
