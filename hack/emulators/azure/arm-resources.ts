/** JSON shapes of ARM resources as the Compute and Managed Identity providers return them. */
import { identityTypeOf } from './identity-patch.js';
import { etagOf, type AzureStore, type ComputeResource, type UserIdentity } from './store.js';

/** The `identity` block of a VM/VMSS, or undefined when it has none. */
function identityBlock(store: AzureStore, resource: ComputeResource): Record<string, unknown> | undefined {
  const type = identityTypeOf(store.identityState(resource));
  if (type === 'None') return undefined;
  const block: Record<string, unknown> = { type };
  if (resource.system) {
    block.principalId = resource.system.principalId;
    block.tenantId = resource.system.tenantId;
  }
  if (resource.userAssigned.length > 0) {
    const user: Record<string, { principalId: string | null; clientId: string | null }> = {};
    for (const id of resource.userAssigned) {
      const identity = store.identity(id);
      // A deleted identity stays referenced with null IDs, as Azure shows it.
      user[identity?.id ?? id] = { principalId: identity?.principalId ?? null, clientId: identity?.clientId ?? null };
    }
    block.userAssignedIdentities = user;
  }
  return block;
}

/** GET body of a VMSS or VM; `etag` (default true) for api-versions that report it. */
export function computeResourceJson(store: AzureStore, resource: ComputeResource, opts: { etag?: boolean } = {}): Record<string, unknown> {
  const identity = identityBlock(store, resource);
  const common = {
    id: resource.id,
    name: resource.name,
    location: resource.location,
    tags: {},
    ...(opts.etag === false ? {} : { etag: etagOf(resource) }),
    ...(identity ? { identity } : {}),
  };
  if (resource.kind === 'vmss') {
    return {
      ...common,
      type: 'Microsoft.Compute/virtualMachineScaleSets',
      sku: { name: 'Standard_DS2_v2', tier: 'Standard', capacity: resource.instances.length },
      properties: {
        provisioningState: resource.provisioningState,
        orchestrationMode: resource.orchestrationMode ?? 'Uniform',
        uniqueId: resource.uniqueId,
        singlePlacementGroup: false,
        overprovision: false,
        upgradePolicy: { mode: 'Manual' },
      },
    };
  }
  return {
    ...common,
    type: 'Microsoft.Compute/virtualMachines',
    properties: {
      provisioningState: resource.provisioningState,
      vmId: resource.uniqueId,
      hardwareProfile: { vmSize: 'Standard_DS2_v2' },
      ...(resource.vmssFlexId ? { virtualMachineScaleSet: { id: resource.vmssFlexId } } : {}),
    },
  };
}

/** GET body of a uniform VMSS instance. */
export function vmssInstanceJson(vmss: ComputeResource, instanceId: string): Record<string, unknown> {
  return {
    id: `${vmss.id}/virtualMachines/${instanceId}`,
    name: `${vmss.name}_${instanceId}`,
    instanceId,
    type: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
    location: vmss.location,
    properties: {
      provisioningState: 'Succeeded',
      latestModelApplied: true,
      vmId: `${vmss.uniqueId.slice(0, 24)}${instanceId.padStart(12, '0')}`,
      osProfile: { computerName: `${vmss.name}${instanceId.padStart(6, '0')}` },
    },
  };
}

/** GET body of a user-assigned identity. */
export function identityJson(identity: UserIdentity): Record<string, unknown> {
  return {
    id: identity.id,
    name: identity.name,
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
    location: 'eastus',
    tags: {},
    properties: { tenantId: identity.tenantId, principalId: identity.principalId, clientId: identity.clientId, isolationScope: 'None' },
  };
}
