/**
 * Leader election on a `coordination.k8s.io/v1` Lease (never Endpoints), following client-go's
 * algorithm: acquire when the lease is absent, released, expired or ours; renew every retry period;
 * optimistic concurrency through resourceVersion. Expiry of another holder's lease is judged by the
 * *local* time at which we last saw its record change, so clock skew between replicas is harmless.
 *
 * Fencing: {@link LeaderElector.isLeader} is true only while `now < lastSuccessfulRenew +
 * renewDeadline` by the local clock. The controller checks it before every ARM write; since the
 * renew deadline is shorter than the lease duration, a replica that stopped renewing stops writing
 * before anybody else can acquire the lease.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { CoordinationV1Api, type ConfigurationOptions, type KubeConfig, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../observability/logger.js';
import { withJitter } from './backoff.js';
import { isAlreadyExists, isConflict, isNotFound, makeApiClient, requestOptions, userAgent as defaultUserAgent } from './client.js';
import { parseKubeTime, toMicroTime } from './time.js';

/** The Lease calls the elector makes; `CoordinationV1Api` satisfies it. */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }, options?: ConfigurationOptions): Promise<V1Lease>;
  createNamespacedLease(param: { namespace: string; body: V1Lease }, options?: ConfigurationOptions): Promise<V1Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: V1Lease }, options?: ConfigurationOptions): Promise<V1Lease>;
}

/** Why leadership ended. `lost`: renewals failed or another holder took over; the process should exit. */
export type StopReason = 'lost' | 'released' | 'stopped';

/** Options for {@link LeaderElector}. */
export interface LeaderElectorOptions {
  /** Kubeconfig to build a `CoordinationV1Api` from (with `userAgent`); or pass `coordinationApi`. */
  kc?: KubeConfig;
  coordinationApi?: LeaseApi;
  /** User agent for the client built from `kc`. */
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
  /** Called once leadership is acquired; `signal` aborts when it ends. Errors are logged. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once when leadership ends after having been acquired. */
  onStoppedLeading(reason: StopReason): void;
  /** Called whenever a different holder (possibly us) is observed. */
  onNewLeader?(identity: string): void;
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

/** Lease-based leader elector; see the module comment. */
export class LeaderElector {
  /** This replica's holder identity. */
  readonly identity: string;
  readonly #o: LeaderElectorOptions;
  readonly #api: LeaseApi;
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
  #lastRenewAt = Number.NEGATIVE_INFINITY;
  #lease: V1Lease | undefined;
  #observedVersion: string | undefined;
  #observedAt = 0;
  #reportedLeader: string | undefined;

  constructor(options: LeaderElectorOptions) {
    this.#o = options;
    this.identity = options.identity || defaultIdentity();
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger.child({ lease: `${options.namespace}/${options.name}`, identity: this.identity });
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
    if (options.coordinationApi) this.#api = options.coordinationApi;
    else if (options.kc) {
      this.#api = makeApiClient(options.kc, CoordinationV1Api, { userAgent: options.userAgent ?? defaultUserAgent('unknown') });
    } else throw new LeaderElectionConfigError('either kc or coordinationApi is required');
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
   * renew deadline, by the local clock. Check it immediately before every external write.
   */
  isLeader(): boolean {
    return this.#leading && this.#clock.now() < this.#lastRenewAt + this.#renewDeadlineMs;
  }

  /** Epoch ms of our last successful acquire/renew (undefined if never). */
  lastRenewAt(): number | undefined {
    return Number.isFinite(this.#lastRenewAt) ? this.#lastRenewAt : undefined;
  }

  /** Epoch ms when the lease record was last seen to change (any holder), or undefined. */
  lastObservedAt(): number | undefined {
    return this.#observedAt > 0 ? this.#observedAt : undefined;
  }

  /** The holder identity last observed on the lease (may be us), if any. */
  getLeader(): string | undefined {
    return this.#lease?.spec?.holderIdentity || undefined;
  }

  /** The lease as last read or written (read-only view). */
  getLease(): Readonly<V1Lease> | undefined {
    return this.#lease;
  }

  /** Annotations of the lease as last read or written. */
  getAnnotations(): Readonly<Record<string, string>> {
    return this.#lease?.metadata?.annotations ?? {};
  }

  /** Stops campaigning without releasing: another replica takes over once the lease expires. */
  async stop(): Promise<void> {
    await this.#halt();
    this.#endLeadership('stopped');
  }

  /**
   * Graceful shutdown: stops leading (fencing turns false first), then clears `holderIdentity` and
   * shortens the lease so a standby acquires it on its next retry instead of waiting for expiry.
   */
  async release(): Promise<void> {
    const wasLeading = this.#leading;
    this.#leading = false;
    await this.#halt();
    if (wasLeading) await this.#writeRelease();
    this.#endLeadership(wasLeading ? 'released' : 'stopped');
  }

  // -------------------------------------------------------------------------------------------

  async #halt(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stop.abort(new Error('leader elector stopped'));
    await this.#loop;
  }

  async #run(): Promise<void> {
    this.#log.info('Leader election started');
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
      if (attempt === 'held' || this.#clock.now() >= this.#lastRenewAt + this.#renewDeadlineMs) {
        this.#log.error('Leader lease lost', { holder: this.getLeader(), reason: attempt === 'held' ? 'taken' : 'renewDeadline' });
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
    try {
      this.#o.onStoppedLeading(reason);
    } catch (err) {
      this.#log.error('onStoppedLeading failed', { err });
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

  /** One acquire-or-renew round trip (client-go `tryAcquireOrRenew`). */
  async #tryAcquireOrRenew(): Promise<Attempt> {
    const now = this.#clock.now();
    const { name, namespace } = this.#o;
    let current: V1Lease;
    try {
      current = await this.#api.readNamespacedLease({ name, namespace }, this.#requestOptions());
    } catch (err) {
      if (!isNotFound(err)) {
        this.#log.warn('Leader lease read failed', { err });
        return 'failed';
      }
      return this.#create(now);
    }
    this.#observe(current, now);
    const spec: V1LeaseSpec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const ours = holder === this.identity;
    if (holder !== '' && !ours) {
      const durationMs = (spec.leaseDurationSeconds ?? this.#leaseDurationMs / 1000) * 1000;
      if (this.#observedAt + durationMs > now) return 'held';
    }
    const body: V1Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#leaseDurationSeconds(),
        acquireTime: toMicroTime(ours ? parseKubeTime(spec.acquireTime) ?? now : now),
        renewTime: toMicroTime(now),
        leaseTransitions: ours ? spec.leaseTransitions ?? 0 : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      const written = await this.#api.replaceNamespacedLease({ name, namespace, body }, this.#requestOptions());
      this.#renewed(written, now);
      return 'ok';
    } catch (err) {
      if (isConflict(err)) this.#log.debug('Leader lease changed concurrently', { err });
      else this.#log.warn('Leader lease update failed', { err });
      return 'failed';
    }
  }

  async #create(now: number): Promise<Attempt> {
    const { name, namespace } = this.#o;
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#leaseDurationSeconds(),
        acquireTime: toMicroTime(now),
        renewTime: toMicroTime(now),
        leaseTransitions: 0,
      },
    };
    try {
      const created = await this.#api.createNamespacedLease({ namespace, body }, this.#requestOptions());
      this.#renewed(created, now);
      return 'ok';
    } catch (err) {
      if (isAlreadyExists(err) || isConflict(err)) this.#log.debug('Leader lease created concurrently', { err });
      else this.#log.warn('Leader lease create failed', { err });
      return 'failed';
    }
  }

  #renewed(lease: V1Lease, requestStartedAt: number): void {
    this.#lastRenewAt = requestStartedAt;
    this.#observe(lease, requestStartedAt);
  }

  /** Records a lease read or written; restarts the expiry clock when its record changed. */
  #observe(lease: V1Lease, now: number): void {
    this.#lease = lease;
    const version = `${lease.metadata?.resourceVersion ?? ''}|${lease.spec?.holderIdentity ?? ''}|${String(lease.spec?.renewTime ?? '')}`;
    if (version !== this.#observedVersion) {
      this.#observedVersion = version;
      this.#observedAt = now;
    }
    const holder = lease.spec?.holderIdentity;
    if (holder && holder !== this.#reportedLeader) {
      this.#reportedLeader = holder;
      this.#log.info('New leader observed', { holder });
      try {
        this.#o.onNewLeader?.(holder);
      } catch (err) {
        this.#log.warn('onNewLeader failed', { err });
      }
    }
  }

  #leaseDurationSeconds(): number {
    return Math.max(1, Math.round(this.#leaseDurationMs / 1000));
  }

  /** Hands the lease back (if still ours) so a standby can take over at once. */
  async #writeRelease(): Promise<void> {
    const { name, namespace } = this.#o;
    const options = requestOptions({ timeoutMs: this.#requestTimeoutMs });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const current = attempt === 0 && this.#lease ? this.#lease : await this.#api.readNamespacedLease({ name, namespace }, options);
        const spec = current.spec ?? {};
        if (spec.holderIdentity !== this.identity) return;
        const now = this.#clock.now();
        const body: V1Lease = {
          ...current,
          spec: {
            ...spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: toMicroTime(now),
            renewTime: toMicroTime(now),
            leaseTransitions: spec.leaseTransitions ?? 0,
          },
        };
        this.#lease = await this.#api.replaceNamespacedLease({ name, namespace, body }, options);
        this.#log.info('Leader lease released');
        return;
      } catch (err) {
        if (isConflict(err) && attempt === 0) continue; // our cached copy was stale: re-read once
        this.#log.warn('Leader lease release failed', { err });
        return;
      }
    }
  }
}
