/**
 * A keyed work queue with client-go semantics: keys (not events) are queued, a key is queued at most
 * once however often it is added, and a key is never handed to two workers at once — a key added
 * while a worker processes it is queued again when that worker calls {@link WorkQueue.done}.
 *
 * Typical worker loop:
 * ```ts
 * for (;;) {
 *   const key = await queue.get();
 *   if (key === undefined) return;          // shut down
 *   try { await reconcile(key); queue.forget(key); }
 *   catch { queue.addRateLimited(key); }
 *   finally { queue.done(key); }
 * }
 * ```
 */
import { systemClock, type Clock } from '../util/clock.js';
import { exponentialDelayMs } from './backoff.js';

/** Read access to a queue's in-flight keys, for metrics computed at scrape time. */
export interface WorkQueueProbe {
  /** For each key handed out by `get()` and not yet `done()`: milliseconds since it was handed out. */
  processingAgesMs(): number[];
}

/**
 * Optional hooks for queue metrics, at the points client-go's work-queue metrics observe: depth,
 * adds, retries, time queued, processing time, and in-flight work (through a probe).
 */
export interface WorkQueueMetrics {
  /** The number of queued (not in-flight) keys changed to `n`. */
  onDepth?(n: number): void;
  /** A key was newly queued (a no-op add of an already-queued key is not counted). */
  onAdd?(): void;
  /** {@link WorkQueue.addRateLimited} was called. */
  onRetry?(): void;
  /** A key was handed out `waitedMs` after it was first added (since its last hand-out). */
  onQueued?(waitedMs: number): void;
  /** A key finished processing after `durationMs` (from `get()` to `done()`). */
  onWork?(durationMs: number): void;
  /** Called once by the queue's constructor with a probe of its in-flight keys. */
  observe?(probe: WorkQueueProbe): void;
}

/** Per-key exponential backoff bounds for {@link WorkQueue.addRateLimited}. */
export interface RateLimitOptions {
  /** Delay of the first retry (default 5 ms, client-go's default). */
  baseDelayMs?: number;
  /** Cap on the delay (default 1000 s). ARM-facing callers typically use 1 s → 5 min. */
  maxDelayMs?: number;
}

/** Options for {@link WorkQueue}. */
export interface WorkQueueOptions {
  clock?: Clock;
  rateLimit?: RateLimitOptions;
  metrics?: WorkQueueMetrics;
}

/** A pending delayed add. */
interface Delayed {
  readyAt: number;
  cancel: () => void;
}

/** Keyed work queue; see the module comment for the semantics. */
export class WorkQueue {
  readonly #clock: Clock;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #metrics: WorkQueueMetrics;

  /** Keys in FIFO order, each at most once. */
  #queue: string[] = [];
  /** Keys that need processing (queued, or re-added while in flight). */
  readonly #dirty = new Set<string>();
  /** Keys handed out by `get()` and not yet `done()`, with the time they were handed out. */
  readonly #processing = new Map<string, number>();
  /** When each dirty key was first added (for `onQueued`). */
  readonly #addedAt = new Map<string, number>();
  readonly #delayed = new Map<string, Delayed>();
  readonly #failures = new Map<string, number>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];

  #shuttingDown = false;
  readonly #drainWaiters: (() => void)[] = [];

  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#baseDelayMs = options.rateLimit?.baseDelayMs ?? 5;
    this.#maxDelayMs = options.rateLimit?.maxDelayMs ?? 1_000_000;
    this.#metrics = options.metrics ?? {};
    this.#metrics.observe?.({ processingAgesMs: () => this.processingAgesMs() });
  }

  /** Milliseconds each in-flight key has been processed so far. */
  processingAgesMs(): number[] {
    const now = this.#clock.now();
    return [...this.#processing.values()].map((startedAt) => now - startedAt);
  }

  /** Queues `key` unless it is already queued; ignored after shutdown. */
  add(key: string): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) return;
    this.#dirty.add(key);
    this.#addedAt.set(key, this.#clock.now());
    this.#metrics.onAdd?.();
    if (this.#processing.has(key)) return; // re-queued by done()
    this.#queue.push(key);
    this.#depthChanged();
    this.#dispatch();
  }

  /**
   * Queues `key` after `delayMs`. If the key is already waiting, the earlier of the two times wins.
   * A delay of zero or less adds immediately.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.#clock.now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing && existing.readyAt <= readyAt) return;
    existing?.cancel();
    const cancel = this.#clock.setTimer(() => {
      const current = this.#delayed.get(key);
      if (current?.readyAt === readyAt) this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { readyAt, cancel });
  }

  /** Queues `key` after its per-key backoff (`base * 2^failures`, capped) and counts one more failure. */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.#metrics.onRetry?.();
    this.addAfter(key, exponentialDelayMs(failures, this.#baseDelayMs, this.#maxDelayMs));
  }

  /** The delay the next {@link addRateLimited} of `key` would use, without counting a failure. */
  nextBackoffMs(key: string): number {
    return exponentialDelayMs(this.#failures.get(key) ?? 0, this.#baseDelayMs, this.#maxDelayMs);
  }

  /** Clears the failure count of `key` (call after a successful reconcile). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** How many times `key` was rate-limited since the last {@link forget}. */
  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /**
   * Resolves with the next key, marking it in flight, or with `undefined` once the queue is shut
   * down (after {@link shutDownWithDrain}, queued keys are still handed out first).
   */
  get(): Promise<string | undefined> {
    const key = this.#take();
    if (key !== undefined) return Promise.resolve(key);
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` as processed; if it was added again meanwhile it is queued now. */
  done(key: string): void {
    const startedAt = this.#processing.get(key);
    if (startedAt === undefined) return;
    this.#processing.delete(key);
    this.#metrics.onWork?.(this.#clock.now() - startedAt);
    if (this.#dirty.has(key)) {
      this.#queue.push(key);
      this.#depthChanged();
      this.#dispatch();
    }
    this.#checkDrained();
  }

  /** Number of queued keys (not counting keys in flight or waiting in `addAfter`). */
  len(): number {
    return this.#queue.length;
  }

  /** True once {@link shutDown} or {@link shutDownWithDrain} was called. */
  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops the queue at once: new adds are ignored, pending delayed adds are cancelled, queued keys
   * are dropped and every waiting or future `get()` resolves `undefined`.
   */
  shutDown(): void {
    this.#beginShutdown();
    this.#queue = [];
    this.#dirty.clear();
    this.#addedAt.clear();
    this.#depthChanged();
    this.#releaseWaiters();
    this.#checkDrained();
  }

  /**
   * Stops accepting new keys, lets workers finish the keys already queued or in flight, and resolves
   * when all of them are `done()`. Afterwards `get()` resolves `undefined`.
   */
  shutDownWithDrain(): Promise<void> {
    this.#beginShutdown();
    const drained = new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    this.#checkDrained();
    return drained;
  }

  #beginShutdown(): void {
    this.#shuttingDown = true;
    for (const delayed of this.#delayed.values()) delayed.cancel();
    this.#delayed.clear();
  }

  #take(): string | undefined {
    const key = this.#queue.shift();
    if (key === undefined) return undefined;
    this.#dirty.delete(key);
    const now = this.#clock.now();
    const addedAt = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    if (addedAt !== undefined) this.#metrics.onQueued?.(now - addedAt);
    this.#processing.set(key, now);
    this.#depthChanged();
    return key;
  }

  #dispatch(): void {
    while (this.#waiters.length > 0 && this.#queue.length > 0) {
      const waiter = this.#waiters.shift();
      waiter?.(this.#take());
    }
  }

  #releaseWaiters(): void {
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  #checkDrained(): void {
    if (!this.#shuttingDown) return;
    if (this.#queue.length > 0 || this.#processing.size > 0) return;
    this.#releaseWaiters();
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  #depthChanged(): void {
    this.#metrics.onDepth?.(this.#queue.length);
  }
}
