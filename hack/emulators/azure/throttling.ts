/**
 * ARM and Compute throttling (user-asks.md §2.4): the ARM front-door buckets per subscription, the
 * Compute per-subscription buckets and the Compute per-resource buckets. A request passes only when
 * every bucket that applies to it holds a token; then one token is taken from each.
 */
import { TokenBucket, type BucketSpec } from './token-bucket.js';

/** What kind of ARM call a request is, for throttling and accounting. */
export type CallKind = 'read' | 'write' | 'poll' | 'token';

/** The throttling-relevant facts about one request. */
export interface ThrottleTarget {
  kind: CallKind;
  subscription: string;
  /** `vmss`/`vm` (Compute), `identity` (Microsoft.ManagedIdentity) or `other`. */
  provider: 'vmss' | 'vm' | 'identity' | 'other';
  /** Lower-cased resource ID the Compute per-resource bucket is keyed by. */
  resourceId?: string;
}

/** Outcome of {@link Throttler.admit}: headers to send, and the wait if rejected. */
export interface ThrottleDecision {
  ok: boolean;
  /** Emulated milliseconds until every exhausted bucket has a token again (0 when ok). */
  retryAfterMs: number;
  /** Name of the policy that rejected the request (when not ok). */
  policy?: string;
  /** `x-ms-ratelimit-remaining-*` headers describing the buckets after this request. */
  headers: Record<string, string>;
}

const perMinute = (perSecond: number): number => perSecond * 60;

/** ARM front door, per subscription (regional token bucket model). */
const FRONT_DOOR: Record<'reads' | 'writes', BucketSpec> = {
  writes: { name: 'SubscriptionWrites', capacity: 200, refillPerMinute: perMinute(10) },
  reads: { name: 'SubscriptionReads', capacity: 250, refillPerMinute: perMinute(25) },
};

/** Compute, per subscription. */
const COMPUTE_SUBSCRIPTION: Record<'write' | 'read' | 'poll', BucketSpec> = {
  write: { name: 'UpdateSubscription', capacity: 1500, refillPerMinute: 500 },
  read: { name: 'GetSubscription', capacity: 2400, refillPerMinute: 800 },
  poll: { name: 'GetOperationSubscription', capacity: 15000, refillPerMinute: 5000 },
};

/** Compute, per resource. */
function computeResourceSpec(provider: 'vmss' | 'vm', kind: 'write' | 'read' | 'poll'): BucketSpec {
  const noun = provider === 'vmss' ? 'VMScaleSet' : 'VM';
  if (kind === 'write') return { name: `Update${noun}`, capacity: 12, refillPerMinute: 4 };
  if (kind === 'read') return { name: `Get${noun}`, capacity: 36, refillPerMinute: 12 };
  return { name: 'GetOperation', capacity: 45, refillPerMinute: 15 };
}

/** Holds every bucket, created lazily on first use. */
export class Throttler {
  readonly #buckets = new Map<string, TokenBucket>();
  enabled: boolean;

  /** `enabled: false` admits everything (headers are still sent). */
  constructor(enabled = true) {
    this.enabled = enabled;
  }

  #bucket(key: string, spec: BucketSpec, now: number): TokenBucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(spec, now);
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  #bucketsFor(t: ThrottleTarget, now: number): { frontDoor: TokenBucket; frontDoorKind: 'reads' | 'writes'; compute: TokenBucket[] } {
    const sub = t.subscription.toLowerCase();
    const frontDoorKind = t.kind === 'write' ? 'writes' : 'reads';
    const frontDoor = this.#bucket(`fd/${sub}/${frontDoorKind}`, FRONT_DOOR[frontDoorKind], now);
    const compute: TokenBucket[] = [];
    if ((t.provider === 'vmss' || t.provider === 'vm') && t.kind !== 'token') {
      const kind = t.kind;
      compute.push(this.#bucket(`sub/${sub}/${kind}`, COMPUTE_SUBSCRIPTION[kind], now));
      if (t.resourceId) {
        compute.push(this.#bucket(`res/${t.resourceId}/${kind}`, computeResourceSpec(t.provider, kind), now));
      }
    }
    return { frontDoor, frontDoorKind, compute };
  }

  /** Checks and (when admitted) charges the buckets for one request at emulated time `now`. */
  admit(t: ThrottleTarget, now: number): ThrottleDecision {
    const { frontDoor, frontDoorKind, compute } = this.#bucketsFor(t, now);
    const all = [frontDoor, ...compute];
    let retryAfterMs = 0;
    let policy: string | undefined;
    if (this.enabled) {
      for (const bucket of all) {
        const wait = bucket.msUntilToken(now);
        if (wait > retryAfterMs) {
          retryAfterMs = wait;
          policy = bucket.spec.name;
        }
      }
    }
    const ok = retryAfterMs === 0;
    if (ok) for (const bucket of all) bucket.take(now);
    const headers: Record<string, string> = {
      [`x-ms-ratelimit-remaining-subscription-${frontDoorKind}`]: String(frontDoor.remaining(now)),
    };
    if (compute.length > 0) {
      headers['x-ms-ratelimit-remaining-resource'] = compute
        .map((b) => `Microsoft.Compute/${b.spec.name};${b.remaining(now)}`)
        .join(',');
    }
    return policy === undefined ? { ok, retryAfterMs, headers } : { ok, retryAfterMs, policy, headers };
  }

  /** Forgets every bucket (all full again). */
  clear(): void {
    this.#buckets.clear();
  }
}
