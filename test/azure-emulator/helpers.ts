/** Shared helpers for the Azure emulator tests: real SDK clients pointed at the emulator. */
import { ComputeManagementClient } from '@azure/arm-compute';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { ClientSecretCredential } from '@azure/identity';
import type { AzureEmulator } from '../../hack/emulators/azure/index.js';

export const SUB = '3a1f5c3e-1b2d-4c5e-8f90-123456789abc';
export const RG = 'mc_rg_cluster_eastus';

/** A ClientSecretCredential that talks to the emulator's Entra ID endpoints. */
export function emulatorCredential(emu: AzureEmulator, secret = emu.clientSecret): ClientSecretCredential {
  return new ClientSecretCredential(emu.tenantId, emu.clientId, secret, { authorityHost: emu.armUrl, disableInstanceDiscovery: true });
}

/** A credential handing out a fixed (possibly bogus) token. */
export function staticCredential(token: string): TokenCredential {
  return { getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
}

/** Compute client against the emulator; no SDK retries unless asked. */
export function computeClient(emu: AzureEmulator, opts: { maxRetries?: number; credential?: TokenCredential } = {}): ComputeManagementClient {
  return new ComputeManagementClient(opts.credential ?? emulatorCredential(emu), SUB, {
    endpoint: emu.armUrl,
    retryOptions: { maxRetries: opts.maxRetries ?? 0, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  });
}

/** Managed identity client against the emulator. */
export function msiClient(emu: AzureEmulator): ManagedServiceIdentityClient {
  return new ManagedServiceIdentityClient(emulatorCredential(emu), SUB, { endpoint: emu.armUrl, retryOptions: { maxRetries: 0 } });
}

/** Resolves when `check` returns true, polling every 10 ms; rejects after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not met before deadline');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The error thrown by `fn`, or a failure if it did not throw. */
export async function caught(fn: () => Promise<unknown>): Promise<{ statusCode?: number; code?: string; message: string; response?: { headers: { get(name: string): string | undefined } } }> {
  try {
    await fn();
  } catch (e) {
    return e as never;
  }
  throw new Error('expected an error');
}
