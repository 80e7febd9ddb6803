/** Exponential backoff and jitter helpers shared by the informer, the leader elector and the work queue. */

/** `baseMs * 2^attempt`, capped at `maxMs` (attempt 0 gives `baseMs`). Safe for large attempts. */
export function exponentialDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  if (attempt <= 0) return Math.min(baseMs, maxMs);
  // Beyond 2^60 the product is far above any sane cap; avoid Infinity/NaN arithmetic.
  if (attempt >= 60) return maxMs;
  return Math.min(baseMs * 2 ** attempt, maxMs);
}

/**
 * Adds up to `factor * ms` of random jitter (client-go `wait.Jitter`): the result lies in
 * `[ms, ms * (1 + factor)]`. `random` is injectable for tests and must return a value in `[0, 1)`.
 */
export function withJitter(ms: number, factor = 0.2, random: () => number = Math.random): number {
  if (factor <= 0) return ms;
  return ms + ms * factor * random();
}

/** Options for {@link Backoff}. */
export interface BackoffOptions {
  /** First delay (default 1000 ms). */
  baseMs?: number;
  /** Cap on the delay before jitter (default 30 000 ms). */
  maxMs?: number;
  /** Jitter factor, see {@link withJitter} (default 0.2). */
  jitter?: number;
  /** Random source in `[0, 1)` (default `Math.random`). */
  random?: () => number;
}

/** Stateful jittered exponential backoff: each {@link Backoff.next} doubles the delay until {@link Backoff.reset}. */
export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempts = 0;

  constructor(options: BackoffOptions = {}) {
    this.#baseMs = options.baseMs ?? 1000;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#jitter = options.jitter ?? 0.2;
    this.#random = options.random ?? Math.random;
  }

  /** Number of delays handed out since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The next delay in milliseconds; grows exponentially up to the cap (plus jitter). */
  next(): number {
    const delay = exponentialDelayMs(this.#attempts, this.#baseMs, this.#maxMs);
    this.#attempts++;
    return withJitter(delay, this.#jitter, this.#random);
  }

  /** Starts over from the base delay. */
  reset(): void {
    this.#attempts = 0;
  }
}
