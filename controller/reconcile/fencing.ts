/**
 * Fencing: a replica that is not (or no longer) the leader must not write, to ARM or to Kubernetes.
 */

/** A write was refused because this replica may not write any more (it lost the lease). */
export class FencedError extends Error {
  /** Why writing is not allowed (e.g. `not leader`). */
  readonly reason: string;

  constructor(reason: string) {
    super(`write refused: ${reason}`);
    this.name = 'FencedError';
    this.reason = reason;
  }
}

/** True for a {@link FencedError}. */
export function isFencedError(e: unknown): e is FencedError {
  return e instanceof FencedError;
}

/** Throws a {@link FencedError} when `reason()` names a reason not to write. */
export function assertMayWrite(reason: (() => string | undefined) | undefined): void {
  const why = reason?.();
  if (why !== undefined) throw new FencedError(why);
}
