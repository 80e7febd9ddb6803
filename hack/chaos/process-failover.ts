/**
 * Real `kill -9` failover: two controller replicas run as child processes (`dist/controller/main.js`,
 * the launcher's environment: NODE_EXTRA_CA_CERTS, AZURE_ENVIRONMENT_FILEPATH, MIC_POD_NAMESPACE),
 * each talking to ARM through its own {@link ArmTap}. During a pod burst the leader gets SIGKILL the
 * moment the emulator has accepted its first PATCH and before the answer reaches it — after the ARM
 * write, before any AzureAssignedIdentity status update — so the lease is never released. Measures
 * kill → standby holds the Lease, kill → converged, duplicate and lost writes, and checks the oracle
 * invariants (no removal of a foreign or kubelet identity; no ARM write from a non-holder).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, Replica } from '../demo/replicas.js';
import { identityId } from '../emulators/azure/index.js';
import { ArmTap, type TappedWrite } from './arm-tap.js';
import { ChaosEnv, CHAOS_RG, CHAOS_SUB } from './env.js';
import { addPod, converge, duplicateAdds, FIGURES_VM, FIGURES_VMSS, KUBELET_CLIENT_ID, pause, setupIdentities } from './fixtures.js';
import { forbiddenRemovals } from './oracle.js';
import { countAaiWrites } from '../bench/aai-writes.js';

/** The measurement could not run (no build, a replica died early, no leader). */
export class ProcessFailoverError extends Error {
  override readonly name = 'ProcessFailoverError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True for {@link ProcessFailoverError}. */
export function isProcessFailoverError(e: unknown): e is ProcessFailoverError {
  return e instanceof ProcessFailoverError;
}

/** Options of {@link measureProcessFailover}. */
export interface ProcessFailoverOptions {
  /** `--leader-election-duration` in ms (default 15 000, the controller's default). */
  leaseDurationMs?: number;
  /** Pods created at once (default 60). */
  burstPods?: number;
  /** Identities the burst spreads over (default 12). */
  identities?: number;
  /** Deadline of convergence after the kill (default lease + 60 s). */
  timeoutMs?: number;
  /** Emulated ms a PATCH's long-running operation takes (default 300). */
  lroLatencyMs?: number;
  /** `dist/controller/main.js` (default: the repository's build). */
  mainPath?: string;
  crdDir?: string;
  /** Keep the replicas' logs (default: only when something went wrong). */
  keepLogs?: boolean;
  progress?: (line: string) => void;
}

/** One change of the Lease holder as sampled. */
export interface HolderChange {
  at: number;
  holder: string | undefined;
}

/** Result of {@link measureProcessFailover}. */
export interface ProcessFailoverFigures {
  leaseDurationMs: number;
  burstPods: number;
  /** Replica killed and the standby. */
  killed: string;
  standby: string;
  /** ms from the burst to the kill (the leader's first accepted PATCH). */
  burstToKillMs: number;
  /** Identities the killed leader's accepted PATCH added; AAIs existing / already Assigned when it died. */
  killedWriteAdds: number;
  aaisAtKill: number;
  assignedAtKill: number;
  /** Kill → the Lease's holderIdentity names the standby. */
  killToNewLeaderMs: number;
  /** Kill → converged (every AAI Assigned; every target holds desired ∪ foreign ∪ kubelet). */
  killToConvergedMs: number;
  /** `--clientQps` of the replicas (the default). */
  clientQps: number;
  /** AzureAssignedIdentity writes (creates, updates, status patches) the new leader made after the kill. */
  kubeWritesLeft: number;
  /** Pods not yet Assigned at the kill: the fewest AAI writes that can finish the job (one per pod). */
  minimumWritesLeft: number;
  /** The goal: lease duration + 2 s + kubeWritesLeft / clientQps. */
  goalMs: number;
  /** Accepted PATCHes, by replica. */
  acceptedWrites: Record<string, number>;
  /** Additions of an identity already on the target (or already added by an earlier accepted PATCH). */
  duplicateWrites: number;
  /** Desired identities missing from a target, or desired AAIs missing / not Assigned, at the deadline. */
  lostWrites: number;
  /** Holder changes of the Lease from the first leader on. */
  holderChanges: HolderChange[];
  violations: string[];
  /** Where the replicas' logs are (kept when there are violations or `keepLogs`). */
  logDir: string | undefined;
}

const LEASE_SAMPLE_MS = 10;
/** The replicas run with the default `--clientQps` (upstream's 5). */
const DEFAULT_CLIENT_QPS = 5;

/** The repository's `dist/controller/main.js` (from the source tree or from `dist/`). */
export function defaultMainPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = path.resolve(here, '..', '..');
  const root = path.basename(up) === 'dist' ? path.dirname(up) : up;
  return path.join(root, 'dist', 'controller', 'main.js');
}

/** Runs the measurement once; throws {@link ProcessFailoverError} when it cannot run. */
export async function measureProcessFailover(o: ProcessFailoverOptions = {}): Promise<ProcessFailoverFigures> {
  const leaseDurationMs = o.leaseDurationMs ?? 15_000;
  const burstPods = o.burstPods ?? 60;
  const mainPath = o.mainPath ?? defaultMainPath();
  const log = o.progress ?? (() => undefined);
  if (!existsSync(mainPath)) throw new ProcessFailoverError(`${mainPath} is missing: build first (make build)`);

  const env = await ChaosEnv.start({ vmss: { [FIGURES_VMSS]: 4 }, vms: [FIGURES_VM], lroLatencyMs: o.lroLatencyMs ?? 300, crdDir: o.crdDir });
  const dir = await mkdtemp(path.join(tmpdir(), 'mic-kill9-'));
  const taps: ArmTap[] = [];
  const replicas: Replica[] = [];
  let keepLogs = o.keepLogs ?? false;
  let sampling = true;
  const holderChanges: HolderChange[] = [];
  const sampler = (async () => {
    while (sampling) {
      const { holder } = env.lease();
      if (holder !== undefined && holder !== holderChanges.at(-1)?.holder) holderChanges.push({ at: Date.now(), holder });
      await pause(LEASE_SAMPLE_MS);
    }
  })();

  try {
    const ids = setupIdentities(env, o.identities ?? 12);
    const kubelet = identityId(CHAOS_SUB, CHAOS_RG, 'kubelet').toLowerCase();
    const files = await writeStateFiles(env, dir);

    // Kill switch: armed at the burst; fires on the first accepted PATCH of the leader.
    let armed = false;
    let kill: { at: number; write: TappedWrite; aais: number; assigned: number } | undefined;
    const byName = new Map<string, Replica>();
    const afterWrite = (w: TappedWrite): 'relay' | 'swallow' => {
      if (!armed || kill || w.status < 200 || w.status >= 300) return 'relay';
      const victim = byName.get(w.replica);
      if (!victim) return 'relay';
      victim.killNow();
      kill = { at: Date.now(), write: w, ...aaiCounts(env) };
      return 'swallow';
    };

    for (const name of ['mic-a', 'mic-b']) {
      const tap = await ArmTap.start({ replica: name, upstream: env.azure.armUrl, caPem: env.azure.caPem, lease: () => env.lease(), afterWrite });
      taps.push(tap);
      const environment = path.join(dir, `environment-${name}.json`);
      await writeFile(environment, JSON.stringify(tappedEnvironment(env.azure.environmentJson(), env.azure.armUrl, tap.url), null, 2));
      const probePort = await freePort();
      const replica = await Replica.start({
        name,
        nodePath: process.execPath,
        mainPath,
        args: [
          '--kubeconfig', files.kubeconfig,
          '--cloudconfig', files.azureJson,
          '--leader-election-instance', name,
          `--leader-election-duration=${leaseDurationMs}ms`,
          '--http-probe-port', String(probePort),
          '--prometheus-port', String(await freePort()),
          `--immutable-user-msis=${KUBELET_CLIENT_ID}`,
          '--log-format=json',
        ],
        // The launcher's env file, with AZURE_ENVIRONMENT_FILEPATH pointing at this replica's tap.
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), NODE_EXTRA_CA_CERTS: files.ca, AZURE_ENVIRONMENT_FILEPATH: environment, MIC_POD_NAMESPACE: 'default' },
        logFile: path.join(dir, `${name}.log`),
        probePort,
      });
      replicas.push(replica);
      byName.set(name, replica);
      // The first replica leads before the second starts, so the roles are known.
      if (replicas.length === 1) await waitFor(() => env.lease().holder === name, leaseDurationMs * 3, 'mic-a to take the Lease', replicas);
    }
    await waitFor(async () => (await replicas[1]!.healthz().catch(() => undefined)) !== undefined, 30_000, 'mic-b to serve /healthz', replicas);
    const leader = env.lease().holder;
    if (leader !== 'mic-a') throw new ProcessFailoverError(`expected mic-a to hold the Lease, found ${leader ?? 'nobody'}`);

    const nodes = env.clusterView(false).nodes.map((n) => n.metadata!.name!);
    const initial = env.azureTargets();
    log(`kill -9 failover: lease ${leaseDurationMs / 1000} s, burst of ${burstPods} pods; mic-a gets SIGKILL once ARM accepts its first PATCH`);
    armed = true;
    const burstAt = Date.now();
    for (let i = 0; i < burstPods; i++) addPod(env, `burst-${i}`, nodes[i % nodes.length]!, `sel-${i % ids.length}`);
    await waitFor(() => kill !== undefined, 60_000, 'the leader\'s first accepted PATCH', replicas.filter((r) => r.name !== leader));
    const killed = kill!;
    log(`killed mic-a ${killed.at - burstAt} ms after the burst (its PATCH added ${killed.write.add.length}; ${killed.aais} AAIs, ${killed.assigned} Assigned)`);

    await waitFor(() => env.lease().holder === 'mic-b', leaseDurationMs * 4, 'mic-b to take the Lease', [replicas[1]!]);
    const killToNewLeaderMs = Date.now() - killed.at;
    log(`mic-b holds the Lease ${killToNewLeaderMs} ms after the kill`);
    const problems = await converge(env, o.timeoutMs ?? leaseDurationMs + 60_000, () => replicas[1]!.assertRunning());
    const killToConvergedMs = Date.now() - killed.at;
    const kubeWritesLeft = countAaiWrites(env.kube.controls.requestLog().filter((r) => r.at >= killed.at));

    const writes = taps.flatMap((t) => t.writes).sort((a, b) => a.at - b.at);
    const accepted = writes.filter((w) => w.status >= 200 && w.status < 300);
    const violations = [
      ...problems.map((p) => `not converged: ${p}`),
      ...forbiddenRemovals(env.azure.controls.identityChanges(), new Set([kubelet])),
      ...fencingViolations(writes),
      ...bypassViolations(env, accepted.length),
    ];
    if (violations.length > 0) keepLogs = true;
    return {
      leaseDurationMs,
      burstPods,
      killed: 'mic-a',
      standby: 'mic-b',
      burstToKillMs: killed.at - burstAt,
      killedWriteAdds: killed.write.add.length,
      aaisAtKill: killed.aais,
      assignedAtKill: killed.assigned,
      killToNewLeaderMs,
      killToConvergedMs,
      clientQps: DEFAULT_CLIENT_QPS,
      kubeWritesLeft,
      minimumWritesLeft: burstPods - killed.assigned,
      goalMs: leaseDurationMs + 2_000 + (kubeWritesLeft / DEFAULT_CLIENT_QPS) * 1000,
      acceptedWrites: Object.fromEntries(['mic-a', 'mic-b'].map((r) => [r, accepted.filter((w) => w.replica === r).length])),
      duplicateWrites: duplicateAdds(accepted.map((w) => ({ ...w, target: w.path })), new Map([...initial].map(([t, v]) => [t, v]))),
      lostWrites: problems.filter((p) => /desired (identity|AAI) .* missing|has status/.test(p)).length,
      holderChanges,
      violations,
      logDir: keepLogs ? dir : undefined,
    };
  } catch (err) {
    keepLogs = true;
    throw err instanceof ProcessFailoverError ? new ProcessFailoverError(`${err.message} (logs in ${dir})`, { cause: err }) : err;
  } finally {
    sampling = false;
    await sampler;
    await Promise.allSettled(replicas.map((r) => r.stop(2000)));
    await Promise.allSettled(taps.map((t) => t.stop()));
    await env.stop();
    if (!keepLogs) await rm(dir, { recursive: true, force: true });
  }
}

/** Writes what the emulator launcher writes: kubeconfig, azure.json (0600) and the CA. */
async function writeStateFiles(env: ChaosEnv, dir: string): Promise<{ kubeconfig: string; azureJson: string; ca: string }> {
  const files = { kubeconfig: path.join(dir, 'kubeconfig'), azureJson: path.join(dir, 'azure.json'), ca: path.join(dir, 'ca.pem') };
  await env.kube.writeKubeconfig(files.kubeconfig);
  const c = env.cloudConfig;
  const azureJson = {
    cloud: 'AzureStackCloud', tenantId: c.tenantId, subscriptionId: c.subscriptionId, resourceGroup: c.resourceGroup,
    aadClientId: c.aadClientId, aadClientSecret: c.aadClientSecret, useManagedIdentityExtension: false, userAssignedIdentityID: '',
    vmType: 'vmss', location: 'eastus',
  };
  await writeFile(files.azureJson, `${JSON.stringify(azureJson, null, 2)}\n`, { mode: 0o600 });
  await writeFile(files.ca, env.azure.caPem);
  return files;
}

/**
 * The emulator's go-autorest environment with ARM behind the tap. Entra ID stays direct: MSAL
 * rejects an authority whose discovery document names another host.
 */
function tappedEnvironment(environment: object, armUrl: string, tapUrl: string): object {
  const env = environment as { resourceManagerEndpoint?: string };
  return { ...environment, resourceManagerEndpoint: (env.resourceManagerEndpoint ?? `${armUrl}/`).split(armUrl).join(tapUrl) };
}

function aaiCounts(env: ChaosEnv): { aais: number; assigned: number } {
  const all = env.clusterView(false).assigned;
  return { aais: all.length, assigned: all.filter((a) => (a.status as { status?: string } | undefined)?.status === 'Assigned').length };
}

/** PATCHes sent by a replica that did not hold an unexpired Lease at send time. */
export function fencingViolations(writes: readonly TappedWrite[]): string[] {
  return writes
    .filter((w) => w.holder !== w.replica || w.at >= w.leaseExpiresAt)
    .map((w) => `${w.replica} sent PATCH ${w.path} at ${new Date(w.at).toISOString()} while the Lease was held by ${w.holder ?? 'nobody'} (expiring ${new Date(w.leaseExpiresAt).toISOString()})`);
}

/** Every accepted write the emulator audited must have passed through a tap (otherwise attribution is incomplete). */
function bypassViolations(env: ChaosEnv, tapped: number): string[] {
  const audited = env.azure.controls.auditLog().filter((e) => e.method === 'PATCH' && e.status >= 200 && e.status < 300).length;
  return audited === tapped ? [] : [`the emulator accepted ${audited} PATCHes but the taps saw ${tapped} accepted`];
}

/** Polls `check` until true; throws {@link ProcessFailoverError} at the deadline or when a `watched` replica dies. */
async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, watched: readonly Replica[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const r of watched) {
      try {
        r.assertRunning();
      } catch (err) {
        throw new ProcessFailoverError(`while waiting for ${what}: ${(err as Error).message}`, { cause: err });
      }
    }
    if (await check()) return;
    if (Date.now() > deadline) throw new ProcessFailoverError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(5);
  }
}
