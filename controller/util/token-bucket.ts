/** A continuously refilling token bucket on an injected clock, and an async limiter built on it. */
import type { Clock } from './clock.js';

const MINUTE_MS = 60_000;

/** A continuously refilling token bucket on an injected clock. */
export class TokenBucket {
  readonly #capacity: number;
  readonly #refillPerMs: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;

  /**
   * @param capacity burst size (the bucket starts full)
   * @param refillPerMinute tokens added per minute of clock time
   */
  constructor(capacity: number, refillPerMinute: number, clock: Clock) {
    if (!(capacity >= 1) || !(refillPerMinute > 0)) throw new RangeError('token bucket needs capacity >= 1 and refill > 0');
    this.#capacity = capacity;
    this.#refillPerMs = refillPerMinute / MINUTE_MS;
    this.#clock = clock;
    this.#tokens = capacity;
    this.#updatedAt = clock.now();
  }

  #refill(): void {
    const now = this.#clock.now();
    if (now > this.#updatedAt) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#updatedAt) * this.#refillPerMs);
    }
    this.#updatedAt = now;
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** True when the bucket is full (nothing to remember about it). */
  isFull(): boolean {
    return this.available() >= this.#capacity;
  }

  /** Takes `n` tokens if available; returns whether it did. */
  tryTake(n = 1): boolean {
    this.#refill();
    if (this.#tokens + 1e-9 < n) return false;
    this.#tokens = Math.max(0, this.#tokens - n);
    return true;
  }

  /** Milliseconds until `n` tokens are available (0 if they are now). */
  msUntilAvailable(n = 1): number {
    this.#refill();
    const missing = n - this.#tokens;
    return missing <= 1e-9 ? 0 : Math.ceil(missing / this.#refillPerMs);
  }
}

/** Awaitable rate limit (e.g. `--clientQps` for Kubernetes writes): `take()` resolves when a token is free. */
export class RateLimiter {
  readonly #bucket: TokenBucket;
  readonly #clock: Clock;
  #tail: Promise<void> = Promise.resolve();

  /** `perSecond` tokens per second, bursts of `burst`. */
  constructor(perSecond: number, burst: number, clock: Clock) {
    this.#bucket = new TokenBucket(Math.max(1, burst), perSecond * 60, clock);
    this.#clock = clock;
  }

  /** Waits (in FIFO order) until a token is available and takes it. */
  take(): Promise<void> {
    const next = this.#tail.then(async () => {
      for (;;) {
        if (this.#bucket.tryTake()) return;
        await this.#clock.sleep(this.#bucket.msUntilAvailable());
      }
    });
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
