/**
 * Node `spec.providerID` → the ARM resource (VMSS or VM) that holds the node's identities.
 */
import type { Target } from '../cloud/provider.js';
import { InvalidProviderIdError } from './errors.js';

/** What a provider ID names. */
export interface ProviderTarget {
  /** The VMSS (uniform instance) or VM (standalone or VMSS-flex instance) to assign identities on. */
  target: Target;
  /** VMSS instance ID (uniform scale sets only). */
  instanceId?: string;
  /** VM name (VM targets only; equals `target.name`). */
  vmName?: string;
}

const SCHEME = 'azure://';
const SEGMENT = String.raw`[\p{L}\p{N}_.()\-]+`;
const PREFIX = String.raw`^/subscriptions/(${SEGMENT})/resourcegroups/(${SEGMENT})/providers/microsoft\.compute/`;

const VMSS_INSTANCE = new RegExp(
  `${PREFIX}virtualmachinescalesets/(${SEGMENT})/virtualmachines/(${SEGMENT})$`,
  'iu',
);
const VIRTUAL_MACHINE = new RegExp(`${PREFIX}virtualmachines/(${SEGMENT})$`, 'iu');

/** `.` and `..` are path-traversal segments, never names. */
function hasTraversal(segments: readonly string[]): boolean {
  return segments.some((s) => s === '.' || s === '..');
}

/**
 * Parses `azure:///subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/...`:
 * `virtualMachineScaleSets/<ss>/virtualMachines/<id>` gives a `vmss` target plus `instanceId`;
 * `virtualMachines/<name>` gives a `vm` target plus `vmName`. Segment names are case-insensitive;
 * names keep their casing. Throws {@link InvalidProviderIdError} with code `empty`, `not-azure`
 * (another scheme, e.g. a virtual node) or `malformed`.
 */
export function parseProviderId(providerID: string): ProviderTarget {
  if (providerID.trim() === '') throw new InvalidProviderIdError('empty', providerID);
  if (!providerID.toLowerCase().startsWith(SCHEME)) throw new InvalidProviderIdError('not-azure', providerID);
  const path = providerID.slice(SCHEME.length);

  const vmss = VMSS_INSTANCE.exec(path);
  if (vmss) {
    const [, subscriptionId = '', resourceGroup = '', name = '', instanceId = ''] = vmss;
    if (hasTraversal([subscriptionId, resourceGroup, name, instanceId])) {
      throw new InvalidProviderIdError('malformed', providerID);
    }
    return { target: { kind: 'vmss', subscriptionId, resourceGroup, name }, instanceId };
  }

  const vm = VIRTUAL_MACHINE.exec(path);
  if (vm) {
    const [, subscriptionId = '', resourceGroup = '', name = ''] = vm;
    if (hasTraversal([subscriptionId, resourceGroup, name])) throw new InvalidProviderIdError('malformed', providerID);
    return { target: { kind: 'vm', subscriptionId, resourceGroup, name }, vmName: name };
  }

  throw new InvalidProviderIdError('malformed', providerID);
}
