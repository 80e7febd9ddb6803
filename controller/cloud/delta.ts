/**
 * Pure planning of identity PATCH requests for a VM or VM scale set.
 *
 * ARM merges `identity.userAssignedIdentities` as a delta: `{}` adds an identity, `null` removes it,
 * keys not mentioned are left alone. The identity `type` must be sent with every PATCH and decides
 * whether a system-assigned identity survives, so it is derived from the current state.
 */
import type { TargetIdentities } from './provider.js';
import { canonicalIdentityId } from './identity-id.js';

/** ARM accepts at most this many user-assigned identities in one request. */
export const MAX_IDENTITIES_PER_PATCH = 150;

/** Identity `type` values this controller writes. */
export type IdentityTypeValue = 'None' | 'UserAssigned' | 'SystemAssigned' | 'SystemAssigned, UserAssigned';

/** Body of one identity PATCH on a VM or VMSS. `{}` adds an identity, `null` removes it. */
export interface IdentityPatchBody {
  identity: {
    type: IdentityTypeValue;
    userAssignedIdentities?: Record<string, Record<string, never> | null>;
  };
}

/** Whether an identity `type` string (as ARM reported it) includes a system-assigned identity. */
export function hasSystemAssigned(type: string | undefined): boolean {
  return (type ?? '')
    .split(',')
    .some((part) => part.trim().toLowerCase() === 'systemassigned');
}

/** The identity `type` to send, given whether the system identity exists and user identities remain. */
export function identityTypeFor(systemAssigned: boolean, userIdentitiesRemain: boolean): IdentityTypeValue {
  if (userIdentitiesRemain) return systemAssigned ? 'SystemAssigned, UserAssigned' : 'UserAssigned';
  return systemAssigned ? 'SystemAssigned' : 'None';
}

/**
 * Plans the PATCH bodies that take `current` to `current ∪ add − remove`.
 *
 * - IDs are compared in canonical (lower-cased) form and sent in that form.
 * - An ID in both `add` and `remove` is kept (added), as upstream does.
 * - Adds already present and removes already absent are dropped; nothing left → no PATCH (`[]`).
 *   Unlike upstream, this also holds when the result is empty, so a `SystemAssigned` resource is never
 *   downgraded to `None` by removing an identity that is already gone.
 * - If no user identity remains, one body with `type: 'None' | 'SystemAssigned'` and no map is sent.
 * - Otherwise the delta is split into bodies of at most {@link MAX_IDENTITIES_PER_PATCH} entries,
 *   removals first (a nearly full resource frees space before adding). No intermediate body leaves the
 *   resource without user identities while its `type` still says `UserAssigned`.
 *
 * `current` undefined means "no identity block" (nothing assigned, no system identity).
 */
export function planIdentityPatch(
  current: TargetIdentities | undefined,
  add: readonly string[],
  remove: readonly string[],
): IdentityPatchBody[] {
  const present = new Set([...(current?.userAssigned ?? [])].map(canonicalIdentityId));
  const toAdd = new Set(add.map(canonicalIdentityId));
  const toRemove = [...new Set(remove.map(canonicalIdentityId))].filter((id) => present.has(id) && !toAdd.has(id));
  const additions = [...toAdd].filter((id) => !present.has(id));
  if (toRemove.length === 0 && additions.length === 0) return [];

  const systemAssigned = hasSystemAssigned(current?.type);
  const remaining = present.size - toRemove.length + additions.length;
  if (remaining === 0) return [{ identity: { type: identityTypeFor(systemAssigned, false) } }];

  const type = identityTypeFor(systemAssigned, true);
  return chunkDelta(present.size, toRemove, additions).map((chunk) => ({
    identity: { type, userAssignedIdentities: chunk },
  }));
}

/** Splits removals-then-additions into maps of ≤150 entries, never emptying the resource midway. */
function chunkDelta(
  presentCount: number,
  removals: string[],
  additions: string[],
): Record<string, Record<string, never> | null>[] {
  const pendingRemovals = [...removals];
  const pendingAdditions = [...additions];
  const chunks: Record<string, Record<string, never> | null>[] = [];
  let count = presentCount;
  while (pendingRemovals.length > 0 || pendingAdditions.length > 0) {
    const takeRemovals = pendingRemovals.splice(0, MAX_IDENTITIES_PER_PATCH);
    const takeAdditions = pendingAdditions.splice(0, MAX_IDENTITIES_PER_PATCH - takeRemovals.length);
    if (count - takeRemovals.length + takeAdditions.length === 0 && pendingAdditions.length > 0) {
      // This chunk would remove the last identity before any addition lands: defer one removal and
      // bring one addition forward instead (the chunk size stays the same).
      pendingRemovals.unshift(takeRemovals.pop() as string);
      takeAdditions.push(pendingAdditions.shift() as string);
    }
    const chunk: Record<string, Record<string, never> | null> = {};
    for (const id of takeRemovals) chunk[id] = null;
    for (const id of takeAdditions) chunk[id] = {};
    count += takeAdditions.length - takeRemovals.length;
    chunks.push(chunk);
  }
  return chunks;
}

/**
 * The state ARM should report after applying `body` to `current` (used to update caches without a
 * GET). `provisioningState` and the client IDs of identities still present are carried over from
 * `current`; the etag is not (it is unknown after a write).
 */
export function applyIdentityPatch(current: TargetIdentities | undefined, body: IdentityPatchBody): TargetIdentities {
  const userAssigned = new Set([...(current?.userAssigned ?? [])].map(canonicalIdentityId));
  const map = body.identity.userAssignedIdentities;
  if (map === undefined) {
    if (body.identity.type === 'None' || body.identity.type === 'SystemAssigned') userAssigned.clear();
  } else {
    for (const [id, value] of Object.entries(map)) {
      if (value === null) userAssigned.delete(canonicalIdentityId(id));
      else userAssigned.add(canonicalIdentityId(id));
    }
  }
  const after: TargetIdentities = { userAssigned, type: body.identity.type };
  if (current?.provisioningState !== undefined) after.provisioningState = current.provisioningState;
  if (current?.clientIds !== undefined) {
    after.clientIds = new Map([...current.clientIds].filter(([id]) => userAssigned.has(id)));
  }
  return after;
}
