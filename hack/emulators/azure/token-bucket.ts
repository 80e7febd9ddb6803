/** Token buckets as Azure's throttling documentation describes them (burst capacity + steady refill). */

/** Shape of one bucket: `capacity` tokens when full, refilled at `refillPerMinute` (emulated time). */
export interface BucketSpec {
  /** Policy name, used in `x-ms-ratelimit-remaining-resource` and 429 details. */
  name: string;
  capacity: number;
  refillPerMinute: number;
}

/** One token bucket; all times are emulated milliseconds. */
export class TokenBucket {
  readonly spec: BucketSpec;
  #tokens: number;
  #updatedAt: number;

  /** Creates a full bucket. */
  constructor(spec: BucketSpec, now: number) {
    this.spec = spec;
    this.#tokens = spec.capacity;
    this.#updatedAt = now;
  }

  #refill(now: number): void {
    if (now > this.#updatedAt) {
      const gained = ((now - this.#updatedAt) * this.spec.refillPerMinute) / 60_000;
      this.#tokens = Math.min(this.spec.capacity, this.#tokens + gained);
      this.#updatedAt = now;
    }
  }

  /** Whole tokens available now. */
  remaining(now: number): number {
    this.#refill(now);
    return Math.floor(this.#tokens);
  }

  /** Emulated milliseconds until one whole token is available (0 if one is available now). */
  msUntilToken(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) return 0;
    return Math.ceil(((1 - this.#tokens) * 60_000) / this.spec.refillPerMinute);
  }

  /** Consumes one token; callers check {@link msUntilToken} first. */
  take(now: number): void {
    this.#refill(now);
    this.#tokens = Math.max(0, this.#tokens - 1);
  }
}
