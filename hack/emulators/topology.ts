/**
 * A cluster topology for the emulators: Azure VMSS/VMs/identities plus the matching Kubernetes
 * Node objects (with `spec.providerID` pointing at the Azure resources).
 */
import type { AzureEmulator } from './azure/index.js';
import { vmProviderId, vmssInstanceProviderId } from './azure/resource-ids.js';

/** One VM scale set and the nodes (instances) in it. */
export interface TopologyVmss {
  name: string;
  /** Node names; uniform: instance IDs 0..n-1 in this order; flexible: VM names. */
  nodes: string[];
  orchestration?: 'Uniform' | 'Flexible';
  systemAssigned?: boolean;
  /** Identity names (from `identities`) already assigned to the scale set. */
  identities?: string[];
}

/** One standalone VM (its name is the node name). */
export interface TopologyVm {
  name: string;
  systemAssigned?: boolean;
  identities?: string[];
}

/** One user-assigned identity. */
export interface TopologyIdentity {
  name: string;
  clientId?: string;
  principalId?: string;
  /** Caller holds Managed Identity Operator on it (default true). */
  assignable?: boolean;
}

/** The whole emulated cluster. */
export interface Topology {
  subscription: string;
  resourceGroup: string;
  vmss: TopologyVmss[];
  vms: TopologyVm[];
  identities: TopologyIdentity[];
  /** Kubelet identity: created and assigned to every VMSS and VM. */
  kubeletIdentity?: TopologyIdentity;
}

/** Where Kubernetes objects are written (the kube emulator's controls). */
export interface KubeObjectSink {
  controls: { putObject(obj: Record<string, unknown>): unknown };
}

/** A Kubernetes Node produced by {@link applyTopology}. */
export interface TopologyNode {
  name: string;
  providerID: string;
}

/** 3 nodes in `aks-nodepool1-12345678-vmss`, one standalone VM, two identities, a kubelet identity on the VMSS. */
export function defaultTopology(): Topology {
  const vmss = 'aks-nodepool1-12345678-vmss';
  return {
    subscription: '00000000-0000-0000-0000-00000000c0de',
    resourceGroup: 'MC_rg_cluster_eastus',
    vmss: [{ name: vmss, nodes: [0, 1, 2].map((i) => `${vmss}${String(i).padStart(6, '0')}`) }],
    vms: [{ name: 'aks-standalone-12345678-0' }],
    identities: [{ name: 'identity-1' }, { name: 'identity-2' }],
    kubeletIdentity: { name: 'aks-cluster-agentpool', clientId: '11111111-1111-1111-1111-111111111111' },
  };
}

function nodeObject(node: TopologyNode, labels: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: { 'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux', ...labels } },
    spec: { providerID: node.providerID },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/**
 * Creates the topology's Azure resources and (when `kube` is given) its Node objects.
 * Returns the identity resource IDs by name and the nodes created.
 */
export async function applyTopology(
  azure: Pick<AzureEmulator, 'controls'>,
  kube: KubeObjectSink | undefined,
  topo: Topology,
): Promise<{ identities: Record<string, string>; nodes: TopologyNode[] }> {
  const { subscription: sub, resourceGroup: rg } = topo;
  const identities: Record<string, string> = {};
  for (const identity of [...topo.identities, ...(topo.kubeletIdentity ? [topo.kubeletIdentity] : [])]) {
    const opts: { clientId?: string; principalId?: string; assignable?: boolean } = {};
    if (identity.clientId) opts.clientId = identity.clientId;
    if (identity.principalId) opts.principalId = identity.principalId;
    if (identity.assignable !== undefined) opts.assignable = identity.assignable;
    identities[identity.name] = azure.controls.addIdentity(sub, rg, identity.name, opts);
  }
  const idsOf = (names: string[] | undefined): string[] => {
    const out = (names ?? []).map((n) => {
      const found = identities[n];
      if (!found) throw new RangeError(`topology names unknown identity ${n}`);
      return found;
    });
    const kubelet = topo.kubeletIdentity ? identities[topo.kubeletIdentity.name] : undefined;
    return kubelet ? [kubelet, ...out] : out;
  };

  const nodes: TopologyNode[] = [];
  const agentpool = (name: string): Record<string, string> => ({ agentpool: name.replace(/-vmss$/, '').split('-')[1] ?? name });
  for (const ss of topo.vmss) {
    const flexible = ss.orchestration === 'Flexible';
    azure.controls.addVmss(sub, rg, ss.name, {
      orchestration: ss.orchestration ?? 'Uniform',
      systemAssigned: ss.systemAssigned ?? false,
      identities: idsOf(ss.identities),
      instances: flexible ? 0 : ss.nodes.length,
    });
    ss.nodes.forEach((name, i) => {
      if (flexible) {
        azure.controls.addVm(sub, rg, name, { vmssFlex: ss.name, identities: idsOf(ss.identities) });
        nodes.push({ name, providerID: vmProviderId(sub, rg, name) });
      } else {
        nodes.push({ name, providerID: vmssInstanceProviderId(sub, rg, ss.name, i) });
      }
    });
    if (kube) for (const node of nodes.slice(-ss.nodes.length)) await kube.controls.putObject(nodeObject(node, agentpool(ss.name)));
  }
  for (const vm of topo.vms) {
    azure.controls.addVm(sub, rg, vm.name, { systemAssigned: vm.systemAssigned ?? false, identities: idsOf(vm.identities) });
    const node = { name: vm.name, providerID: vmProviderId(sub, rg, vm.name) };
    nodes.push(node);
    if (kube) await kube.controls.putObject(nodeObject(node, {}));
  }
  return { identities, nodes };
}
