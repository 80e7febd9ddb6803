/**
 * A {@link CloudProvider} that loads the real one on first use. The Azure SDK (`@azure/arm-compute`,
 * `@azure/identity` and their core packages) costs the process tens of MiB of heap and code; a
 * standby replica, or a leader with nothing to assign, never calls ARM and so never loads it.
 * Configuration is still validated at startup (`loadCloudConfig`); only module loading and client
 * construction are deferred.
 */
import type { CloudProvider } from '../cloud/provider.js';

/** Options of {@link lazyCloudProvider}. */
export interface LazyCloudProviderOptions {
  /** Called once if `load` fails (every call then rejects with the same error). */
  onLoadError?: (err: unknown) => void;
}

/**
 * Wraps `load` (typically a dynamic `import()` plus a factory call) as a CloudProvider: the first
 * method call starts loading, every call waits for it and is then forwarded. Every CloudProvider
 * method returns a Promise, so forwarding keeps each method's contract, including methods added to
 * the interface later.
 */
export function lazyCloudProvider(load: () => Promise<CloudProvider>, o: LazyCloudProviderOptions = {}): CloudProvider {
  let loading: Promise<CloudProvider> | undefined;
  const provider = (): Promise<CloudProvider> => {
    loading ??= load().catch((err: unknown) => {
      o.onLoadError?.(err);
      throw err;
    });
    return loading;
  };
  return new Proxy({} as CloudProvider, {
    get(_target, method) {
      if (typeof method !== 'string' || method === 'then') return undefined;
      return async (...args: unknown[]): Promise<unknown> => {
        const real = (await provider()) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
        const fn = real[method];
        if (typeof fn !== 'function') throw new TypeError(`cloud provider has no method ${method}`);
        return fn.apply(real, args);
      };
    },
  });
}

/**
 * Wraps `load` as an async function of type `F` that loads the real one on its first call (for the
 * identity reader, which shares the lazily loaded Azure SDK with the cloud provider).
 */
export function lazyFunction<F extends (...args: never[]) => Promise<unknown>>(load: () => Promise<F>, o: LazyCloudProviderOptions = {}): F {
  let loading: Promise<F> | undefined;
  const lazy = async (...args: Parameters<F>): Promise<Awaited<ReturnType<F>>> => {
    loading ??= load().catch((err: unknown) => {
      o.onLoadError?.(err);
      throw err;
    });
    const fn = await loading;
    return (await fn(...args)) as Awaited<ReturnType<F>>;
  };
  return lazy as unknown as F;
}
