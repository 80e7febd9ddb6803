/**
 * The narrow cloud interface the reconciler talks to. The Azure implementation lives in
 * `azure-provider.ts`; tests may use the real one against the Azure emulator.
 */

/** Kind of ARM resource that holds user-assigned identities for a node. */
export type TargetKind = 'vmss' | 'vm';

/** A VM scale set (uniform: identities on the scale-set model) or a single VM (standalone or flex). */
export interface Target {
  kind: TargetKind;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

/** Canonical, case-insensitive key of a target, e.g. `vmss:sub/rg/name` (lower-cased). */
export function targetKey(t: Target): string {
  return `${t.kind}:${t.subscriptionId}/${t.resourceGroup}/${t.name}`.toLowerCase();
}

/** Human-readable ARM path of a target (for logs and events). */
export function targetArmId(t: Target): string {
  const type = t.kind === 'vmss' ? 'virtualMachineScaleSets' : 'virtualMachines';
  return `/subscriptions/${t.subscriptionId}/resourceGroups/${t.resourceGroup}/providers/Microsoft.Compute/${type}/${t.name}`;
}

/** What ARM says about a target's identities. */
export interface TargetIdentities {
  /** Lower-cased canonical user-assigned identity resource IDs present on the target. */
  userAssigned: Set<string>;
  /** Identity `type` as ARM reported it (e.g. `SystemAssigned, UserAssigned`), or '' if absent. */
  type: string;
  /** `provisioningState` of the VM/VMSS, if reported. */
  provisioningState?: string;
  /** ARM `etag` of the VM/VMSS as of this read (or of the LRO's final state); undefined if ARM sent none. */
  etag?: string;
  /** Client ID (lower-cased) ARM reports per user-assigned identity, keyed by canonical identity ID. */
  clientIds?: ReadonlyMap<string, string>;
}

/** Options of one identity update. */
export interface UpdateOptions {
  signal?: AbortSignal;
  /** Called right before each PATCH chunk is sent (and before any retry); throw to stop (e.g. not leader). */
  beforeWrite?: () => void;
  /**
   * Called after a PATCH chunk landed when more chunks follow (a change of more than 150 identities),
   * with the target's state as that chunk's LRO reported it (identities and etag). Not called when
   * ARM's answer carried no identity block (the state would be inferred, not confirmed).
   */
  onProgress?: (state: TargetIdentities) => void;
}

/** Result of an identity update on one target. */
export interface UpdateResult {
  /** Identities on the target after the update (as returned by ARM, with its etag and client IDs). */
  after: TargetIdentities;
  /** Number of ARM write requests issued (PATCH chunks). */
  writes: number;
}

/** The cloud operations the controller needs. */
export interface CloudProvider {
  /** Reads the current identities of a target. */
  getIdentities(target: Target, signal?: AbortSignal): Promise<TargetIdentities>;
  /**
   * Lists every VMSS (or VM) of one resource group with its identities, etag and client IDs, in one
   * ARM LIST (all pages): the periodic drift check of a whole group costs one call instead of one GET
   * per target. Keyed by {@link targetKey}. A target absent from the answer is not proof that it is
   * gone (callers GET it). Optional: without it the controller reads each target with a GET.
   */
  listIdentities?(subscriptionId: string, resourceGroup: string, kind: TargetKind, signal?: AbortSignal): Promise<Map<string, TargetIdentities>>;
  /**
   * Adds and removes user-assigned identities (lower-cased canonical IDs) on a target with PATCH
   * deltas, at most 150 per request, each conditioned on an etag (`If-Match`): the first on
   * `current.etag`, each later one on the etag of the previous chunk's final state. Without a known
   * etag (no `current`, or ARM sent none) the provider reads the target first and plans from that read;
   * the identity `type` sent is always derived from the state the request is conditioned on. ARM
   * answering 412 throws `PreconditionFailedError` (no retry inside). An `AbortSignal` in place of the
   * options is accepted for callers not yet migrated.
   */
  updateIdentities(
    target: Target,
    add: readonly string[],
    remove: readonly string[],
    current?: TargetIdentities,
    options?: UpdateOptions | AbortSignal,
  ): Promise<UpdateResult>;
}
