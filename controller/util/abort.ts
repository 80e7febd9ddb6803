/** Promise helpers for AbortSignals. */

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as `signal` aborts, even when
 * the operation behind `promise` does not watch the signal itself. The abandoned promise settles later
 * in the background; its rejection is swallowed so it never surfaces as an unhandled rejection.
 */
export function untilAborted<R>(promise: Promise<R>, signal: AbortSignal): Promise<R> {
  promise.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<R>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
