/** Waiting for a condition with a deadline (the demo never sleeps to synchronise). */

/** A condition did not hold before its deadline. */
export class PollTimeoutError extends Error {
  override readonly name = 'PollTimeoutError';
  /** What was awaited, e.g. "AzureAssignedIdentity demo-default-demo to be Assigned". */
  readonly what: string;
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number, lastDetail: string, options?: { cause?: unknown }) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}${lastDetail ? ` (last seen: ${lastDetail})` : ''}`, options);
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}

/** True for {@link PollTimeoutError}. */
export function isPollTimeoutError(e: unknown): e is PollTimeoutError {
  return e instanceof PollTimeoutError;
}

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** Human description of the awaited condition (used in the timeout error). */
  what: string;
  timeoutMs: number;
  /** Pause between checks (default 100 ms). */
  intervalMs?: number;
  /** Called before every check; throw to abort the wait at once (e.g. a replica died). */
  guard?: () => void;
}

/** Lets a check record what it saw, for the timeout message. */
export type Seen = (detail: string) => void;

/**
 * Calls `check` until it returns something other than `undefined`/`false`/`null`, and returns that.
 * A check that throws counts as "not yet" (its error is reported on timeout, as is the last detail
 * passed to `seen`); a throwing `guard` ends the wait immediately with the guard's error.
 */
export async function pollUntil<T>(
  check: (seen: Seen) => Promise<T | undefined | false | null> | T | undefined | false | null,
  opts: PollOptions,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 100;
  let detail = '';
  let lastError: unknown;
  const seen: Seen = (d) => {
    detail = d;
  };
  for (;;) {
    opts.guard?.();
    try {
      const value = await check(seen);
      if (value !== undefined && value !== false && value !== null) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const last = lastError !== undefined ? (lastError instanceof Error ? lastError.message : String(lastError)) : detail;
      throw new PollTimeoutError(opts.what, opts.timeoutMs, last, lastError !== undefined ? { cause: lastError } : undefined);
    }
    await new Promise<void>((resolve) => setTimeout(resolve, interval));
  }
}
