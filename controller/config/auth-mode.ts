/**
 * How MIC authenticates to Azure, decided from the cloud config's explicit keys only.
 *
 * Precedence (cloud-provider-azure's order):
 * 1. `useFederatedWorkloadIdentityExtension: true` → workload identity (federated token file);
 * 2. else `useManagedIdentityExtension: true` → managed identity (IMDS);
 * 3. else a service principal (`tenantId`, `aadClientId`, `aadClientSecret`).
 *
 * Environment variables injected by the workload-identity webhook (`AZURE_CLIENT_ID`,
 * `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`) never select a mode: they only fill values the
 * cloud config leaves empty once workload identity has been selected there.
 */

/** The credential MIC builds. */
export type AuthMode = 'workload-identity' | 'managed-identity' | 'service-principal';

/** The mode switches of the cloud config. */
export interface AuthModeSwitches {
  useFederatedWorkloadIdentityExtension?: boolean | undefined;
  useManagedIdentityExtension?: boolean | undefined;
}

/** The authentication mode the cloud config selects (see the module comment for the precedence). */
export function selectAuthMode(cfg: AuthModeSwitches): AuthMode {
  if (cfg.useFederatedWorkloadIdentityExtension) return 'workload-identity';
  if (cfg.useManagedIdentityExtension) return 'managed-identity';
  return 'service-principal';
}

/** Environment variables the workload-identity webhook injects into a pod. */
export const WORKLOAD_IDENTITY_ENV = {
  clientId: 'AZURE_CLIENT_ID',
  tenantId: 'AZURE_TENANT_ID',
  tokenFile: 'AZURE_FEDERATED_TOKEN_FILE',
} as const;

/** True when the workload-identity webhook's token-file variable is present in `env`. */
export function hasWorkloadIdentityEnv(env: NodeJS.ProcessEnv): boolean {
  return (env[WORKLOAD_IDENTITY_ENV.tokenFile] ?? '').trim() !== '';
}
