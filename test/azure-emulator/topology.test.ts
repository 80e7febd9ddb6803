/** Topology → Azure resources + Kubernetes Nodes, and the launcher's argument parsing. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAzureEmulator, vmssId, type AzureEmulator } from '../../hack/emulators/azure/index.js';
import { applyTopology, defaultTopology } from '../../hack/emulators/topology.js';
import { parseLaunchArgs } from '../../hack/emulators/launch.js';

describe('applyTopology', () => {
  let emu: AzureEmulator;
  beforeAll(async () => {
    emu = await startAzureEmulator({ throttling: false });
  });
  afterAll(async () => {
    await emu.stop();
  });

  it('creates the default cluster: VMSS nodes, a standalone VM, identities and the kubelet identity', async () => {
    const topo = defaultTopology();
    const objects: Record<string, unknown>[] = [];
    const { identities, nodes } = await applyTopology(emu, { controls: { putObject: (o) => objects.push(o) } }, topo);
    const sub = topo.subscription;
    const rg = topo.resourceGroup;
    expect(nodes.map((n) => n.providerID)).toEqual([
      `azure:///subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0`,
      `azure:///subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/1`,
      `azure:///subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/2`,
      `azure:///subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/aks-standalone-12345678-0`,
    ]);
    expect(objects).toHaveLength(4);
    expect(objects[0]).toMatchObject({ kind: 'Node', metadata: { name: 'aks-nodepool1-12345678-vmss000000' }, spec: { providerID: nodes[0]?.providerID } });
    expect(Object.keys(identities).sort()).toEqual(['aks-cluster-agentpool', 'identity-1', 'identity-2']);
    const kubelet = identities['aks-cluster-agentpool']?.toLowerCase();
    // A node's providerID resolves to its VMSS.
    expect(emu.controls.getResourceIdentities(nodes[1]?.providerID ?? '')).toEqual({ type: 'UserAssigned', userAssigned: [kubelet] });
    expect(emu.controls.getResourceIdentities(vmssId(sub, rg, 'aks-nodepool1-12345678-vmss')).userAssigned).toEqual([kubelet]);
  });

  it('puts flexible-orchestration nodes on their own VMs', async () => {
    const { nodes } = await applyTopology(emu, undefined, {
      subscription: 'flex-sub', resourceGroup: 'rg', vms: [], identities: [{ name: 'x' }],
      vmss: [{ name: 'flex', orchestration: 'Flexible', nodes: ['flex-a', 'flex-b'], identities: ['x'] }],
    });
    expect(nodes[1]?.providerID).toBe('azure:///subscriptions/flex-sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/flex-b');
    expect(emu.controls.getResourceIdentities(nodes[1]?.providerID ?? '').userAssigned).toHaveLength(1);
  });
});

describe('parseLaunchArgs', () => {
  it('reads the flags of make emulators', () => {
    expect(parseLaunchArgs(['--state-dir', '/tmp/s', '--time-scale', '60', '--lro-latency', '500', '--topology', 't.json']))
      .toEqual({ stateDir: '/tmp/s', timeScale: 60, lroLatencyMs: 500, topologyFile: 't.json' });
  });
  it('rejects a missing state dir, unknown flags and bad numbers', () => {
    expect(() => parseLaunchArgs([])).toThrow(RangeError);
    expect(() => parseLaunchArgs(['--state-dir', 'x', '--nope', '1'])).toThrow(RangeError);
    expect(() => parseLaunchArgs(['--state-dir', 'x', '--time-scale', 'fast'])).toThrow(RangeError);
  });
});
