/**
 * Maps classified cloud errors to what the target worker does next, and to the Warning Event reason
 * and remedy shown to operators.
 */
import {
  isAuthError,
  isCallAbortedError,
  isCloudError,
  isConflictError,
  isIdentityLimitError,
  isIdentityRejectedError,
  isPreconditionFailedError,
  isTargetDeletingError,
  isTargetNotFoundError,
  isThrottledError,
  isTransientArmError,
} from '../cloud/errors.js';

/** Event reasons for ARM outcomes (new in this project; upstream only had `binding apply error`). */
export const ArmReasons = {
  forbidden: 'IdentityForbidden',
  notFound: 'IdentityNotFound',
  invalid: 'IdentityInvalid',
  limit: 'IdentityLimitExceeded',
  throttled: 'Throttled',
  conflict: 'TargetBusy',
  auth: 'CloudAuthFailed',
  error: 'CloudError',
} as const;

/** A failed ARM call, reduced to what decides the next step. */
export type ArmFailure =
  | { kind: 'rejected'; identityIds: string[]; reason: string; remedy: string; code?: string; message: string }
  | { kind: 'throttled'; retryAfterMs: number; reason: string; code?: string; message: string; /** Our own budget refused it; nothing was sent. */ local: boolean }
  | { kind: 'conflict'; retryAfterMs: number; reason: string; code?: string; message: string }
  | { kind: 'target-gone'; reason: string; code?: string; message: string }
  /** ARM answered 412: the target changed since the state the write was planned from. Re-read and retry; not an error Event. */
  | { kind: 'precondition'; reason: string; code?: string; message: string }
  | { kind: 'error'; reason: string; transient: boolean; code?: string; message: string };

const MIN_RETRY_MS = 1_000;

/** Classifies anything thrown by the cloud provider. */
export function classifyArmFailure(err: unknown): ArmFailure {
  const message = err instanceof Error ? err.message : String(err);
  const code = isCloudError(err) ? err.armCode : undefined;
  if (isIdentityRejectedError(err)) {
    const reason = err.reason === 'forbidden' ? ArmReasons.forbidden : err.reason === 'not-found' ? ArmReasons.notFound : ArmReasons.invalid;
    const remedy =
      err.reason === 'forbidden'
        ? "grant the controller's identity the Managed Identity Operator role on the identity (action Microsoft.ManagedIdentity/userAssignedIdentities/assign/action)"
        : err.reason === 'not-found'
          ? 'the user-assigned identity does not exist in Azure: create it or fix spec.resourceID of the AzureIdentity'
          : 'check spec.resourceID of the AzureIdentity';
    return { kind: 'rejected', identityIds: err.identityIds, reason, remedy, code, message };
  }
  // Never surfaced as an Event or condition: the worker re-reads and retries quietly.
  if (isPreconditionFailedError(err)) return { kind: 'precondition', reason: ArmReasons.conflict, code, message };
  if (isThrottledError(err)) return { kind: 'throttled', retryAfterMs: Math.max(MIN_RETRY_MS, err.retryAfterMs), reason: ArmReasons.throttled, code, message, local: err.local };
  if (isConflictError(err)) return { kind: 'conflict', retryAfterMs: Math.max(MIN_RETRY_MS, err.retryAfterMs), reason: ArmReasons.conflict, code, message };
  if (isTargetNotFoundError(err)) return { kind: 'target-gone', reason: 'TargetNotFound', code, message };
  if (isTargetDeletingError(err)) return { kind: 'conflict', retryAfterMs: 30_000, reason: 'TargetDeleting', code, message };
  if (isIdentityLimitError(err)) return { kind: 'error', reason: ArmReasons.limit, transient: false, code, message };
  if (isAuthError(err)) return { kind: 'error', reason: ArmReasons.auth, transient: false, code, message };
  if (isTransientArmError(err) || isCallAbortedError(err)) return { kind: 'error', reason: ArmReasons.error, transient: true, code, message };
  return { kind: 'error', reason: ArmReasons.error, transient: false, code, message };
}
