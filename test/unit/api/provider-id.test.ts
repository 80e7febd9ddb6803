import { describe, expect, it } from '@jest/globals';
import { isInvalidProviderIdError, type InvalidProviderIdCode } from '../../../controller/api/errors.js';
import { parseProviderId } from '../../../controller/api/provider-id.js';

const SUB = '00000000-0000-0000-0000-000000000001';
const VMSS = `azure:///subscriptions/${SUB}/resourceGroups/MC_rg_aks_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/3`;
const VM = `azure:///subscriptions/${SUB}/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachines/aks-agentpool-1234-0`;

function codeOf(providerID: string): InvalidProviderIdCode | 'ok' {
  try {
    parseProviderId(providerID);
    return 'ok';
  } catch (e) {
    if (!isInvalidProviderIdError(e)) throw e;
    return e.code;
  }
}

describe('parseProviderId', () => {
  it('parses a uniform VMSS instance into a vmss target with its instance ID', () => {
    expect(parseProviderId(VMSS)).toEqual({
      target: { kind: 'vmss', subscriptionId: SUB, resourceGroup: 'MC_rg_aks_westeurope', name: 'aks-nodepool1-12345678-vmss' },
      instanceId: '3',
    });
  });

  it('parses a standalone or flex VM into a vm target, keeping the name casing', () => {
    expect(parseProviderId(VM)).toEqual({
      target: { kind: 'vm', subscriptionId: SUB, resourceGroup: 'MC_rg', name: 'aks-agentpool-1234-0' },
      vmName: 'aks-agentpool-1234-0',
    });
    expect(parseProviderId(VM.replace('aks-agentpool-1234-0', 'Flex_VM.1')).target.name).toBe('Flex_VM.1');
  });

  it('is case-insensitive on segment names (lower-cased provider IDs exist in the wild)', () => {
    const lowered = VMSS.replace('resourceGroups', 'resourcegroups')
      .replace('Microsoft.Compute', 'microsoft.compute')
      .replace('virtualMachineScaleSets', 'VIRTUALMACHINESCALESETS')
      .replace('/virtualMachines/', '/virtualmachines/');
    expect(parseProviderId(lowered).target).toEqual(parseProviderId(VMSS).target);
    expect(parseProviderId(VMSS.replace('azure://', 'AZURE://')).target.kind).toBe('vmss');
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['aws:///us-east-1a/i-0123456789', 'not-azure'],
    ['kind://docker/kind/kind-control-plane', 'not-azure'],
    ['virtual-kubelet', 'not-azure'],
    ['azure://', 'malformed'],
    ['azure:///subscriptions/s/resourceGroups/rg', 'malformed'],
    [VMSS + '/extra', 'malformed'],
    [VMSS.replace('virtualMachines/3', 'virtualMachines/'), 'malformed'],
    [VM.replace('Microsoft.Compute', 'Microsoft.Network'), 'malformed'],
    [VM.replace('aks-agentpool-1234-0', '..'), 'malformed'],
    [VM.replace('MC_rg', 'MC rg'), 'malformed'],
    [VM.replace('azure:///', 'azure://'), 'malformed'],
  ] as const)('rejects %j with code %s', (providerID, code) => {
    expect(codeOf(providerID)).toBe(code);
  });

  it('error messages name the problem and quote the value', () => {
    expect(() => parseProviderId('aws:///x')).toThrow('invalid provider ID "aws:///x": is not an azure:// provider ID');
  });
});
