/** Test controls of the Azure emulator (`AzureEmulator.controls`). */
import type { AuditEntry, Counters } from './audit.js';
import type { EmulatorCore } from './core.js';
import type { FailRule } from './faults.js';
import { etagOf, type IdentityChange, type IdentityWrite } from './store.js';

/** Test-side control of the emulated Azure (see the package README). */
export interface AzureControls {
  /** Adds a VM scale set; `instances` creates uniform instances `0..n-1` (GET-able). */
  addVmss(
    sub: string,
    rg: string,
    name: string,
    opts?: { orchestration?: 'Uniform' | 'Flexible'; systemAssigned?: boolean; identities?: string[]; instances?: number },
  ): void;
  /** Adds a VM (standalone, or an instance of the flexible VMSS `vmssFlex`). */
  addVm(sub: string, rg: string, name: string, opts?: { systemAssigned?: boolean; identities?: string[]; vmssFlex?: string }): void;
  /** Adds a user-assigned identity; returns its resource ID. `assignable` (default true): caller holds Managed Identity Operator. */
  addIdentity(sub: string, rg: string, name: string, opts?: { clientId?: string; principalId?: string; assignable?: boolean }): string;
  /** Makes an identity vanish (references on VMs/VMSS stay, dangling). */
  removeIdentity(resourceId: string): void;
  /** Grants or revokes the caller's right to assign an identity. */
  setAssignable(resourceId: string, ok: boolean): void;
  /** Identity `type` and lower-cased user-assigned IDs of a VM/VMSS (by ARM ID or Node providerID). */
  getResourceIdentities(armId: string): { type: string; userAssigned: string[] };
  /** Replaces a VM/VMSS's user-assigned identities behind the controller's back (audited as `backdoor:<by>`). */
  setResourceIdentities(armId: string, ids: string[], by?: string): void;
  /**
   * Enables or disables the system-assigned identity of a VM/VMSS behind the controller's back (as Azure
   * Policy or `az vmss identity assign` would); user-assigned identities are kept. Bumps the etag.
   */
  setSystemAssigned(armId: string, enabled: boolean, by?: string): void;
  /** The current ARM `etag` of a VM/VMSS (quoted, as ARM sends it). */
  getEtag(armId: string): string;
  /** Makes the next matching request(s) fail; see {@link FailRule}. */
  failNext(rule: FailRule): void;
  /** Emulated ms a PATCH takes from now on. */
  setLroLatency(ms: number): void;
  /** Changes the time scale from now on. */
  setTimeScale(x: number): void;
  /** Every request seen (copy). */
  auditLog(): AuditEntry[];
  /** Identity additions/removals on VMs/VMSS, optionally for one resource. */
  identityChanges(armId?: string): IdentityChange[];
  /** Applied identity writes (who, what was sent, state before and after), optionally for one resource, from log index `from` on. */
  identityWrites(armId?: string, from?: number): IdentityWrite[];
  /** Request counters. */
  counters(): Counters;
  /** Clears counters and the audit log only. */
  reset(): void;
  /** Rotates the service principal's secret: token requests with the old one fail from now on. */
  setClientSecret(secret: string): void;
  /** Makes every token issued so far expire now (ARM answers 401 to them). */
  expireTokens(): void;
}

/** Builds the controls over the emulator core. */
export function createControls(core: EmulatorCore): AzureControls {
  const settle = (): void => core.ops.settle(core.clock.now());
  const mustFind = (armId: string) => {
    settle();
    const resource = core.store.resource(armId);
    if (!resource) throw new RangeError(`no VM or VMSS with ID ${armId}`);
    return resource;
  };
  return {
    addVmss: (sub, rg, name, opts) => void core.store.addVmss(sub, rg, name, opts),
    addVm: (sub, rg, name, opts) => void core.store.addVm(sub, rg, name, opts),
    addIdentity: (sub, rg, name, opts) => core.store.addIdentity(sub, rg, name, opts),
    removeIdentity: (resourceId) => {
      if (!core.store.removeIdentity(resourceId)) throw new RangeError(`no identity with ID ${resourceId}`);
    },
    setAssignable: (resourceId, ok) => {
      const identity = core.store.identity(resourceId);
      if (!identity) throw new RangeError(`no identity with ID ${resourceId}`);
      identity.assignable = ok;
    },
    getResourceIdentities: (armId) => core.store.summary(mustFind(armId)),
    setResourceIdentities: (armId, ids, by = 'test') => {
      const resource = mustFind(armId);
      core.store.setIdentityState(
        resource,
        { systemAssigned: resource.system !== undefined, userAssigned: ids.map((id) => id.toLowerCase()) },
        `backdoor:${by}`,
        core.clock.realNow(),
      );
    },
    setSystemAssigned: (armId, enabled, by = 'test') => {
      const resource = mustFind(armId);
      core.store.setIdentityState(resource, { systemAssigned: enabled, userAssigned: [...resource.userAssigned] }, `backdoor:${by}`, core.clock.realNow());
    },
    getEtag: (armId) => etagOf(mustFind(armId)),
    failNext: (rule) => core.faults.add(rule),
    setLroLatency: (ms) => {
      core.settings.lroLatencyMs = Math.max(0, ms);
    },
    setTimeScale: (x) => {
      settle();
      core.clock.setScale(x);
    },
    auditLog: () => core.audit.entries(),
    identityChanges: (armId) => {
      settle();
      return core.store.changes(armId);
    },
    identityWrites: (armId, from) => {
      settle();
      return core.store.writes(armId, from);
    },
    counters: () => core.audit.counters(),
    reset: () => core.audit.reset(),
    setClientSecret: (secret) => {
      core.sp.clientSecret = secret;
    },
    expireTokens: () => core.tokens.expireAll(),
  };
}
