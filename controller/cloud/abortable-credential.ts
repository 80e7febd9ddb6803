/**
 * A credential wrapper that makes token acquisition settle when the request's AbortSignal fires.
 *
 * The SDK pipeline hands the request's `abortSignal` to `getToken`, but a credential may not watch it
 * (MSAL's token calls and IMDS probing run to their own timeouts). This is the one place where the
 * `untilAborted` wrapper is still needed: every other step of an ARM call (HTTP, the LRO poller's sleep
 * through `pollUntilDone({ abortSignal })`) honours the signal itself.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { untilAborted } from '../util/abort.js';

/** Wraps `credential` so that `getToken` rejects with the abort reason as soon as `options.abortSignal` fires. */
export function abortableCredential(credential: TokenCredential): TokenCredential {
  return {
    getToken: (scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> => {
      const pending = credential.getToken(scopes, options);
      const signal = options?.abortSignal;
      // On Node the pipeline passes a real AbortSignal (typed as the DOM-free AbortSignalLike).
      return signal instanceof AbortSignal ? untilAborted(pending, signal) : pending;
    },
  };
}
