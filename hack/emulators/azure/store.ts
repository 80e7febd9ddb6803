/**
 * In-memory ARM state: VM scale sets (with uniform instances), VMs and user-assigned identities,
 * plus the log of identity changes on VMs/VMSS. IDs are matched case-insensitively.
 */
import { randomUUID } from 'node:crypto';
import { identityTypeOf, type IdentityState } from './identity-patch.js';
import { identityId, vmId, vmssId } from './resource-ids.js';

/** A user-assigned managed identity (`Microsoft.ManagedIdentity/userAssignedIdentities`). */
export interface UserIdentity {
  id: string;
  subscription: string;
  resourceGroup: string;
  name: string;
  clientId: string;
  principalId: string;
  tenantId: string;
  /** Whether the caller holds Managed Identity Operator on it (may assign it). */
  assignable: boolean;
}

/** A VMSS or VM. */
export interface ComputeResource {
  kind: 'vmss' | 'vm';
  id: string;
  subscription: string;
  resourceGroup: string;
  name: string;
  location: string;
  /** VMSS only. */
  orchestrationMode?: 'Uniform' | 'Flexible';
  /** VMSS (uniform) only: instance IDs. */
  instances: string[];
  /** VM only: the flexible VMSS it belongs to. */
  vmssFlexId?: string;
  /** System-assigned identity, when enabled. */
  system?: { principalId: string; tenantId: string };
  /** Lower-cased user-assigned identity IDs. */
  userAssigned: string[];
  provisioningState: 'Succeeded' | 'Updating' | 'Failed';
  uniqueId: string;
  /** Version behind the ARM `etag`; bumped by every successful write, through ARM or a control. */
  etagVersion: number;
}

/** The ARM `etag` of a VM/VMSS (a quoted integer, as Compute reports it). */
export function etagOf(resource: ComputeResource): string {
  return `"${resource.etagVersion}"`;
}

/** Marks a VM/VMSS as written (its `etag` changes). */
export function touch(resource: ComputeResource): void {
  resource.etagVersion += 1;
}

/** One identity added to or removed from a VM/VMSS. */
export interface IdentityChange {
  /** Real wall-clock ms. */
  at: number;
  resource: string;
  identity: string;
  op: 'add' | 'remove';
  /** `arm-client` (through the REST API) or `backdoor:<by>` (a test control). */
  by: string;
  /** `User-Agent` of the REST write that made the change (which client wrote it). */
  agent?: string;
}

/** One applied identity write on a VM/VMSS (REST operation or control), with the state around it. */
export interface IdentityWrite {
  /** Real wall-clock ms. */
  at: number;
  resource: string;
  /** As {@link IdentityChange.by}. */
  by: string;
  agent?: string;
  /** The `identity` block the client sent (REST writes only). */
  request?: unknown;
  before: IdentityState;
  after: IdentityState;
}

/** Who made an identity write: `by` plus, for REST writes, the client's `User-Agent` and request. */
export interface Writer {
  by: string;
  agent?: string;
  request?: unknown;
}

/** The ARM state. */
export class AzureStore {
  readonly tenantId: string;
  readonly location = 'eastus';
  readonly #resources = new Map<string, ComputeResource>();
  readonly #identities = new Map<string, UserIdentity>();
  readonly #changes: IdentityChange[] = [];
  readonly #writes: IdentityWrite[] = [];
  /** Lower-cased `sub/rg` of every resource group something was ever created in (never removed). */
  readonly #resourceGroups = new Set<string>();

  constructor(tenantId: string) {
    this.tenantId = tenantId;
  }

  /** Adds (or replaces) a VMSS. */
  addVmss(
    sub: string,
    rg: string,
    name: string,
    opts: { orchestration?: 'Uniform' | 'Flexible'; systemAssigned?: boolean; identities?: string[]; instances?: number } = {},
  ): ComputeResource {
    const resource: ComputeResource = {
      kind: 'vmss',
      id: vmssId(sub, rg, name),
      subscription: sub,
      resourceGroup: rg,
      name,
      location: this.location,
      orchestrationMode: opts.orchestration ?? 'Uniform',
      instances: Array.from({ length: opts.instances ?? 0 }, (_, i) => String(i)),
      userAssigned: unique(opts.identities ?? []),
      provisioningState: 'Succeeded',
      uniqueId: randomUUID(),
      etagVersion: 1,
      ...(opts.systemAssigned ? { system: this.#newSystemIdentity() } : {}),
    };
    this.#resources.set(resource.id.toLowerCase(), resource);
    this.addResourceGroup(sub, rg);
    return resource;
  }

  /** Adds (or replaces) a VM; `vmssFlex` names a flexible VMSS in the same resource group. */
  addVm(sub: string, rg: string, name: string, opts: { systemAssigned?: boolean; identities?: string[]; vmssFlex?: string } = {}): ComputeResource {
    const resource: ComputeResource = {
      kind: 'vm',
      id: vmId(sub, rg, name),
      subscription: sub,
      resourceGroup: rg,
      name,
      location: this.location,
      instances: [],
      userAssigned: unique(opts.identities ?? []),
      provisioningState: 'Succeeded',
      uniqueId: randomUUID(),
      etagVersion: 1,
      ...(opts.vmssFlex ? { vmssFlexId: vmssId(sub, rg, opts.vmssFlex) } : {}),
      ...(opts.systemAssigned ? { system: this.#newSystemIdentity() } : {}),
    };
    this.#resources.set(resource.id.toLowerCase(), resource);
    this.addResourceGroup(sub, rg);
    return resource;
  }

  /** Adds (or replaces) a user-assigned identity; returns its resource ID. */
  addIdentity(sub: string, rg: string, name: string, opts: { clientId?: string; principalId?: string; assignable?: boolean } = {}): string {
    const identity: UserIdentity = {
      id: identityId(sub, rg, name),
      subscription: sub,
      resourceGroup: rg,
      name,
      clientId: opts.clientId ?? randomUUID(),
      principalId: opts.principalId ?? randomUUID(),
      tenantId: this.tenantId,
      assignable: opts.assignable ?? true,
    };
    this.#identities.set(identity.id.toLowerCase(), identity);
    this.addResourceGroup(sub, rg);
    return identity.id;
  }

  /** Creates a resource group (also done implicitly by every `add*`). */
  addResourceGroup(sub: string, rg: string): void {
    this.#resourceGroups.add(`${sub}/${rg}`.toLowerCase());
  }

  /** Whether a resource group exists. */
  hasResourceGroup(sub: string, rg: string): boolean {
    return this.#resourceGroups.has(`${sub}/${rg}`.toLowerCase());
  }

  /** Deletes an identity; VMs/VMSS that still reference it keep a dangling entry, as in Azure. */
  removeIdentity(id: string): boolean {
    return this.#identities.delete(id.toLowerCase());
  }

  /** Looks an identity up by resource ID (any casing). */
  identity(id: string): UserIdentity | undefined {
    return this.#identities.get(id.toLowerCase());
  }

  /** Identity by client ID, object (principal) ID or resource ID. */
  findIdentity(by: { clientId?: string; principalId?: string; resourceId?: string }): UserIdentity | undefined {
    if (by.resourceId) return this.identity(by.resourceId);
    for (const identity of this.#identities.values()) {
      if (by.clientId && identity.clientId.toLowerCase() === by.clientId.toLowerCase()) return identity;
      if (by.principalId && identity.principalId.toLowerCase() === by.principalId.toLowerCase()) return identity;
    }
    return undefined;
  }

  /** All identities, optionally filtered by subscription and resource group. */
  identities(sub?: string, rg?: string): UserIdentity[] {
    return [...this.#identities.values()].filter(
      (i) => (!sub || i.subscription.toLowerCase() === sub.toLowerCase()) && (!rg || i.resourceGroup.toLowerCase() === rg.toLowerCase()),
    );
  }

  /** Looks a VM/VMSS up by ARM ID (any casing; a trailing `/virtualMachines/<i>` of a VMSS is ignored). */
  resource(armId: string): ComputeResource | undefined {
    const key = armId.toLowerCase().replace(/^azure:\/\//, '').replace(/\/+$/, '');
    const direct = this.#resources.get(key);
    if (direct) return direct;
    const vmss = /^(.*\/virtualmachinescalesets\/[^/]+)\/virtualmachines\/[^/]+$/.exec(key);
    return vmss ? this.#resources.get(vmss[1] ?? '') : undefined;
  }

  /** Every VM/VMSS. */
  resources(): ComputeResource[] {
    return [...this.#resources.values()];
  }

  /** The identity facts of a resource. */
  identityState(resource: ComputeResource): IdentityState {
    return { systemAssigned: resource.system !== undefined, userAssigned: [...resource.userAssigned] };
  }

  /**
   * Replaces a resource's identities, records the write and the differences in the change logs and
   * bumps the resource's `etag` (every write counts, even one that changes nothing, as in ARM).
   */
  setIdentityState(resource: ComputeResource, next: IdentityState, writer: string | Writer, at: number): void {
    const { by, agent, request } = typeof writer === 'string' ? { by: writer } as Writer : writer;
    const attribution = agent !== undefined ? { by, agent } : { by };
    const before = new Set(resource.userAssigned);
    const after = unique(next.userAssigned);
    const afterSet = new Set(after);
    this.#writes.push({
      at, resource: resource.id, ...attribution, ...(request !== undefined ? { request } : {}),
      before: this.identityState(resource), after: { systemAssigned: next.systemAssigned, userAssigned: [...after] },
    });
    for (const id of after) if (!before.has(id)) this.#changes.push({ at, resource: resource.id, identity: id, op: 'add', ...attribution });
    for (const id of before) if (!afterSet.has(id)) this.#changes.push({ at, resource: resource.id, identity: id, op: 'remove', ...attribution });
    resource.userAssigned = after;
    if (next.systemAssigned && !resource.system) resource.system = this.#newSystemIdentity();
    if (!next.systemAssigned) delete resource.system;
    touch(resource);
  }

  /** The identity change log, optionally for one VM/VMSS. */
  changes(armId?: string): IdentityChange[] {
    const target = armId ? this.resource(armId) : undefined;
    if (armId && !target) return [];
    return this.#changes.filter((c) => !target || c.resource === target.id).map((c) => ({ ...c }));
  }

  /** The identity write log from index `from` on (state before and after each write), optionally for one VM/VMSS. */
  writes(armId?: string, from = 0): IdentityWrite[] {
    const target = armId ? this.resource(armId) : undefined;
    if (armId && !target) return [];
    return this.#writes.slice(from).filter((w) => !target || w.resource === target.id).map((w) => structuredClone(w));
  }

  /** `{ type, userAssigned }` of a resource (lower-cased IDs). */
  summary(resource: ComputeResource): { type: string; userAssigned: string[] } {
    return { type: identityTypeOf(this.identityState(resource)), userAssigned: [...resource.userAssigned] };
  }

  #newSystemIdentity(): { principalId: string; tenantId: string } {
    return { principalId: randomUUID(), tenantId: this.tenantId };
  }
}

function unique(ids: string[]): string[] {
  return [...new Set(ids.map((id) => id.toLowerCase()))];
}
