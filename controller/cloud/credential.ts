/**
 * Builds the controller's Azure credential from the cloud config, deterministically (no
 * `DefaultAzureCredential` chain, no mode chosen by environment variables), plus the ARM token scope
 * for the configured cloud and a credential whose delegate can be swapped when azure.json changes.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential } from '@azure/identity';
import { selectAuthMode, type AuthMode } from '../config/auth-mode.js';
import { AZURE_STACK_CLOUD } from '../config/cloud-environments.js';

export { selectAuthMode, type AuthMode };

/** The part of the cloud config the credential needs (structurally compatible with `CloudConfig`). */
export interface CredentialConfig {
  tenantId?: string | undefined;
  aadClientId?: string | undefined;
  aadClientSecret?: string | undefined;
  useManagedIdentityExtension?: boolean | undefined;
  /** Client ID of the user-assigned identity to authenticate with (MSI mode); empty → system-assigned. */
  userAssignedIdentityID?: string | undefined;
  /** Workload identity mode (wins over `useManagedIdentityExtension`). */
  useFederatedWorkloadIdentityExtension?: boolean | undefined;
  /** Federated token file of workload identity mode (already resolved against the environment). */
  aadFederatedTokenFile?: string | undefined;
  /** AAD authority of the cloud, e.g. `https://login.microsoftonline.com/`. */
  activeDirectoryEndpoint?: string | undefined;
  /** Resolved cloud name; AAD instance discovery is skipped only for `AzureStackCloud`. */
  environmentName?: string | undefined;
}

/** Raised when the config does not describe any usable credential. Never contains secrets. */
export class CredentialConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CredentialConfigError';
  }
}

/** True for {@link CredentialConfigError}. */
export function isCredentialConfigError(e: unknown): e is CredentialConfigError {
  return e instanceof CredentialConfigError;
}

/** Options of {@link createCredential}. */
export interface CreateCredentialOptions {
  /** Sent (as prefix) with every AAD/IMDS token request, like the ARM and Kubernetes requests. */
  userAgent?: string;
}

/** Fails with a {@link CredentialConfigError} naming the first empty key of `keys`. */
function requireKeys<K extends keyof CredentialConfig>(cfg: CredentialConfig, mode: AuthMode, keys: readonly K[]): void {
  const missing = keys.filter((k) => !cfg[k]);
  if (missing.length > 0) throw new CredentialConfigError(`${mode} authentication needs ${missing.join(', ')} in the cloud config`);
}

/** Options every AAD credential gets: user agent, authority, and instance discovery off for Azure Stack only. */
export interface AadCredentialOptions {
  userAgentOptions?: { userAgentPrefix: string };
  authorityHost?: string;
  disableInstanceDiscovery?: boolean;
}

/**
 * The options of the AAD credentials for a config. Instance discovery asks the public cloud's AAD
 * about the authority: only custom (`AzureStackCloud`) authorities must skip it.
 */
export function aadCredentialOptions(cfg: CredentialConfig, userAgent?: string): AadCredentialOptions {
  const authorityHost = cfg.activeDirectoryEndpoint ? trimSlashes(cfg.activeDirectoryEndpoint) : undefined;
  return {
    ...(userAgent ? { userAgentOptions: { userAgentPrefix: userAgent } } : {}),
    ...(authorityHost ? { authorityHost } : {}),
    ...(cfg.environmentName === AZURE_STACK_CLOUD ? { disableInstanceDiscovery: true } : {}),
  };
}

/** Creates the credential of the mode the config selects ({@link selectAuthMode}). */
export function createCredential(cfg: CredentialConfig, options: CreateCredentialOptions = {}): TokenCredential {
  const aad = aadCredentialOptions(cfg, options.userAgent);
  const common = aad.userAgentOptions ? { userAgentOptions: aad.userAgentOptions } : {};
  const mode = selectAuthMode(cfg);
  switch (mode) {
    case 'workload-identity':
      requireKeys(cfg, mode, ['tenantId', 'aadClientId', 'aadFederatedTokenFile']);
      return new WorkloadIdentityCredential({
        ...aad,
        tenantId: cfg.tenantId as string,
        clientId: cfg.aadClientId as string,
        tokenFilePath: cfg.aadFederatedTokenFile as string,
      });
    case 'managed-identity':
      return new ManagedIdentityCredential({ ...common, ...(cfg.userAssignedIdentityID ? { clientId: cfg.userAssignedIdentityID } : {}) });
    case 'service-principal':
      requireKeys(cfg, mode, ['tenantId', 'aadClientId', 'aadClientSecret']);
      return new ClientSecretCredential(cfg.tenantId as string, cfg.aadClientId as string, cfg.aadClientSecret as string, aad);
  }
}

/**
 * A credential that delegates to a replaceable one: the ARM clients keep this object while the
 * credential behind it is swapped when azure.json changes (credential rotation without a restart).
 * A token request already under way finishes with the credential it started with.
 */
export class SwappableCredential implements TokenCredential {
  #current: TokenCredential;

  constructor(initial: TokenCredential) {
    this.#current = initial;
  }

  /** The credential token requests currently go to. */
  get current(): TokenCredential {
    return this.#current;
  }

  /** Sends every later token request to `next`. */
  swap(next: TokenCredential): void {
    this.#current = next;
  }

  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    return this.#current.getToken(scopes, options);
  }
}

/** The ARM token scope for a cloud: `<tokenAudience or resourceManagerEndpoint>/.default`. */
export function armTokenScope(cfg: { tokenAudience?: string | undefined; resourceManagerEndpoint?: string | undefined }): string {
  const audience = cfg.tokenAudience || cfg.resourceManagerEndpoint || 'https://management.azure.com';
  return `${trimSlashes(audience)}/.default`;
}

function trimSlashes(url: string): string {
  return url.trim().replace(/\/+$/, '');
}
