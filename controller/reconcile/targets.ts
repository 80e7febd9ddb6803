/**
 * Node → ARM target resolution and the per-target identity delta. Pure.
 */
import { parseProviderId } from '../api/provider-id.js';
import type { NodeInfo } from '../api/types.js';
import { targetKey, type Target } from '../cloud/provider.js';

/** Subscription and resource group from azure.json, used for nodes without a providerID. */
export interface DefaultLocation {
  subscriptionId: string;
  resourceGroup: string;
}

/** Outcome of resolving a node to the VM/VMSS that holds its identities. */
export type NodeResolution =
  | { ok: true; target: Target; key: string }
  | { ok: false; reason: 'NodeNotFound' | 'UnsupportedNode'; message: string };

/**
 * Resolves a node to its target from `spec.providerID`: a VMSS uniform instance maps to the scale set,
 * a standalone or flex VM to the VM. An empty providerID falls back (as upstream) to a VM named after
 * the node in the configured subscription and resource group.
 */
export function resolveNodeTarget(nodeName: string, node: NodeInfo | undefined, defaults: DefaultLocation): NodeResolution {
  if (!node) return { ok: false, reason: 'NodeNotFound', message: `node ${nodeName} not found` };
  if (!node.providerID) {
    const target: Target = { kind: 'vm', subscriptionId: defaults.subscriptionId, resourceGroup: defaults.resourceGroup, name: nodeName };
    return { ok: true, target, key: targetKey(target) };
  }
  try {
    const { target } = parseProviderId(node.providerID);
    return { ok: true, target, key: targetKey(target) };
  } catch (err) {
    return {
      ok: false,
      reason: 'UnsupportedNode',
      message: `node ${nodeName} has providerID ${JSON.stringify(node.providerID)} that is not an Azure VM or VMSS instance: ${(err as Error).message}`,
    };
  }
}

/** What the controller knows about one target besides its desired identities. */
export interface TargetState {
  /** The target with its original casing, when known. */
  target?: Target;
  /** Identities on the target as last observed (canonical IDs); undefined when unknown. */
  observed?: ReadonlySet<string>;
  /** When ARM last confirmed `observed` (a read or a write's answer), on the controller's clock. */
  confirmedAt?: number;
  /** Identities a write in flight (or about to be sent) removes: not reported present meanwhile. */
  removing?: ReadonlySet<string>;
  /** Identities this controller added (durable ownership record). */
  owned: ReadonlySet<string>;
  /**
   * False until this leadership term's first contact with the target: identities of existing
   * `Assigned`/`Created` AAIs that ARM shows present are adopted then, so those AAIs wait for it.
   * Undefined counts as adopted.
   */
  adopted?: boolean;
  /** Identities ARM rejected recently; not retried until their backoff ends. */
  quarantined: ReadonlySet<string>;
  /** When each owned identity stopped being desired (for the unassign grace period). */
  undesiredSince: ReadonlyMap<string, number>;
}

/** The write a target needs now, and what is being held back. */
export interface TargetDelta {
  add: string[];
  remove: string[];
  /** Owned, undesired identities kept for the grace period; with the time the earliest one expires. */
  graceHeld: string[];
  graceExpiresAt?: number;
  /** Desired identities not added because they are quarantined. */
  quarantined: string[];
}

/**
 * The delta for a target: add what is desired but not present (unless quarantined); remove what this
 * controller owns, is present, is no longer desired, is not protected and whose grace period is over.
 * Identities not owned (present before, or added by someone else) are never removed.
 */
export function computeTargetDelta(
  desired: ReadonlySet<string>,
  protectedIds: ReadonlySet<string>,
  state: TargetState,
  now: number,
  graceMs: number,
): TargetDelta {
  const observed = state.observed ?? new Set<string>();
  const add: string[] = [];
  const quarantined: string[] = [];
  for (const id of desired) {
    if (observed.has(id)) continue;
    if (state.quarantined.has(id)) quarantined.push(id);
    else add.push(id);
  }
  const remove: string[] = [];
  const graceHeld: string[] = [];
  let graceExpiresAt: number | undefined;
  for (const id of state.owned) {
    if (desired.has(id) || protectedIds.has(id) || !observed.has(id)) continue;
    const since = state.undesiredSince.get(id) ?? now;
    const expires = since + graceMs;
    if (graceMs > 0 && expires > now) {
      graceHeld.push(id);
      graceExpiresAt = graceExpiresAt === undefined ? expires : Math.min(graceExpiresAt, expires);
    } else {
      remove.push(id);
    }
  }
  add.sort();
  remove.sort();
  return { add, remove, graceHeld, graceExpiresAt, quarantined };
}
