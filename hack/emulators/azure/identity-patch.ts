/**
 * ARM identity semantics of a VM/VMSS PATCH, as a pure function: the `identity.type` transition
 * and the `userAssignedIdentities` delta (`{}` adds, `null` removes), with IDs compared
 * case-insensitively. Existence and authorization of identities are checked elsewhere.
 */
import { invalidIdentityParameter, tooManyIdentitiesInRequest, type ArmError } from './arm-errors.js';

/** The identity facts of a VM/VMSS: system-assigned on/off and the lower-cased user identity IDs. */
export interface IdentityState {
  systemAssigned: boolean;
  userAssigned: string[];
}

/** The new state plus what the request asked to add (every `{}` key) and what it removed. */
export interface IdentityPatchOutcome {
  state: IdentityState;
  /** Lower-cased IDs sent as `{}` (ARM validates every one of them). */
  requested: string[];
  added: string[];
  removed: string[];
}

/** ARM's limit of user-assigned identities in one request. */
export const MAX_IDENTITIES_PER_REQUEST = 150;

/** Formats an identity `type` the way ARM reports it. */
export function identityTypeOf(state: IdentityState): string {
  const user = state.userAssigned.length > 0;
  if (state.systemAssigned && user) return 'SystemAssigned, UserAssigned';
  if (state.systemAssigned) return 'SystemAssigned';
  if (user) return 'UserAssigned';
  return 'None';
}

type ParsedType = { system: boolean; user: boolean };

/** Parses an identity `type` string (case-insensitive, any spacing) or fails like ARM. */
function parseType(raw: unknown): ParsedType | ArmError {
  if (typeof raw !== 'string') return invalidIdentityParameter(`The identity type '${String(raw)}' is invalid.`);
  const parts = raw.split(',').map((p) => p.trim().toLowerCase()).filter((p) => p !== '');
  const known = new Set(['none', 'systemassigned', 'userassigned']);
  if (parts.length === 0 || parts.some((p) => !known.has(p)) || (parts.includes('none') && parts.length > 1)) {
    return invalidIdentityParameter(
      `The identity type '${raw}' is invalid. Allowed values are 'None', 'SystemAssigned', 'UserAssigned' and 'SystemAssigned, UserAssigned'.`,
    );
  }
  return { system: parts.includes('systemassigned'), user: parts.includes('userassigned') };
}

/**
 * Applies the `identity` block of a PATCH body to `current`. Returns the outcome or an
 * {@link ArmError} (400) describing why ARM would reject the request.
 */
export function applyIdentityPatch(current: IdentityState, identity: unknown): IdentityPatchOutcome | ArmError {
  if (identity === undefined || identity === null) {
    return { state: { systemAssigned: current.systemAssigned, userAssigned: [...current.userAssigned] }, requested: [], added: [], removed: [] };
  }
  if (typeof identity !== 'object' || Array.isArray(identity)) return invalidIdentityParameter('The identity property must be an object.');
  const block = identity as { type?: unknown; userAssignedIdentities?: unknown };

  const delta = block.userAssignedIdentities;
  const adds: string[] = [];
  const removes: string[] = [];
  if (delta !== undefined && delta !== null) {
    if (typeof delta !== 'object' || Array.isArray(delta)) {
      return invalidIdentityParameter('The userAssignedIdentities property must be a map of identity resource IDs.');
    }
    const entries = Object.entries(delta as Record<string, unknown>);
    if (entries.length > MAX_IDENTITIES_PER_REQUEST) return tooManyIdentitiesInRequest(entries.length, MAX_IDENTITIES_PER_REQUEST);
    for (const [id, value] of entries) {
      const key = id.toLowerCase();
      if (!/^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/]+$/.test(key)) {
        return invalidIdentityParameter(`The user assigned identity resource ID '${id}' is not a valid resource ID.`);
      }
      if (value === null) removes.push(key);
      else if (typeof value === 'object' && !Array.isArray(value)) adds.push(key);
      else return invalidIdentityParameter(`The value for user assigned identity '${id}' must be an object or null.`);
    }
  }

  let type: ParsedType;
  if (block.type === undefined || block.type === null) {
    type = { system: current.systemAssigned, user: current.userAssigned.length > 0 || adds.length > 0 };
  } else {
    const parsed = parseType(block.type);
    if (!('system' in parsed)) return parsed;
    type = parsed;
  }

  let user = new Set(current.userAssigned);
  const before = new Set(current.userAssigned);
  if (!type.user) {
    if (adds.length > 0) {
      return invalidIdentityParameter(
        `User assigned identities cannot be specified when the identity type is '${String(block.type)}'.`,
      );
    }
    user = new Set();
  } else {
    for (const id of removes) user.delete(id);
    for (const id of adds) user.add(id);
    if (user.size === 0) {
      return invalidIdentityParameter(
        "The identity type 'UserAssigned' requires at least one user assigned identity; use type 'None' or 'SystemAssigned' to remove the last one.",
      );
    }
  }
  const userAssigned = [...user];
  return {
    state: { systemAssigned: type.system, userAssigned },
    requested: adds,
    added: userAssigned.filter((id) => !before.has(id)),
    removed: [...before].filter((id) => !user.has(id)),
  };
}
