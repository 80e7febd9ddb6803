/**
 * Every runtime option of MIC: upstream `cmd/mic` flags (same meaning and defaults), the project's
 * opt-in additions, and the environment variables MIC reads. Durations are in milliseconds.
 */
import { hostname } from 'node:os';

/** winston log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
/** A winston log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Values of `--log-format`. */
export const LOG_FORMATS = ['text', 'json'] as const;
/** Log line format. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Resolved MIC configuration (flags + environment). */
export interface MicOptions {
  // ---- upstream flags -------------------------------------------------------------------------
  /** `--kubeconfig`: kubeconfig path; empty means in-cluster configuration. */
  kubeconfig: string;
  /** `--cloudconfig`: azure.json path; empty means environment-only cloud configuration. */
  cloudconfig: string;
  /** `--forceNamespaced` OR-ed with env `FORCENAMESPACED=true`. */
  forceNamespaced: boolean;
  /** `--syncRetryDuration`: period of the full resync (default 1h). */
  syncRetryDurationMs: number;
  /** `--leader-election-instance`: holder identity (default: hostname). */
  leaderElectionInstance: string;
  /** `--leader-election-namespace`: namespace of the leader-election lock (default `default`). */
  leaderElectionNamespace: string;
  /** `--leader-election-name`: name of the leader-election lock (default `aad-pod-identity-mic`). */
  leaderElectionName: string;
  /** `--leader-election-duration`: lease duration (default 15s). */
  leaderElectionDurationMs: number;
  /** `--http-probe-port`: health probe port (default 8080). */
  httpProbePort: number;
  /** `--prometheus-port`: metrics port (default 8888). */
  prometheusPort: number;
  /** `--enableProfile`: serve profiling endpoints on localhost. */
  enableProfile: boolean;
  /** `--enableScaleFeatures`: deprecated no-op in MIC (kept so existing manifests still start). */
  enableScaleFeatures: boolean;
  /** `--createDeleteBatch`: concurrent Kubernetes writes per target (default 20). */
  createDeleteBatch: number;
  /** `--clientQps`: Kubernetes client QPS (default 5); burst is its floor. */
  clientQps: number;
  /** `--immutable-user-msis`: client IDs never removed from VMs/VMSS (comma-separated on the command line). */
  immutableUserMsis: string[];
  /** `--config-map-name`: ConfigMap recording the type upgrade (default `aad-pod-identity-config`). */
  configMapName: string;
  /** `--type-upgrade-status-key`: key in that ConfigMap (default `type-upgrade-status`). */
  typeUpgradeStatusKey: string;
  /** `--enable-type-upgrade`: run the one-time legacy field-name upgrade (default true). */
  enableTypeUpgrade: boolean;
  /** `--update-user-msi-max-retry`: extra attempts of an identity update after retriable errors (default 2). */
  updateUserMsiMaxRetry: number;
  /** `--update-user-msi-retry-interval`: wait before each such retry (default 1s). */
  updateUserMsiRetryIntervalMs: number;
  /** `--identity-assignment-reconcile-interval`: Azure drift reconcile period (default 3m). */
  identityAssignmentReconcileIntervalMs: number;
  /** `--log-format`: `text` (default, as upstream) or `json`. */
  logFormat: LogFormat;
  /** `--custom-user-agent`: appended to the user agent of Kubernetes, ARM and AAD calls. */
  customUserAgent: string;

  // ---- project flags (opt-in; defaults keep upstream behaviour) -------------------------------
  /** `--unassign-grace-period`: keep an identity assigned this long after its last pod (default 0). */
  unassignGracePeriodMs: number;
  /** `--dry-run`: log the ARM writes MIC would issue instead of issuing them. */
  dryRun: boolean;
  /** `--pause-configmap`: ConfigMap (in the MIC namespace) whose presence pauses ARM writes. */
  pauseConfigMap: string;
  /** `--arm-write-timeout`: upper bound of one ARM identity update including its LRO (default 10m). */
  armWriteTimeoutMs: number;
  /** `--arm-batch-window`: quiet period before an ARM write (at most 10 windows); 0 disables. Default 1s. */
  armBatchWindowMs: number;
  /** `--arm-poll-interval`: LRO poll interval when ARM sends no Retry-After (default 2s, the SDK's). */
  armPollIntervalMs: number;
  /** `--log-level`, or derived from klog `-v` (≥5 debug, ≥3 verbose) when `--log-level` is not given. */
  logLevel: LogLevel;

  // ---- klog compatibility ---------------------------------------------------------------------
  /** klog `-v` verbosity as given (0 when absent); other klog flags are accepted and ignored. */
  verbosity: number;

  // ---- environment ----------------------------------------------------------------------------
  /** Env `MIC_POD_NAMESPACE` (required): MIC's own namespace (type-upgrade and pause ConfigMaps). */
  micPodNamespace: string;
}

/** Options before flags and environment are applied: every upstream default. */
export function defaultMicOptions(env: NodeJS.ProcessEnv = {}): MicOptions {
  return {
    kubeconfig: '',
    cloudconfig: '',
    forceNamespaced: false,
    syncRetryDurationMs: 3_600_000,
    leaderElectionInstance: env.HOSTNAME || hostname(),
    leaderElectionNamespace: 'default',
    leaderElectionName: 'aad-pod-identity-mic',
    leaderElectionDurationMs: 15_000,
    httpProbePort: 8080,
    prometheusPort: 8888,
    enableProfile: false,
    enableScaleFeatures: false,
    createDeleteBatch: 20,
    clientQps: 5,
    immutableUserMsis: [],
    configMapName: 'aad-pod-identity-config',
    typeUpgradeStatusKey: 'type-upgrade-status',
    enableTypeUpgrade: true,
    updateUserMsiMaxRetry: 2,
    updateUserMsiRetryIntervalMs: 1000,
    identityAssignmentReconcileIntervalMs: 180_000,
    logFormat: 'text',
    customUserAgent: '',
    unassignGracePeriodMs: 0,
    dryRun: false,
    pauseConfigMap: 'aad-pod-identity-mic-pause',
    armWriteTimeoutMs: 600_000,
    armPollIntervalMs: 2_000,
    armBatchWindowMs: 1_000,
    logLevel: 'info',
    verbosity: 0,
    micPodNamespace: '',
  };
}

/** Log level implied by a klog `-v` verbosity: ≥5 debug, ≥3 verbose, otherwise info. */
export function logLevelForVerbosity(verbosity: number): LogLevel {
  if (verbosity >= 5) return 'debug';
  if (verbosity >= 3) return 'verbose';
  return 'info';
}

/** Environment variables MIC reads besides the cloud configuration ones (documented in usage). */
export const MIC_ENV_VARS: readonly { name: string; description: string }[] = [
  { name: 'MIC_POD_NAMESPACE', description: 'required: namespace MIC runs in (type-upgrade and pause ConfigMaps)' },
  { name: 'FORCENAMESPACED', description: '"true" turns on namespaced mode, like --forceNamespaced' },
  { name: 'AZURE_ENVIRONMENT_FILEPATH', description: 'endpoints file for cloud AzureStackCloud (custom clouds)' },
];
