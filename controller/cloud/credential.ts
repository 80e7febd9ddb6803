/**
 * Builds the controller's Azure credential from the cloud config, deterministically (no
 * `DefaultAzureCredential` chain), plus the ARM token scope for the configured cloud.
 */
import type { TokenCredential } from '@azure/identity';
import { ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential } from '@azure/identity';

/** The part of the cloud config the credential needs (structurally compatible with `CloudConfig`). */
export interface CredentialConfig {
  tenantId?: string | undefined;
  aadClientId?: string | undefined;
  aadClientSecret?: string | undefined;
  useManagedIdentityExtension?: boolean | undefined;
  /** Client ID of the user-assigned identity to authenticate with (MSI mode); empty → system-assigned. */
  userAssignedIdentityID?: string | undefined;
  /** AAD authority of the cloud, e.g. `https://login.microsoftonline.com/`. */
  activeDirectoryEndpoint?: string | undefined;
}

/** Which credential {@link createCredential} builds. */
export type AuthMode = 'service-principal' | 'managed-identity' | 'workload-identity';

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

/**
 * Picks the authentication mode:
 * 1. `useManagedIdentityExtension` → managed identity (IMDS), as upstream;
 * 2. else `AZURE_FEDERATED_TOKEN_FILE` in the environment (AKS workload identity) → workload identity;
 * 3. else a service principal (`tenantId`, `aadClientId`, `aadClientSecret` all required).
 */
export function selectAuthMode(cfg: CredentialConfig, env: NodeJS.ProcessEnv = process.env): AuthMode {
  if (cfg.useManagedIdentityExtension) return 'managed-identity';
  if (env.AZURE_FEDERATED_TOKEN_FILE) return 'workload-identity';
  const missing = (['tenantId', 'aadClientId', 'aadClientSecret'] as const).filter((k) => !cfg[k]);
  if (missing.length > 0) {
    throw new CredentialConfigError(`service principal authentication needs ${missing.join(', ')} in the cloud config`);
  }
  return 'service-principal';
}

/** Options of {@link createCredential}. */
export interface CreateCredentialOptions {
  /** Environment to read (defaults to `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** Creates the credential selected by {@link selectAuthMode}. */
export function createCredential(cfg: CredentialConfig, options: CreateCredentialOptions = {}): TokenCredential {
  const env = options.env ?? process.env;
  const authorityHost = cfg.activeDirectoryEndpoint ? trimSlashes(cfg.activeDirectoryEndpoint) : undefined;
  switch (selectAuthMode(cfg, env)) {
    case 'managed-identity':
      return cfg.userAssignedIdentityID
        ? new ManagedIdentityCredential({ clientId: cfg.userAssignedIdentityID })
        : new ManagedIdentityCredential();
    case 'workload-identity':
      return new WorkloadIdentityCredential({
        ...(env.AZURE_TENANT_ID || cfg.tenantId ? { tenantId: env.AZURE_TENANT_ID || cfg.tenantId } : {}),
        ...(env.AZURE_CLIENT_ID ? { clientId: env.AZURE_CLIENT_ID } : {}),
        tokenFilePath: env.AZURE_FEDERATED_TOKEN_FILE as string,
        ...(env.AZURE_AUTHORITY_HOST || authorityHost ? { authorityHost: env.AZURE_AUTHORITY_HOST || authorityHost } : {}),
      });
    case 'service-principal':
      return new ClientSecretCredential(cfg.tenantId as string, cfg.aadClientId as string, cfg.aadClientSecret as string, {
        ...(authorityHost ? { authorityHost } : {}),
        disableInstanceDiscovery: true,
      });
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
