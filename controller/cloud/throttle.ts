/**
 * Client-side ARM rate limiting: token buckets modelled on the Compute resource provider's
 * per-resource and per-subscription limits, plus per-target `Retry-After` gates. A refused call is
 * never sent; the caller gets the time to wait instead.
 */
import type { Clock } from '../util/clock.js';
import { TokenBucket } from '../util/token-bucket.js';
import type { Target } from './provider.js';
import { targetKey } from './provider.js';

export { TokenBucket };


/** Rate and burst of one bucket kind. */
export interface BucketLimit {
  /** Tokens per minute. */
  perMinute: number;
  /** Bucket capacity. */
  burst: number;
}

/** Limits of {@link ArmRateLimiter}; defaults follow the Compute throttling policies. */
export interface ArmRateLimits {
  /** Writes (PATCH) per VM/VMSS: Update VMSS/VM 4/min, burst 12. */
  targetWrite: BucketLimit;
  /** Reads (GET) per VM/VMSS: Low-cost Get 12/min, burst 36. */
  targetRead: BucketLimit;
  /** Writes per subscription: 500/min, burst 1500. */
  subscriptionWrite: BucketLimit;
  /** Reads per subscription: 800/min, burst 2400 (Low-cost Get VMSS). */
  subscriptionRead: BucketLimit;
}

/** Default limits (Microsoft Learn "Compute throttling limits"). */
export const DEFAULT_ARM_RATE_LIMITS: ArmRateLimits = {
  targetWrite: { perMinute: 4, burst: 12 },
  targetRead: { perMinute: 12, burst: 36 },
  subscriptionWrite: { perMinute: 500, burst: 1500 },
  subscriptionRead: { perMinute: 800, burst: 2400 },
};

/** Options of {@link ArmRateLimiter}. */
export interface ArmRateLimiterOptions {
  clock: Clock;
  /** Overrides of the default limits. */
  limits?: Partial<ArmRateLimits>;
  /**
   * Multiplies every refill rate (benchmarks against an emulator running N× faster use N).
   * Retry-After gates are not scaled: they are whatever ARM asked for.
   */
  timeScale?: number;
}

/** Kind of ARM call. */
export type CallKind = 'read' | 'write';

/** Answer of a reservation: go, or wait `waitMs` (nothing was consumed). */
export type Reservation = { ok: true } | { ok: false; waitMs: number; scope: 'target' | 'subscription'; reason: 'retry-after' | 'budget' };

interface TargetState {
  read: TokenBucket;
  write: TokenBucket;
  readGateUntil: number;
  writeGateUntil: number;
}

interface SubscriptionState {
  read: TokenBucket;
  write: TokenBucket;
  gateUntil: number;
}

/** How many reservations between sweeps of idle per-target state. */
const SWEEP_EVERY = 256;

/**
 * Per-target and per-subscription ARM budgets with per-target Retry-After gates. A gate on one
 * VMSS never delays another (upstream had one gate per client, so one throttled VMSS paused all).
 */
export class ArmRateLimiter {
  readonly #clock: Clock;
  readonly #limits: ArmRateLimits;
  readonly #scale: number;
  readonly #targets = new Map<string, TargetState>();
  readonly #subscriptions = new Map<string, SubscriptionState>();
  #sinceSweep = 0;

  constructor(options: ArmRateLimiterOptions) {
    this.#clock = options.clock;
    this.#limits = { ...DEFAULT_ARM_RATE_LIMITS, ...(options.limits ?? {}) };
    this.#scale = options.timeScale ?? 1;
    if (!(this.#scale > 0)) throw new RangeError('timeScale must be > 0');
  }

  #bucket(limit: BucketLimit): TokenBucket {
    return new TokenBucket(limit.burst, limit.perMinute * this.#scale, this.#clock);
  }

  #target(target: Target): TargetState {
    const key = targetKey(target);
    let state = this.#targets.get(key);
    if (!state) {
      state = { read: this.#bucket(this.#limits.targetRead), write: this.#bucket(this.#limits.targetWrite), readGateUntil: 0, writeGateUntil: 0 };
      this.#targets.set(key, state);
    }
    return state;
  }

  #subscription(subscriptionId: string): SubscriptionState {
    const key = subscriptionId.toLowerCase();
    let state = this.#subscriptions.get(key);
    if (!state) {
      state = { read: this.#bucket(this.#limits.subscriptionRead), write: this.#bucket(this.#limits.subscriptionWrite), gateUntil: 0 };
      this.#subscriptions.set(key, state);
    }
    return state;
  }

  /** Reserves one write (PATCH) on `target`, or says how long to wait. */
  reserveWrite(target: Target): Reservation {
    return this.reserve(target, 'write');
  }

  /** Reserves one read (GET) on `target`, or says how long to wait. */
  reserveRead(target: Target): Reservation {
    return this.reserve(target, 'read');
  }

  /** Reserves one call of `kind` on `target`; consumes nothing when refused. */
  reserve(target: Target, kind: CallKind): Reservation {
    this.#maybeSweep();
    const now = this.#clock.now();
    const t = this.#target(target);
    const s = this.#subscription(target.subscriptionId);
    const gate = kind === 'write' ? t.writeGateUntil : t.readGateUntil;
    if (s.gateUntil > now) return { ok: false, waitMs: s.gateUntil - now, scope: 'subscription', reason: 'retry-after' };
    if (gate > now) return { ok: false, waitMs: gate - now, scope: 'target', reason: 'retry-after' };
    const targetBucket = t[kind];
    const subscriptionBucket = s[kind];
    const subscriptionWait = subscriptionBucket.msUntilAvailable();
    if (subscriptionWait > 0) return { ok: false, waitMs: subscriptionWait, scope: 'subscription', reason: 'budget' };
    const targetWait = targetBucket.msUntilAvailable();
    if (targetWait > 0) return { ok: false, waitMs: targetWait, scope: 'target', reason: 'budget' };
    targetBucket.tryTake();
    subscriptionBucket.tryTake();
    return { ok: true };
  }

  /** Records ARM's Retry-After for one target and call kind (writes by default). */
  noteRetryAfter(target: Target, ms: number, kind: CallKind = 'write'): void {
    if (!(ms > 0)) return;
    const t = this.#target(target);
    const until = this.#clock.now() + ms;
    if (kind === 'write') t.writeGateUntil = Math.max(t.writeGateUntil, until);
    else t.readGateUntil = Math.max(t.readGateUntil, until);
  }

  /** Records a subscription-wide Retry-After (all targets of the subscription wait). */
  noteSubscriptionRetryAfter(subscriptionId: string, ms: number): void {
    if (!(ms > 0)) return;
    const s = this.#subscription(subscriptionId);
    s.gateUntil = Math.max(s.gateUntil, this.#clock.now() + ms);
  }

  /** Number of targets with remembered state (for tests and metrics). */
  get trackedTargets(): number {
    return this.#targets.size;
  }

  /** Forgets targets whose buckets are full and whose gates have expired. */
  sweep(): void {
    const now = this.#clock.now();
    for (const [key, t] of this.#targets) {
      if (t.readGateUntil <= now && t.writeGateUntil <= now && t.read.isFull() && t.write.isFull()) this.#targets.delete(key);
    }
  }

  #maybeSweep(): void {
    if (++this.#sinceSweep >= SWEEP_EVERY) {
      this.#sinceSweep = 0;
      this.sweep();
    }
  }
}
