/**
 * Starts the Kubernetes and Azure emulators together, applies the CRDs and a topology, and writes
 * everything a MIC process needs into a state directory:
 *   kubeconfig, azure.json, environment.json, ca.pem, env, and `ready` once both serve.
 *
 * CLI: node dist/hack/emulators/launch.js --state-dir <dir> [--topology file.json]
 *        [--time-scale x] [--lro-latency ms]
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startAzureEmulator, type AzureEmulator } from './azure/index.js';
import { applyTopology, defaultTopology, type KubeObjectSink, type Topology, type TopologyNode } from './topology.js';

/** What launch.ts needs from the kube emulator (`hack/emulators/kube/index.ts`). */
export interface KubeEmulatorHandle extends KubeObjectSink {
  url: string;
  token: string;
  writeKubeconfig(file: string): unknown;
  stop(): Promise<void>;
}

/** Options of {@link launchEmulators}. */
export interface LaunchOptions {
  stateDir: string;
  topology?: Topology;
  timeScale?: number;
  lroLatencyMs?: number;
  /** Directory with the CRD YAML files (default: the repository's `crds/`). */
  crdDir?: string;
  /** Azure CA: `test` (default) or `generate`. */
  ca?: 'test' | 'generate';
}

/** Both emulators, running. */
export interface LaunchedEmulators {
  azure: AzureEmulator;
  kube: KubeEmulatorHandle;
  topology: Topology;
  identities: Record<string, string>;
  nodes: TopologyNode[];
  /** Paths of the files written. */
  files: { kubeconfig: string; azureJson: string; environment: string; ca: string; env: string; ready: string };
  stop(): Promise<void>;
}

function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Source: <root>/hack/emulators; built: <root>/dist/hack/emulators.
  const up = path.resolve(here, '..', '..');
  return path.basename(up) === 'dist' ? path.dirname(up) : up;
}

async function startKube(crdDir: string): Promise<KubeEmulatorHandle> {
  const modulePath = './kube/index.js';
  const mod = (await import(modulePath)) as { startKubeEmulator?: (o: { crdDir: string }) => Promise<KubeEmulatorHandle> };
  if (typeof mod.startKubeEmulator !== 'function') throw new TypeError('hack/emulators/kube/index.js does not export startKubeEmulator');
  return mod.startKubeEmulator({ crdDir });
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Starts both emulators and writes the state directory (in-process use, e.g. by the demo). */
export async function launchEmulators(opts: LaunchOptions): Promise<LaunchedEmulators> {
  const stateDir = path.resolve(opts.stateDir);
  await mkdir(stateDir, { recursive: true });
  const files = {
    kubeconfig: path.join(stateDir, 'kubeconfig'),
    azureJson: path.join(stateDir, 'azure.json'),
    environment: path.join(stateDir, 'environment.json'),
    ca: path.join(stateDir, 'ca.pem'),
    env: path.join(stateDir, 'env'),
    ready: path.join(stateDir, 'ready'),
  };
  await rm(files.ready, { force: true });

  const topology = opts.topology ?? defaultTopology();
  const azureOpts: Parameters<typeof startAzureEmulator>[0] = { ca: opts.ca ?? 'test' };
  if (opts.timeScale !== undefined) azureOpts.timeScale = opts.timeScale;
  if (opts.lroLatencyMs !== undefined) azureOpts.lroLatencyMs = opts.lroLatencyMs;
  const azure = await startAzureEmulator(azureOpts);
  let kube: KubeEmulatorHandle;
  try {
    kube = await startKube(opts.crdDir ?? path.join(repoRoot(), 'crds'));
  } catch (err) {
    await azure.stop();
    throw err;
  }
  const stop = async (): Promise<void> => {
    await rm(files.ready, { force: true });
    await Promise.allSettled([azure.stop(), kube.stop()]);
  };
  try {
    const applied = await applyTopology(azure, kube, topology);
    await kube.writeKubeconfig(files.kubeconfig);
    await writeFile(
      files.azureJson,
      JSON.stringify(
        {
          cloud: 'AzureStackCloud',
          tenantId: azure.tenantId,
          subscriptionId: topology.subscription,
          resourceGroup: topology.resourceGroup,
          aadClientId: azure.clientId,
          aadClientSecret: azure.clientSecret,
          useManagedIdentityExtension: false,
          userAssignedIdentityID: '',
          vmType: topology.vmss.length > 0 ? 'vmss' : 'standard',
          location: 'eastus',
        },
        null,
        2,
      ) + '\n',
      { mode: 0o600 },
    );
    await writeFile(files.environment, JSON.stringify(azure.environmentJson(), null, 2) + '\n');
    await writeFile(files.ca, azure.caPem);
    await writeFile(
      files.env,
      [
        `export NODE_EXTRA_CA_CERTS=${shellQuote(files.ca)}`,
        `export AZURE_ENVIRONMENT_FILEPATH=${shellQuote(files.environment)}`,
        'export MIC_POD_NAMESPACE=default',
        `export AZURE_POD_IDENTITY_AUTHORITY_HOST=${shellQuote(azure.imdsUrl)}`,
        `export KUBECONFIG=${shellQuote(files.kubeconfig)}`,
        '',
      ].join('\n'),
    );
    await writeFile(files.ready, `${JSON.stringify({ armUrl: azure.armUrl, kubeUrl: kube.url, pid: process.pid })}\n`);
    return { azure, kube, topology, identities: applied.identities, nodes: applied.nodes, files, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Parses the CLI arguments with node:util parseArgs; throws RangeError on a bad one. */
export function parseLaunchArgs(argv: string[]): { stateDir: string; topologyFile?: string; timeScale?: number; lroLatencyMs?: number } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'state-dir': { type: 'string' },
        topology: { type: 'string' },
        'time-scale': { type: 'string' },
        'lro-latency': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new RangeError((err as Error).message, { cause: err });
  }
  const stateDir = values['state-dir'];
  if (!stateDir) throw new RangeError('--state-dir is required');
  const out: { stateDir: string; topologyFile?: string; timeScale?: number; lroLatencyMs?: number } = { stateDir };
  if (values.topology) out.topologyFile = values.topology;
  const nonNegative = (flag: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !(Number.isFinite(n) && n >= 0)) throw new RangeError(`${flag} must be a non-negative number`);
    return n;
  };
  const timeScale = nonNegative('--time-scale', values['time-scale']);
  const lroLatencyMs = nonNegative('--lro-latency', values['lro-latency']);
  if (timeScale !== undefined) out.timeScale = timeScale;
  if (lroLatencyMs !== undefined) out.lroLatencyMs = lroLatencyMs;
  return out;
}

async function main(): Promise<void> {
  const args = parseLaunchArgs(process.argv.slice(2));
  const opts: LaunchOptions = { stateDir: args.stateDir };
  if (args.topologyFile) opts.topology = JSON.parse(await readFile(args.topologyFile, 'utf8')) as Topology;
  if (args.timeScale !== undefined) opts.timeScale = args.timeScale;
  if (args.lroLatencyMs !== undefined) opts.lroLatencyMs = args.lroLatencyMs;
  const launched = await launchEmulators(opts);
  console.error(JSON.stringify({ msg: 'Emulators ready', armUrl: launched.azure.armUrl, kubeUrl: launched.kube.url, stateDir: path.resolve(args.stateDir) }));
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.error(JSON.stringify({ msg: 'Emulators stopping', signal }));
    launched.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(JSON.stringify({ msg: 'Emulators failed to start', err: err instanceof Error ? err.message : String(err) }));
    process.exit(1);
  });
}
