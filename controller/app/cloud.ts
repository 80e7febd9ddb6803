/**
 * Builds the Azure cloud provider from the cloud configuration: credential, endpoints, client-side
 * ARM budgets modelled on the Compute limits, and metrics for every call.
 */
import type { CloudConfig } from '../config/cloud-config.js';
import { AzureCloudProvider, type AzureCloudProviderOptions } from '../cloud/azure-provider.js';
import { routeAzureSdkLogs } from '../cloud/azure-sdk-logging.js';
import { createCredential } from '../cloud/credential.js';
import { armIdentityReader, type IdentityReader } from '../cloud/identity-validator.js';
import { ArmRateLimiter } from '../cloud/throttle.js';
import type { Logger } from '../observability/logger.js';
import { recordArmCall, type MicMetrics } from '../observability/metrics.js';
import { systemClock, type Clock } from '../util/clock.js';

/** Options of {@link createAzureCloudProvider}. */
export interface AzureCloudProviderFactoryOptions {
  logger: Logger;
  metrics?: MicMetrics;
  clock?: Clock;
  userAgent?: string;
  /** LRO poll interval (default 2 s; the emulator-backed demo and tests use less). */
  updateIntervalInMs?: number;
  updateTimeoutMs?: number;
  /** Speeds up the client-side token buckets (benchmarks with a time-scaled emulator). */
  timeScale?: number;
  additionalPolicies?: AzureCloudProviderOptions['additionalPolicies'];
}

/**
 * Client ID of the cluster identity MIC must never remove from a VM/VMSS: `userAssignedIdentityID` of
 * azure.json in every auth mode (as upstream), not only when MIC itself authenticates with it.
 */
export function protectedClusterIdentityClientId(config: Pick<CloudConfig, 'userAssignedIdentityID'>): string {
  return config.userAssignedIdentityID.trim().toLowerCase();
}

/** The production cloud provider for a cloud configuration. */
export function createAzureCloudProvider(config: CloudConfig, o: AzureCloudProviderFactoryOptions): AzureCloudProvider {
  routeAzureSdkLogs(o.logger);
  const credential = credentialFor(config);
  return new AzureCloudProvider({
    credential,
    resourceManagerEndpoint: config.resourceManagerEndpoint,
    tokenAudience: config.tokenAudience,
    userAgent: o.userAgent,
    updateIntervalInMs: o.updateIntervalInMs,
    updateTimeoutMs: o.updateTimeoutMs,
    rateLimiter: new ArmRateLimiter({ clock: o.clock ?? systemClock, timeScale: o.timeScale }),
    additionalPolicies: o.additionalPolicies,
    clock: o.clock,
    logger: o.logger,
    onCall: o.metrics ? (call) => recordArmCall(o.metrics!, call) : undefined,
  });
}

/** Reads user-assigned identities through `@azure/arm-msi` for identity validation (same cloud and credential kind). */
export function createIdentityReader(config: CloudConfig, o: { userAgent?: string } = {}): IdentityReader {
  return armIdentityReader({
    credential: credentialFor(config),
    resourceManagerEndpoint: config.resourceManagerEndpoint,
    tokenAudience: config.tokenAudience,
    userAgent: o.userAgent,
  });
}

function credentialFor(config: CloudConfig): ReturnType<typeof createCredential> {
  return createCredential({
    tenantId: config.tenantId,
    aadClientId: config.aadClientId,
    aadClientSecret: config.aadClientSecret,
    useManagedIdentityExtension: config.useManagedIdentityExtension,
    userAssignedIdentityID: config.userAssignedIdentityID,
    activeDirectoryEndpoint: config.activeDirectoryEndpoint,
  });
}
