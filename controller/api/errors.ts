/**
 * Error classes of the API model: malformed objects, identity resource IDs and node provider IDs.
 * Match them with the `isXxxError` predicates, never by message text.
 */

/** Longest part of a caller-supplied value quoted in an error message. */
const MAX_QUOTED = 300;

/** Quotes a value for an error message: JSON-escaped and truncated so log lines stay bounded. */
export function quoteValue(value: string): string {
  const cut = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}...` : value;
  return JSON.stringify(cut);
}

/** An object read from the API server does not have the shape its kind requires. */
export class InvalidObjectError extends Error {
  override readonly name = 'InvalidObjectError';
  /** Kind of the object (`AzureIdentity`, `Pod`, ...). */
  readonly kind: string;
  /** Path of the offending field, e.g. `spec.resourceID` or `metadata.labels.app`. */
  readonly field: string;
  /** What is wrong with it, e.g. `must be a string`. */
  readonly reason: string;

  constructor(kind: string, field: string, reason: string, options?: { cause?: unknown }) {
    super(`invalid ${kind}: ${field} ${reason}`, options);
    this.kind = kind;
    this.field = field;
    this.reason = reason;
  }
}

/** True when `e` is an {@link InvalidObjectError}. */
export function isInvalidObjectError(e: unknown): e is InvalidObjectError {
  return e instanceof InvalidObjectError;
}

/** The shape every user-assigned identity resource ID must have (wording as upstream MIC). */
export const IDENTITY_RESOURCE_ID_SHAPE =
  '/subscriptions/<subid>/resourcegroups/<resourcegroup>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>';

/** A string is not a valid user-assigned identity resource ID. */
export class InvalidResourceIdError extends Error {
  override readonly name = 'InvalidResourceIdError';
  /** The rejected value, as given. */
  readonly value: string;

  constructor(value: string, options?: { cause?: unknown }) {
    super(`invalid resource id: ${quoteValue(value)}, must match ${IDENTITY_RESOURCE_ID_SHAPE}`, options);
    this.value = value;
  }
}

/** True when `e` is an {@link InvalidResourceIdError}. */
export function isInvalidResourceIdError(e: unknown): e is InvalidResourceIdError {
  return e instanceof InvalidResourceIdError;
}

/** Why a node `spec.providerID` was rejected. */
export type InvalidProviderIdCode = 'empty' | 'not-azure' | 'malformed';

/** A node `spec.providerID` does not name an Azure VM or VMSS instance. */
export class InvalidProviderIdError extends Error {
  override readonly name = 'InvalidProviderIdError';
  /** `empty`: no provider ID; `not-azure`: another cloud (or virtual node); `malformed`: unparsable. */
  readonly code: InvalidProviderIdCode;
  /** The rejected value, as given. */
  readonly providerID: string;

  constructor(code: InvalidProviderIdCode, providerID: string, options?: { cause?: unknown }) {
    const detail =
      code === 'empty'
        ? 'is empty'
        : code === 'not-azure'
          ? 'is not an azure:// provider ID'
          : 'must be azure:///subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/' +
            '(virtualMachineScaleSets/<vmss>/virtualMachines/<instance> | virtualMachines/<name>)';
    super(`invalid provider ID ${quoteValue(providerID)}: ${detail}`, options);
    this.code = code;
    this.providerID = providerID;
  }
}

/** True when `e` is an {@link InvalidProviderIdError}, optionally with the given `code`. */
export function isInvalidProviderIdError(e: unknown, code?: InvalidProviderIdCode): e is InvalidProviderIdError {
  return e instanceof InvalidProviderIdError && (code === undefined || e.code === code);
}
