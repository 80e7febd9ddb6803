/**
 * Builds the Azure cloud provider from the cloud configuration: credential, endpoints, client-side
 * ARM budgets modelled on the Compute limits, and metrics for every call. Also wires the azure.json
 * reload: the ARM clients hold a {@link SwappableCredential} whose delegate is replaced when the
 * file changes.
 */
import type { TokenCredential } from '@azure/identity';
import { hasWorkloadIdentityEnv, selectAuthMode } from '../config/auth-mode.js';
import { redactClientId, type CloudConfig } from '../config/cloud-config.js';
import { CloudConfigWatcher } from '../config/cloud-config-watcher.js';
import { AzureCloudProvider, type AzureCloudProviderOptions } from '../cloud/azure-provider.js';
import { routeAzureSdkLogs } from '../cloud/azure-sdk-logging.js';
import { createCredential, type CredentialConfig, type SwappableCredential } from '../cloud/credential.js';
import { armIdentityReader, type IdentityReader } from '../cloud/identity-validator.js';
import type { Target } from '../cloud/provider.js';
import { ArmRateLimiter, type ArmRateLimiterOptions, type CallKind, type Reservation } from '../cloud/throttle.js';
import type { Logger } from '../observability/logger.js';
import { recordArmCall, type MicMetrics } from '../observability/metrics.js';
import { systemClock, type Clock } from '../util/clock.js';

/** Options of {@link createAzureCloudProvider}. */
export interface AzureCloudProviderFactoryOptions {
  logger: Logger;
  metrics?: MicMetrics;
  clock?: Clock;
  userAgent?: string;
  /** The credential of the ARM clients (default: built from `config`). */
  credential?: TokenCredential;
  /** LRO poll interval (default 2 s; the emulator-backed demo and tests use less). */
  updateIntervalInMs?: number;
  updateTimeoutMs?: number;
  /** Speeds up the client-side token buckets (benchmarks with a time-scaled emulator). */
  timeScale?: number;
  additionalPolicies?: AzureCloudProviderOptions['additionalPolicies'];
}

/** The credential-relevant part of a cloud config. */
export function credentialConfigOf(config: CloudConfig): CredentialConfig {
  return {
    tenantId: config.tenantId,
    aadClientId: config.aadClientId,
    aadClientSecret: config.aadClientSecret,
    useManagedIdentityExtension: config.useManagedIdentityExtension,
    userAssignedIdentityID: config.userAssignedIdentityID,
    useFederatedWorkloadIdentityExtension: config.useFederatedWorkloadIdentityExtension,
    aadFederatedTokenFile: config.aadFederatedTokenFile,
    activeDirectoryEndpoint: config.activeDirectoryEndpoint,
    environmentName: config.environmentName,
  };
}

/** The credential a cloud config describes, sending `userAgent` on token requests. */
export function createCloudCredential(config: CloudConfig, userAgent?: string): TokenCredential {
  return createCredential(credentialConfigOf(config), userAgent ? { userAgent } : {});
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

/**
 * The rate limiter with `aadpodidentity_mic_throttle_wait_seconds`: every refusal (client-side
 * budget or an open Retry-After gate, `source="client"`) and every Retry-After ARM sends
 * (`source="arm"`) is observed with the wait it imposes.
 */
export class MeteredArmRateLimiter extends ArmRateLimiter {
  readonly #metrics: MicMetrics;

  constructor(options: ArmRateLimiterOptions & { metrics: MicMetrics }) {
    super(options);
    this.#metrics = options.metrics;
  }

  override reserve(target: Target, kind: CallKind): Reservation {
    const reservation = super.reserve(target, kind);
    if (!reservation.ok) this.#metrics.throttleWait.observe({ source: 'client' }, reservation.waitMs / 1000);
    return reservation;
  }

  override noteRetryAfter(target: Target, ms: number, kind: CallKind = 'write'): void {
    if (ms > 0) this.#metrics.throttleWait.observe({ source: 'arm' }, ms / 1000);
    super.noteRetryAfter(target, ms, kind);
  }

  override noteSubscriptionRetryAfter(subscriptionId: string, ms: number): void {
    if (ms > 0) this.#metrics.throttleWait.observe({ source: 'arm' }, ms / 1000);
    super.noteSubscriptionRetryAfter(subscriptionId, ms);
  }
}

/** The Azure provider with `aadpodidentity_mic_arm_writes_inflight`: identity updates in flight. */
export class MeteredAzureCloudProvider extends AzureCloudProvider {
  readonly #metrics: MicMetrics;

  constructor(options: AzureCloudProviderOptions & { metrics: MicMetrics }) {
    super(options);
    this.#metrics = options.metrics;
  }

  override async updateIdentities(...args: Parameters<AzureCloudProvider['updateIdentities']>): ReturnType<AzureCloudProvider['updateIdentities']> {
    this.#metrics.armWritesInflight.inc();
    try {
      return await super.updateIdentities(...args);
    } finally {
      this.#metrics.armWritesInflight.dec();
    }
  }
}

/** The production cloud provider for a cloud configuration (metered when `metrics` is given). */
export function createAzureCloudProvider(config: CloudConfig, o: AzureCloudProviderFactoryOptions): AzureCloudProvider {
  routeAzureSdkLogs(o.logger);
  const clock = o.clock ?? systemClock;
  const metrics = o.metrics;
  const options: AzureCloudProviderOptions = {
    credential: o.credential ?? createCloudCredential(config, o.userAgent),
    resourceManagerEndpoint: config.resourceManagerEndpoint,
    tokenAudience: config.tokenAudience,
    userAgent: o.userAgent,
    updateIntervalInMs: o.updateIntervalInMs,
    updateTimeoutMs: o.updateTimeoutMs,
    rateLimiter: metrics
      ? new MeteredArmRateLimiter({ clock, timeScale: o.timeScale, metrics })
      : new ArmRateLimiter({ clock, timeScale: o.timeScale }),
    additionalPolicies: o.additionalPolicies,
    clock: o.clock,
    logger: o.logger,
    onCall: metrics ? (call) => recordArmCall(metrics, call) : undefined,
  };
  return metrics ? new MeteredAzureCloudProvider({ ...options, metrics }) : new AzureCloudProvider(options);
}

/** Settings a running MIC reads only at startup: a change is logged as needing a restart. */
const RESTART_SETTINGS = ['environmentName', 'resourceManagerEndpoint', 'subscriptionId', 'resourceGroup', 'useManagedIdentityExtension', 'userAssignedIdentityID'] as const;

/** Options of {@link watchCloudConfigCredential}. */
export interface CloudConfigReloadOptions {
  /** The config the process started with (its `path` is watched). */
  config: CloudConfig;
  env: NodeJS.ProcessEnv;
  /** The credential the ARM clients use; its delegate is replaced on each good reload. */
  credential: SwappableCredential;
  logger: Logger;
  userAgent?: string;
  clock?: Clock;
  debounceMs?: number;
  pollIntervalMs?: number;
}

/**
 * Watches the azure.json the config came from and swaps the ARM credential when it changes. A file
 * that no longer parses, or describes no usable credential, keeps the current credential (Warning
 * log). Returns the started watcher (close it on shutdown), or undefined for an env-only config.
 */
export function watchCloudConfigCredential(o: CloudConfigReloadOptions): CloudConfigWatcher | undefined {
  if (o.config.source !== 'file' || !o.config.path) return undefined;
  const path = o.config.path;
  const started = o.config;
  const watcher = new CloudConfigWatcher({
    path,
    env: o.env,
    clock: o.clock,
    debounceMs: o.debounceMs,
    pollIntervalMs: o.pollIntervalMs,
    onReload: (next) => {
      let credential: TokenCredential;
      try {
        credential = createCloudCredential(next, o.userAgent);
      } catch (err) {
        o.logger.warn('Cloud config changed but describes no usable credential; keeping the current one', { cloudconfig: path, err });
        return;
      }
      o.credential.swap(credential);
      o.logger.info('Cloud config reloaded; new Azure credential in use', { cloudconfig: path, ...authModeFields(next, o.env) });
      const needRestart = RESTART_SETTINGS.filter((k) => next[k] !== started[k]);
      if (needRestart.length > 0) {
        o.logger.warn('Cloud config settings changed that take effect only after a restart', { cloudconfig: path, settings: needRestart.join(',') });
      }
    },
    onError: (err) => o.logger.warn('Cloud config changed but cannot be loaded; keeping the current credential', { cloudconfig: path, err }),
    onWatchFailed: (err) => o.logger.warn('Cannot watch the cloud config directory; re-reading it periodically instead', { cloudconfig: path, err }),
  });
  watcher.start();
  return watcher;
}

/**
 * Reads user-assigned identities through `@azure/arm-msi` for identity validation (same cloud; the
 * ARM clients' credential when given, so a reloaded azure.json applies to it too).
 */
export function createIdentityReader(config: CloudConfig, o: { userAgent?: string; credential?: TokenCredential } = {}): IdentityReader {
  return armIdentityReader({
    credential: o.credential ?? createCloudCredential(config, o.userAgent),
    resourceManagerEndpoint: config.resourceManagerEndpoint,
    tokenAudience: config.tokenAudience,
    userAgent: o.userAgent,
  });
}
