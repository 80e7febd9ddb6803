/**
 * The parts of the cloud wiring that need no Azure SDK: which identity is protected, and logging the
 * selected authentication mode. Kept apart from `cloud.ts` so the start-up path never loads the SDK
 * (see lazy-cloud.ts).
 */
import { hasWorkloadIdentityEnv, selectAuthMode } from '../config/auth-mode.js';
import { redactClientId, type CloudConfig } from '../config/cloud-config.js';
import type { Logger } from '../observability/logger.js';

/**
 * Client ID of the cluster identity MIC must never remove from a VM/VMSS: `userAssignedIdentityID` of
 * azure.json in every auth mode (as upstream), not only when MIC itself authenticates with it.
 */
export function protectedClusterIdentityClientId(config: Pick<CloudConfig, 'userAssignedIdentityID'>): string {
  return config.userAssignedIdentityID.trim().toLowerCase();
}

/**
 * Log fields describing the selected authentication (never secrets; client IDs partially
 * redacted), including whether workload-identity variables are present but unused.
 */
export function authModeFields(config: CloudConfig, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const authMode = selectAuthMode(config);
  const fields: Record<string, unknown> = { authMode, cloud: config.environmentName };
  if (authMode === 'service-principal' || authMode === 'workload-identity') {
    fields.tenantId = config.tenantId;
    fields.clientId = redactClientId(config.aadClientId);
  }
  if (authMode === 'managed-identity') fields.userAssignedIdentityID = redactClientId(config.userAssignedIdentityID) || '(system-assigned)';
  if (authMode !== 'workload-identity' && hasWorkloadIdentityEnv(env)) fields.workloadIdentityEnvIgnored = true;
  return fields;
}

/** Logs the selected authentication mode (once at startup, and on each reload). */
export function logAuthMode(logger: Logger, config: CloudConfig, env: NodeJS.ProcessEnv): void {
  const fields = authModeFields(config, env);
  logger.info('Azure authentication configured', fields);
  if (fields.workloadIdentityEnvIgnored) {
    logger.warn('Workload identity environment variables are ignored: the cloud config does not set useFederatedWorkloadIdentityExtension', {
      authMode: fields.authMode,
    });
  }
}
