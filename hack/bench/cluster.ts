/**
 * The emulated cluster of one benchmark scenario: both emulators (via the launcher), VM scale sets
 * with their Nodes, user-assigned identities with one AzureIdentity + AzureIdentityBinding each,
 * and pod create/delete helpers that record when each change happened. Objects are written with
 * the emulator's controls, so the harness's own writes never appear in the API request log.
 */
import path from 'node:path';
import { launchEmulators, type LaunchedEmulators } from '../emulators/launch.js';
import type { KubeEmulator } from '../emulators/kube/index.js';
import type { Topology } from '../emulators/topology.js';
import { AaiObserver } from './aai-observer.js';

/** Shape of a benchmark cluster. */
export interface ClusterSpec {
  vmss: number;
  nodesPerVmss: number;
  identities: number;
  /** Emulated ms an ARM PATCH takes (L). */
  lroLatencyMs: number;
  timeScale: number;
  stateDir: string;
}

/** One node and the scale set it belongs to. */
export interface BenchNode {
  name: string;
  vmss: string;
}

/** A pod the harness created. */
export interface BenchPod {
  key: string;
  name: string;
  node: BenchNode;
  identity: string;
  /** Real ms. */
  createdAt: number;
  deletedAt?: number;
}

const SUB = '00000000-0000-0000-0000-0000000be4c8';
const RG = 'mc_bench_cluster_eastus';
const NAMESPACE = 'default';

/** A running benchmark cluster. */
export interface BenchCluster {
  emulators: LaunchedEmulators;
  kube: KubeEmulator;
  nodes: BenchNode[];
  /** Identity names; binding `b-<identity>` selects label value `<identity>`. */
  identities: string[];
  /** Kubelet identity resource ID already on every scale set. */
  pods: Map<string, BenchPod>;
  observer: AaiObserver;
  createPod(name: string, node: BenchNode, identity: string): BenchPod;
  deletePod(name: string): BenchPod;
  stop(): Promise<void>;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** Deterministic GUID-shaped client ID for identity `i`. */
function clientIdFor(i: number): string {
  return `c11e0000-0000-4000-8000-${pad(i, 12)}`;
}

/** Starts the emulators and creates the scale sets, nodes, identities and bindings. */
export async function startCluster(spec: ClusterSpec): Promise<BenchCluster> {
  const vmssNames = Array.from({ length: spec.vmss }, (_, v) => `aks-pool${pad(v, 2)}-12345678-vmss`);
  const identities = Array.from({ length: spec.identities }, (_, i) => `bench-id-${pad(i, 4)}`);
  const topology: Topology = {
    subscription: SUB,
    resourceGroup: RG,
    vmss: vmssNames.map((name) => ({ name, nodes: Array.from({ length: spec.nodesPerVmss }, (_, n) => `${name}${pad(n, 6)}`) })),
    vms: [],
    identities: identities.map((name, i) => ({ name, clientId: clientIdFor(i) })),
    kubeletIdentity: { name: 'aks-cluster-agentpool', clientId: '11111111-1111-1111-1111-111111111111' },
  };
  const emulators = await launchEmulators({ stateDir: path.resolve(spec.stateDir), topology, timeScale: spec.timeScale, lroLatencyMs: spec.lroLatencyMs });
  const kube = emulators.kube as unknown as KubeEmulator;
  identities.forEach((name, i) => {
    kube.controls.putObject({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentity',
      metadata: { name, namespace: NAMESPACE },
      spec: { type: 0, resourceID: emulators.identities[name], clientID: clientIdFor(i) },
    });
    kube.controls.putObject({
      apiVersion: 'aadpodidentity.k8s.io/v1',
      kind: 'AzureIdentityBinding',
      metadata: { name: `b-${name}`, namespace: NAMESPACE },
      spec: { azureIdentity: name, selector: name },
    });
  });
  const nodes: BenchNode[] = topology.vmss.flatMap((ss) => ss.nodes.map((name) => ({ name, vmss: ss.name })));
  const observer = new AaiObserver(kube.kubeConfig());
  await observer.start();
  const pods = new Map<string, BenchPod>();

  return {
    emulators,
    kube,
    nodes,
    identities,
    pods,
    observer,
    createPod(name, node, identity) {
      kube.controls.putObject({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NAMESPACE, labels: { aadpodidbinding: identity, app: 'bench' } },
        spec: { nodeName: node.name, containers: [{ name: 'app', image: 'mcr.microsoft.com/azure-cli' }] },
        status: { phase: 'Running' },
      });
      const pod: BenchPod = { key: `${NAMESPACE}/${name}`, name, node, identity, createdAt: Date.now() };
      pods.set(pod.key, pod);
      return pod;
    },
    deletePod(name) {
      const key = `${NAMESPACE}/${name}`;
      const pod = pods.get(key);
      if (!pod) throw new RangeError(`no bench pod ${key}`);
      kube.controls.deleteObject(`/api/v1/namespaces/${NAMESPACE}/pods/${name}`);
      pod.deletedAt = Date.now();
      return pod;
    },
    async stop() {
      observer.stop();
      await emulators.stop();
    },
  };
}
