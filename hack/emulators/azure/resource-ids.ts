/** Builders for the ARM resource IDs the emulator serves (canonical casing as Azure returns them). */

/** `/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachineScaleSets/<name>` */
export function vmssId(sub: string, rg: string, name: string): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`;
}

/** `/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<name>` */
export function vmId(sub: string, rg: string, name: string): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;
}

/** User-assigned identity ID; Azure reports the resource group segment lower-cased (`resourcegroups`). */
export function identityId(sub: string, rg: string, name: string): string {
  return `/subscriptions/${sub}/resourcegroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

/** Node `spec.providerID` of a uniform VMSS instance. */
export function vmssInstanceProviderId(sub: string, rg: string, vmss: string, instanceId: string | number): string {
  return `azure://${vmssId(sub, rg, vmss)}/virtualMachines/${instanceId}`;
}

/** Node `spec.providerID` of a standalone or flexible-orchestration VM. */
export function vmProviderId(sub: string, rg: string, name: string): string {
  return `azure://${vmId(sub, rg, name)}`;
}
