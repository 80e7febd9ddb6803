/**
 * The process-level wiring shared by `controller/main.ts` and the benchmark's controller process:
 * flags and configuration (exit 2 with one clear line on bad input), logger, metrics, the Azure
 * provider, one MicApp replica, and graceful shutdown on SIGTERM/SIGINT.
 */
import { createAzureCloudProvider, createCloudCredential, createIdentityReader, logAuthMode, watchCloudConfigCredential } from './cloud.js';
import { SwappableCredential } from '../cloud/credential.js';
import { MicApp } from './mic-app.js';
import { MIC_BUILD, MIC_VERSION } from './version.js';
import { clusterIdentityClientId, loadCloudConfig, redactCloudConfig } from '../config/cloud-config.js';
import { isConfigError, isHelpRequested, isVersionRequested } from '../config/errors.js';
import { parseFlags } from '../config/flags.js';
import type { MicOptions } from '../config/options.js';
import { isKubeConfigError, loadKubeConfig, reuseConnections, userAgent, withUserAgent } from '../kube/client.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';

/** Inputs of {@link runMic}. */
export interface RunMicOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  /**
   * Speeds up the ARM client side (LRO poll interval, client-side Compute budgets) for a time-scaled
   * Azure emulator. Benchmarks only; production runs at 1.
   */
  armTimeScale?: number;
}

/**
 * After SIGTERM/SIGINT the process exits on its own after this long even if the graceful stop has
 * not finished (in-flight ARM writes get 10 s, then the lease is released). It must stay below the
 * pod's terminationGracePeriodSeconds (60 s in config/ and the Helm chart; a test checks the margin),
 * so MIC exits with its own code and last log line instead of being SIGKILLed.
 */
export const HARD_EXIT_AFTER_MS = 30_000;

function fail(message: string, code: number): never {
  process.stderr.write(`mic: ${message}\n`);
  process.exit(code);
}

/** Parses configuration, starts one replica and installs the signal handlers. */
export async function runMic(o: RunMicOptions): Promise<MicApp> {
  let options: MicOptions;
  try {
    options = parseFlags(o.argv, o.env);
  } catch (err) {
    if (isHelpRequested(err)) {
      process.stdout.write(err.usage + '\n');
      process.exit(0);
    }
    if (isVersionRequested(err)) {
      process.stdout.write(`MIC Version: ${MIC_VERSION} - Commit: ${MIC_BUILD.gitCommit} - Date: ${MIC_BUILD.buildDate}\n`);
      process.exit(0);
    }
    if (isConfigError(err)) fail(err.message, 2);
    throw err;
  }

  const logger = createLogger({ level: options.logLevel, format: options.logFormat });
  const ua = userAgent(MIC_VERSION, options.customUserAgent || undefined, MIC_BUILD);
  let cloudConfig;
  let kc;
  try {
    cloudConfig = loadCloudConfig(options.cloudconfig || undefined, o.env);
    kc = withUserAgent(reuseConnections(loadKubeConfig({ kubeconfigPath: options.kubeconfig || undefined, env: o.env })), ua);
  } catch (err) {
    if (isConfigError(err) || isKubeConfigError(err)) fail((err as Error).message, 2);
    throw err;
  }
  logger.info('Starting mic process', { version: MIC_VERSION, buildDate: MIC_BUILD.buildDate, gitCommit: MIC_BUILD.gitCommit });
  logger.info('Configuration loaded', {
    kubeconfig: options.kubeconfig || '(in-cluster)',
    cloudconfig: options.cloudconfig || '(environment)',
    namespaced: options.forceNamespaced,
    dryRun: options.dryRun,
    unassignGracePeriodMs: options.unassignGracePeriodMs,
    cloud: redactCloudConfig(cloudConfig),
  });
  if (options.enableScaleFeatures) logger.warn('enableScaleFeatures is deprecated for MIC and is not required; ignoring it');

  const scale = o.armTimeScale && o.armTimeScale > 0 ? o.armTimeScale : 1;
  const metrics = createMetrics();
  logAuthMode(logger, cloudConfig, o.env);
  const credential = new SwappableCredential(createCloudCredential(cloudConfig, ua));
  const configWatcher = watchCloudConfigCredential({ config: cloudConfig, env: o.env, credential, logger, userAgent: ua });
  const cloud = createAzureCloudProvider(cloudConfig, {
    logger,
    metrics,
    credential,
    userAgent: ua,
    updateTimeoutMs: options.armWriteTimeoutMs,
    updateIntervalInMs: Math.max(10, Math.round(options.armPollIntervalMs / scale)),
    timeScale: scale,
  });
  let stopping = false;
  const shutdown = (code: number, why: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('Shutting down', { reason: why });
    configWatcher?.close();
    const timer = setTimeout(() => process.exit(code), HARD_EXIT_AFTER_MS);
    timer.unref();
    app.stop().then(
      () => process.exit(code),
      (err: unknown) => {
        logger.error('Shutdown failed', { err });
        process.exit(code || 1);
      },
    );
  };
  const app = new MicApp({
    options,
    subscriptionId: cloudConfig.subscriptionId,
    resourceGroup: cloudConfig.resourceGroup,
    clusterIdentityClientId: clusterIdentityClientId(cloudConfig),
    cloud,
    identityReader: createIdentityReader(cloudConfig, { userAgent: ua, credential }),
    kc,
    logger,
    metrics,
    onLeadershipLost: () => shutdown(1, 'lost leader lease'),
  });
  process.on('SIGTERM', () => shutdown(0, 'SIGTERM'));
  process.on('SIGINT', () => shutdown(0, 'SIGINT'));
  await app.start();
  logger.info('Initiated leader election', { lease: `${options.leaderElectionNamespace}/${options.leaderElectionName}`, identity: app.elector.identity });
  return app;
}
