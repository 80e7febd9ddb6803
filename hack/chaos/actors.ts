/**
 * Out-of-band writers of VM/VMSS identities, acting through ARM REST on the Azure emulator the way
 * the real ones do: an Azure Policy (`DeployIfNotExists`) that enables or disables the system-assigned
 * identity, an AKS add-on that adds and removes its own user-assigned identity, an AKS upgrade that
 * drops user-assigned identities from a scale set, and a human running `az vmss identity remove` on an
 * identity the controller assigned. Each one reads the resource, recomputes the identity `type` from
 * that read (as `az` does) and PATCHes a delta, with `If-Match` when the read carried an etag; 409,
 * 412, 429, 5xx and dropped connections are retried after a fresh read. Every actor has its own
 * `User-Agent`, so the emulator's audit attributes its writes (see writers.ts).
 */
import { ComputeManagementClient, type VirtualMachineScaleSetUpdate, type VirtualMachineUpdate } from '@azure/arm-compute';
import { ClientSecretCredential } from '@azure/identity';
import type { AzureEmulator } from '../emulators/azure/index.js';
import { Prng } from './prng.js';
import { ACTOR_AGENTS, ACTOR_KINDS, type ActorKind } from './writers.js';

export { ACTOR_KINDS, type ActorKind } from './writers.js';

/** A VM or VMSS an actor may act on. */
export interface ActorTarget {
  kind: 'vmss' | 'vm';
  name: string;
  /** Lower-cased ARM ID. */
  id: string;
}

/** Options of {@link OutOfBandActors}. */
export interface OutOfBandActorsOptions {
  azure: AzureEmulator;
  subscriptionId: string;
  resourceGroup: string;
  /** Resource ID of the add-on's own user-assigned identity. */
  addonIdentity: string;
  /** Lower-cased identities AKS keeps through an upgrade (the kubelet identity, the add-on's). */
  aksManaged: ReadonlySet<string>;
  /** Lower-cased identities the controller owns on a target now (what the human may remove). */
  controllerOwned: (targetId: string) => string[];
  /** Attempts of one action before it gives up (default 10). */
  attempts?: number;
}

/** How one action ended. */
export type ActorOutcome = 'written' | 'nothing-to-do' | 'gave-up';

/** One finished action (for the report and for violation evidence). */
export interface ActorRecord {
  actor: ActorKind;
  target: string;
  /** What it did, e.g. `system on`, `add addon`, `drop 3 (some)`, `remove managed-2`. */
  what: string;
  outcome: ActorOutcome;
  /** Retried failures by HTTP status (0 = no answer). */
  retries: Record<number, number>;
  startedAt: number;
  endedAt: number;
}

interface Identity {
  type?: string;
  userAssignedIdentities?: Record<string, unknown>;
}

/** A planned PATCH: the `identity` block and a description; undefined = nothing to do. */
type Plan = { identity: { type: string; userAssignedIdentities?: Record<string, Record<string, never> | null> }; what: string } | undefined;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** See module comment. At most one action per actor is in flight at a time. */
export class OutOfBandActors {
  readonly records: ActorRecord[] = [];
  readonly #o: OutOfBandActorsOptions;
  readonly #clients = new Map<ActorKind, ComputeManagementClient>();
  readonly #inFlight = new Map<ActorKind, Promise<void>>();

  constructor(o: OutOfBandActorsOptions) {
    this.#o = o;
    const credential = new ClientSecretCredential(o.azure.tenantId, o.azure.clientId, o.azure.clientSecret, {
      authorityHost: o.azure.armUrl,
      disableInstanceDiscovery: true,
    });
    for (const kind of ACTOR_KINDS) {
      this.#clients.set(kind, new ComputeManagementClient(credential, o.subscriptionId, {
        endpoint: o.azure.armUrl,
        credentials: { scopes: ['https://management.azure.com/.default'] },
        retryOptions: { maxRetries: 0 },
        userAgentOptions: { userAgentPrefix: ACTOR_AGENTS[kind] },
      }));
    }
  }

  /** Whether an action of `kind` is still running. */
  busy(kind: ActorKind): boolean {
    return this.#inFlight.has(kind);
  }

  /**
   * Starts one action of `kind` on `target` in the background (it runs concurrently with the
   * controller, as a real other writer would). `seed` drives its own choices so runs replay.
   * Returns false when that actor is still busy.
   */
  start(kind: ActorKind, target: ActorTarget, seed: number): boolean {
    if (this.#inFlight.has(kind)) return false;
    const run = this.#act(kind, target, new Prng(seed)).finally(() => this.#inFlight.delete(kind));
    this.#inFlight.set(kind, run);
    return true;
  }

  /** Waits for every running action. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  async #act(kind: ActorKind, target: ActorTarget, rnd: Prng): Promise<void> {
    const record: ActorRecord = { actor: kind, target: target.id, what: '', outcome: 'gave-up', retries: {}, startedAt: Date.now(), endedAt: 0 };
    const client = this.#clients.get(kind)!;
    // Choices independent of the state read, drawn up front.
    const enable = rnd.chance(0.5);
    const dropAll = rnd.chance(0.4);
    const pickSeed = rnd.int(2 ** 31);
    for (let attempt = 0; attempt < (this.#o.attempts ?? 10); attempt++) {
      let status: number;
      let retryAfterMs: number;
      try {
        const read = target.kind === 'vmss'
          ? await client.virtualMachineScaleSets.get(this.#o.resourceGroup, target.name)
          : await client.virtualMachines.get(this.#o.resourceGroup, target.name);
        const plan = this.#plan(kind, target, (read as { identity?: Identity }).identity, { enable, dropAll, pick: new Prng(pickSeed) });
        if (!plan) {
          record.outcome = 'nothing-to-do';
          record.what ||= 'nothing';
          break;
        }
        record.what = plan.what;
        const etag = (read as { etag?: string }).etag;
        const options = { updateIntervalInMs: 50, ...(etag ? { ifMatch: etag } : {}) };
        const parameters = { identity: plan.identity } as unknown as VirtualMachineScaleSetUpdate & VirtualMachineUpdate;
        if (target.kind === 'vmss') await client.virtualMachineScaleSets.update(this.#o.resourceGroup, target.name, parameters, options);
        else await client.virtualMachines.update(this.#o.resourceGroup, target.name, parameters, options);
        record.outcome = 'written';
        break;
      } catch (e) {
        const err = e as { statusCode?: number; response?: { headers?: { get?(name: string): string | undefined } } };
        status = err.statusCode ?? 0;
        retryAfterMs = Number(err.response?.headers?.get?.('retry-after') ?? 0) * 1000;
      }
      record.retries[status] = (record.retries[status] ?? 0) + 1;
      await pause(Math.min(15_000, Math.max(retryAfterMs, 100 * 2 ** attempt)));
    }
    record.endedAt = Date.now();
    this.records.push(record);
  }

  /** What `kind` sends given the identity block it just read (type recomputed from that read). */
  #plan(kind: ActorKind, target: ActorTarget, identity: Identity | undefined, c: { enable: boolean; dropAll: boolean; pick: Prng }): Plan {
    const system = (identity?.type ?? '').toLowerCase().split(',').some((p) => p.trim() === 'systemassigned');
    const user = Object.keys(identity?.userAssignedIdentities ?? {}).map((id) => id.toLowerCase());
    const typeFor = (sys: boolean, userRemains: boolean): string =>
      userRemains ? (sys ? 'SystemAssigned, UserAssigned' : 'UserAssigned') : sys ? 'SystemAssigned' : 'None';
    switch (kind) {
      case 'policy': {
        // DeployIfNotExists: enable (or, as a remediation of the opposite policy, disable) the system identity.
        if (system === c.enable) return undefined;
        return { identity: { type: typeFor(c.enable, user.length > 0) }, what: `system ${c.enable ? 'on' : 'off'}` };
      }
      case 'addon': {
        const own = this.#o.addonIdentity.toLowerCase();
        const present = user.includes(own);
        const remains = present ? user.length > 1 : true;
        return { identity: { type: typeFor(system, remains), userAssignedIdentities: { [own]: present ? null : {} } }, what: present ? 'remove own' : 'add own' };
      }
      case 'upgrade': {
        const droppable = user.filter((id) => !this.#o.aksManaged.has(id));
        if (droppable.length === 0) return undefined;
        const dropped = c.dropAll ? droppable : droppable.filter(() => c.pick.chance(0.5));
        if (dropped.length === 0) dropped.push(c.pick.pick(droppable)!);
        const map = Object.fromEntries(dropped.map((id) => [id, null]));
        return { identity: { type: typeFor(system, user.length > dropped.length), userAssignedIdentities: map }, what: `drop ${dropped.length}/${droppable.length} (${c.dropAll ? 'all' : 'some'})` };
      }
      case 'human': {
        const owned = this.#o.controllerOwned(target.id).filter((id) => user.includes(id));
        const victim = c.pick.pick(owned.sort());
        if (!victim) return undefined;
        return { identity: { type: typeFor(system, user.length > 1), userAssignedIdentities: { [victim]: null } }, what: `remove ${victim.split('/').pop()}` };
      }
    }
  }
}
