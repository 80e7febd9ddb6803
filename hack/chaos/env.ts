/**
 * The chaos environment: both emulators, a topology, and in-process controller replicas whose ARM
 * pipelines are fenced (every PATCH is checked against the lease holder at the moment it is sent).
 */
import { emulatorCloudConfig } from '../emulators/azure/cloud-config.js';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { startAzureEmulator, vmId, vmProviderId, vmssId, vmssInstanceProviderId, type AzureEmulator } from '../emulators/azure/index.js';
import { startKubeEmulator, type KubeEmulator } from '../emulators/kube/index.js';
import { createAzureCloudProvider, type AzureCloudProviderFactoryOptions } from '../../controller/app/cloud.js';
import { MicApp } from '../../controller/app/mic-app.js';
import type { CloudConfig } from '../../controller/config/cloud-config.js';
import { defaultMicOptions, type MicOptions } from '../../controller/config/options.js';
import { createLogger } from '../../controller/observability/logger.js';
import type { LeaseLoss } from '../../controller/kube/leader-election.js';
import type { ClusterView, RawObject } from './oracle.js';

/** Subscription and resource group of the chaos topology. */
export const CHAOS_SUB = '00000000-0000-0000-0000-0000000c4a05';
export const CHAOS_RG = 'mc_chaos_cluster_eastus';

const LEASE_PATH = '/apis/coordination.k8s.io/v1/namespaces/default/leases/aad-pod-identity-mic';
const CRD_PATH = '/apis/aadpodidentity.k8s.io/v1';

/** Log lines a {@link ChaosEnv} keeps (long runs would otherwise hold every line in memory). */
export const LOG_LINES_KEPT = 50_000;

type PipelinePolicyEntry = NonNullable<AzureCloudProviderFactoryOptions['additionalPolicies']>[number];

/** Options of {@link ChaosEnv.start}. */
export interface ChaosEnvOptions {
  /** VMSS name → initial number of nodes (instances 0..n-1). */
  vmss: Record<string, number>;
  /** Standalone VM names (one node each). */
  vms: string[];
  /** Real ms an ARM PATCH takes (default 100). */
  lroLatencyMs?: number;
  /**
   * Speed-up of ARM's throttling budgets (emulator `timeScale` and the replicas' client-side token
   * buckets; default 1). A compressed run (many changes per real second) scales the budgets with it.
   */
  armTimeScale?: number;
  /** Lease duration of the replicas (default 3000 ms). */
  leaseDurationMs?: number;
  /** Azure drift check period of the replicas (default 1000 ms). */
  driftIntervalMs?: number;
  /** Client IDs passed as `--immutable-user-msis`. */
  immutableClientIds?: string[];
  /** Directory with the CRD YAML files (default `./crds`). */
  crdDir?: string;
  /** `--clientQps` of the replicas (default: the controller's default, 5). */
  clientQps?: number;
  /** Called when a replica lost its lease and exits. */
  onLeaseLost?: (r: Replica, why: string) => void;
}

/** One controller replica. */
export interface Replica {
  name: string;
  app: MicApp;
  forceNamespaced: boolean;
  /** When set, the next PATCH this replica sends is followed at once by its crash. */
  crashAfterWrite: boolean;
  /** `exited`: the replica lost its lease and ended itself, as the real process does (exit 1, restarted by its Deployment). */
  state: 'running' | 'crashed' | 'stopped' | 'exited';
}

/** One ARM write as the fence saw it. */
export interface FencedWrite {
  replica: string;
  at: number;
  url: string;
  /** Lease holder and expiry (epoch ms) when it was sent. */
  holder: string | undefined;
  leaseExpiresAt: number;
  /** Identities the PATCH adds / removes (lower-cased), from its body. */
  add: string[];
  remove: string[];
  /** HTTP status of the answer (0 when the request failed without one). */
  status: number;
}

/** See module comment. */
export class ChaosEnv {
  readonly kube: KubeEmulator;
  readonly azure: AzureEmulator;
  readonly kc: KubeConfig;
  readonly cloudConfig: CloudConfig;
  /** The latest log lines of every replica (at most {@link LOG_LINES_KEPT}). */
  readonly logLines: string[] = [];
  /** Log lines (any replica, whole run) that contain the emulated client secret. */
  readonly secretLeaks: string[] = [];
  readonly replicas: Replica[] = [];
  /** Every ARM PATCH, with the lease state at send time. */
  readonly writes: FencedWrite[] = [];
  /** Fencing violations: writes sent by a replica that did not hold a live lease. */
  readonly fenceViolations: string[] = [];
  /** Replicas that lost their lease while running (renewals late or failed) and exited. */
  leaseLosses = 0;
  readonly #o: ChaosEnvOptions;
  #replicaSeq = 0;

  private constructor(kube: KubeEmulator, azure: AzureEmulator, o: ChaosEnvOptions) {
    this.kube = kube;
    this.azure = azure;
    this.#o = o;
    this.kc = kube.kubeConfig();
    this.cloudConfig = emulatorCloudConfig(azure, CHAOS_SUB, CHAOS_RG);
  }

  /** Starts both emulators and creates the topology (Azure resources and Nodes). */
  static async start(o: ChaosEnvOptions): Promise<ChaosEnv> {
    const kube = await startKubeEmulator({ crdDir: o.crdDir ?? path.resolve('crds'), namespaces: ['team-a', 'team-b'] });
    const scale = o.armTimeScale ?? 1;
    const azure = await startAzureEmulator({ lroLatencyMs: (o.lroLatencyMs ?? 100) * scale, timeScale: scale, throttling: true });
    const env = new ChaosEnv(kube, azure, o);
    for (const [name, count] of Object.entries(o.vmss)) {
      azure.controls.addVmss(CHAOS_SUB, CHAOS_RG, name, { orchestration: 'Uniform' });
      for (let i = 0; i < count; i++) env.addNode(name, i);
    }
    for (const vm of o.vms) {
      azure.controls.addVm(CHAOS_SUB, CHAOS_RG, vm);
      kube.controls.putObject({ apiVersion: 'v1', kind: 'Node', metadata: { name: vm }, spec: { providerID: vmProviderId(CHAOS_SUB, CHAOS_RG, vm) } });
    }
    return env;
  }

  /** Node name of a VMSS instance (AKS style). */
  static nodeName(vmss: string, instance: number): string {
    return `${vmss}${instance.toString(36).padStart(6, '0')}`;
  }

  /** Creates the Node of a VMSS instance. */
  addNode(vmss: string, instance: number): string {
    const name = ChaosEnv.nodeName(vmss, instance);
    this.kube.controls.putObject({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: { providerID: vmssInstanceProviderId(CHAOS_SUB, CHAOS_RG, vmss, instance) } });
    return name;
  }

  /** Lower-cased ARM IDs of every VM/VMSS of the topology. */
  targetIds(): string[] {
    return [
      ...Object.keys(this.#o.vmss).map((n) => vmssId(CHAOS_SUB, CHAOS_RG, n).toLowerCase()),
      ...this.#o.vms.map((n) => vmId(CHAOS_SUB, CHAOS_RG, n).toLowerCase()),
    ];
  }

  /** Current identities of every target. */
  azureTargets(): Map<string, string[]> {
    return new Map(this.targetIds().map((id) => [id, this.azure.controls.getResourceIdentities(id).userAssigned.map((s) => s.toLowerCase())]));
  }

  /** The Kubernetes objects the oracle reads, straight from the emulator's store (Events only when asked). */
  clusterView(namespaced: boolean, o: { events?: boolean } = {}): ClusterView {
    const list = (p: string): RawObject[] => this.kube.controls.listObjects(p) as RawObject[];
    return {
      pods: list('/api/v1/pods'),
      nodes: list('/api/v1/nodes'),
      identities: list(`${CRD_PATH}/azureidentities`),
      bindings: list(`${CRD_PATH}/azureidentitybindings`),
      assigned: list(`${CRD_PATH}/azureassignedidentities`),
      events: o.events === false ? [] : list('/api/v1/events'),
      namespaced,
    };
  }

  /** Holder and expiry (epoch ms) of the leader lease as stored by the API server. */
  lease(): { holder: string | undefined; expiresAt: number } {
    const lease = this.kube.controls.getObject(LEASE_PATH) as { spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number } } | undefined;
    const spec = lease?.spec;
    const renew = spec?.renewTime ? Date.parse(spec.renewTime) : Number.NaN;
    return { holder: spec?.holderIdentity || undefined, expiresAt: Number.isFinite(renew) ? renew + (spec?.leaseDurationSeconds ?? 0) * 1000 : 0 };
  }

  /** Running replicas. */
  running(): Replica[] {
    return this.replicas.filter((r) => r.state === 'running');
  }

  /** The running replica whose controller is active, if any. */
  leader(): Replica | undefined {
    return this.running().find((r) => r.app.active);
  }

  /** Starts a new replica (a fresh identity, as a new pod would have). */
  async startReplica(o: { forceNamespaced: boolean; options?: Partial<MicOptions> }): Promise<Replica> {
    const name = `mic-${this.#replicaSeq++}`;
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => {
      for (const line of c.toString().split('\n')) {
        if (!line) continue;
        if (line.includes(this.azure.clientSecret)) this.secretLeaks.push(line);
        this.logLines.push(line);
      }
      if (this.logLines.length > LOG_LINES_KEPT) this.logLines.splice(0, this.logLines.length - LOG_LINES_KEPT);
    });
    const logger = createLogger({ stream, level: 'debug', defaultMeta: { replica: name } });
    const leaseDurationMs = this.#o.leaseDurationMs ?? 3000;
    const options: MicOptions = {
      ...defaultMicOptions({}),
      micPodNamespace: 'default',
      leaderElectionInstance: name,
      leaderElectionDurationMs: leaseDurationMs,
      httpProbePort: 0,
      prometheusPort: 0,
      identityAssignmentReconcileIntervalMs: this.#o.driftIntervalMs ?? 1000,
      updateUserMsiRetryIntervalMs: 200,
      immutableUserMsis: this.#o.immutableClientIds ?? [],
      forceNamespaced: o.forceNamespaced,
      ...(this.#o.clientQps !== undefined ? { clientQps: this.#o.clientQps } : {}),
      ...o.options,
    };
    const replica = { name, forceNamespaced: o.forceNamespaced, crashAfterWrite: false, state: 'running' } as Replica;
    // The replica's name in the User-Agent lets the emulator's audit attribute every write to it.
    const cloud = createAzureCloudProvider(this.cloudConfig, { logger, userAgent: `aad-pod-identity/MIC chaos-replica/${name}`, timeScale: this.#o.armTimeScale ?? 1, updateIntervalInMs: 100, additionalPolicies: [this.#fence(replica)] });
    replica.app = new MicApp({
      options,
      subscriptionId: CHAOS_SUB,
      resourceGroup: CHAOS_RG,
      clusterIdentityClientId: '',
      cloud,
      kc: this.kc,
      logger,
      serveProbes: false,
      // As in production (run.ts): a replica that lost its lease exits; its Deployment starts a new pod.
      onLeadershipLost: (loss) => void this.#exit(replica, loss),
    });
    this.replicas.push(replica);
    await replica.app.start();
    return replica;
  }

  /** Crash: the replica stops without releasing its lease (a standby must wait for expiry). */
  async crash(r: Replica): Promise<void> {
    if (r.state !== 'running') return;
    r.state = 'crashed';
    await r.app.elector.stop();
    await r.app.stop();
  }

  /** A replica that lost its lease ends itself (the process exits in production). */
  async #exit(r: Replica, loss: LeaseLoss | undefined): Promise<void> {
    if (r.state !== 'running') return;
    r.state = 'exited';
    this.leaseLosses++;
    const why = loss ? `${loss.reason}${loss.holder ? ` (holder ${loss.holder})` : ''}` : 'unknown';
    this.#o.onLeaseLost?.(r, why);
    await r.app.stop();
  }

  /** One line per replica still running: leadership, activity and informer states (for convergence failures). */
  describeReplicas(): string {
    return this.running().map((r) => {
      const h = r.app.health();
      const informers = (['pods', 'nodes', 'identities', 'bindings', 'assigned'] as const).map((n) => `${n}:${r.app.state[n].state()}${r.app.state[n].hasSynced() ? '' : '(unsynced)'}`).join(',');
      return `${r.name}{leader ${r.app.elector.isLeader()}, active ${r.app.active}, sync loop ${h.syncLoopRunning}, observed ${r.app.elector.getLeader() ?? '-'}, ${informers}}`;
    }).join(' ') || 'none running';
  }

  /** Graceful stop (releases the lease). */
  async stopGracefully(r: Replica): Promise<void> {
    if (r.state !== 'running') return;
    r.state = 'stopped';
    await r.app.stop();
  }

  /** Stops every replica and both emulators. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.running().map((r) => this.stopGracefully(r)));
    await Promise.allSettled([this.kube.stop(), this.azure.stop()]);
  }

  /** The per-replica pipeline policy: records and fences every PATCH; arms crash-after-write. */
  #fence(replica: Replica): PipelinePolicyEntry {
    return {
      position: 'perRetry',
      policy: {
        name: 'chaos-fence',
        sendRequest: async (request, next) => {
          if (request.method !== 'PATCH') return next(request);
          const at = Date.now();
          const { holder, expiresAt } = this.lease();
          const write: FencedWrite = { replica: replica.name, at, url: request.url, holder, leaseExpiresAt: expiresAt, ...identityDelta(request.body), status: 0 };
          this.writes.push(write);
          if (holder !== replica.name || at >= expiresAt) {
            this.fenceViolations.push(`${replica.name} sent PATCH ${new URL(request.url).pathname} while the lease was held by ${holder ?? 'nobody'} (expires ${new Date(expiresAt).toISOString()}, now ${new Date(at).toISOString()})`);
          }
          const response = await next(request);
          write.status = response.status;
          if (replica.crashAfterWrite && replica.state === 'running') {
            replica.crashAfterWrite = false;
            setImmediate(() => void this.crash(replica));
          }
          return response;
        },
      },
    };
  }
}

/** Adds and removes of a PATCH body `{identity: {userAssignedIdentities: {id: {} | null}}}`. */
function identityDelta(body: unknown): { add: string[]; remove: string[] } {
  const out = { add: [] as string[], remove: [] as string[] };
  if (typeof body !== 'string') return out;
  try {
    const parsed = JSON.parse(body) as { identity?: { userAssignedIdentities?: Record<string, unknown> } };
    for (const [id, v] of Object.entries(parsed.identity?.userAssignedIdentities ?? {})) (v === null ? out.remove : out.add).push(id.toLowerCase());
  } catch {
    // not JSON: nothing to record
  }
  return out;
}
