/**
 * ARM error responses the emulator produces, with message shapes taken from real ARM so that
 * clients which parse them (upstream MIC extracts identity IDs from single-quoted lists) work.
 */

/** An error answered as `{ error: { code, message } }` with an HTTP status. */
export class ArmError extends Error {
  readonly status: number;
  readonly code: string;
  /** Emulated milliseconds the client should wait, sent as `Retry-After` (real seconds). */
  readonly retryAfterMs: number | undefined;
  readonly details: { code: string; target?: string; message: string }[] | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: { retryAfterMs?: number; details?: { code: string; target?: string; message: string }[]; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'ArmError';
    this.status = status;
    this.code = code;
    this.retryAfterMs = extra.retryAfterMs;
    this.details = extra.details;
  }

  /** The JSON body ARM sends for this error. */
  body(): { error: { code: string; message: string; details?: unknown[] } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

/** True when `e` is an {@link ArmError}. */
export function isArmError(e: unknown): e is ArmError {
  return e instanceof ArmError;
}

/** The compute write action named in LinkedAuthorizationFailed for a resource kind. */
function writeAction(kind: 'vmss' | 'vm'): string {
  return kind === 'vmss' ? 'Microsoft.Compute/virtualMachineScaleSets/write' : 'Microsoft.Compute/virtualMachines/write';
}

/** 403: the caller may write the VM/VMSS but may not assign (some of) the identities. */
export function linkedAuthorizationFailed(callerObjectId: string, kind: 'vmss' | 'vm', scope: string, identityIds: string[]): ArmError {
  return new ArmError(
    403,
    'LinkedAuthorizationFailed',
    `The client '${callerObjectId}' with object id '${callerObjectId}' has permission to perform action ` +
      `'${writeAction(kind)}' on scope '${scope}'; however, it does not have permission to perform action ` +
      `'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) ` +
      `'${identityIds.join(',')}' or the linked scope(s) are invalid.`,
  );
}

/** 400: one or more identities in the request do not exist. */
export function failedIdentityOperation(identityIds: string[]): ArmError {
  return new ArmError(
    400,
    'FailedIdentityOperation',
    `Identity (s) '${identityIds.join(',')}' are invalid or could not be found. ` +
      'Please make sure the user assigned identities exist and are in the same tenant as the resource.',
  );
}

/** 400: more than 150 user-assigned identities in one request. */
export function tooManyIdentitiesInRequest(count: number, limit: number): ArmError {
  return new ArmError(
    400,
    'BadRequest',
    `User Assigned Identities Number '${count}' Assign exceed limit '${limit}' in one request.`,
  );
}

/** 400: the resource would hold more user-assigned identities than allowed in total. */
export function tooManyIdentitiesOnResource(count: number, limit: number, resourceId: string): ArmError {
  return new ArmError(
    400,
    'TooManyUserAssignedIdentities',
    `The resource '${resourceId}' would have '${count}' user assigned identities, which exceeds the limit '${limit}'.`,
  );
}

/** 400: malformed identity block (bad type, user identities with type None, and similar). */
export function invalidIdentityParameter(message: string): ArmError {
  return new ArmError(400, 'InvalidParameter', message, { details: [{ code: 'InvalidParameter', target: 'identity', message }] });
}

/** 404 for a missing ARM resource, in ARM's words. */
export function resourceNotFound(resourceType: string, name: string, resourceGroup: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${resourceType}/${name}' under resource group '${resourceGroup}' was not found. ` +
      'For more details please go to https://aka.ms/ARMResourceNotFoundFix',
  );
}

/** 404 for a resource group that does not exist (ARM checks it before the resource, and for linked identities). */
export function resourceGroupNotFound(resourceGroup: string): ArmError {
  return new ArmError(404, 'ResourceGroupNotFound', `Resource group '${resourceGroup}' could not be found.`);
}

/** 412: the `If-Match` precondition does not hold (the resource changed since the caller's read). */
export function preconditionFailed(): ArmError {
  return new ArmError(412, 'PreconditionFailed', 'The condition specified using HTTP conditional header(s) is not met.');
}

/** 409: a write while another operation on the same resource is still running. */
export function operationInProgress(resourceId: string, operationId: string, retryAfterMs: number): ArmError {
  return new ArmError(
    409,
    'OperationNotAllowed',
    `Operation 'Update' is not allowed on resource '${resourceId}' since another operation '${operationId}' ` +
      'is in progress on it. Retry after the operation completes.',
    { retryAfterMs },
  );
}

/** 429 from a token bucket. */
export function throttled(policy: string, retryAfterMs: number, frontDoor: boolean): ArmError {
  if (frontDoor) {
    return new ArmError(
      429,
      'TooManyRequests',
      `The request is being throttled as the limit has been reached for operation type '${policy}'. ` +
        'For more information, see https://aka.ms/armthrottling',
      { retryAfterMs },
    );
  }
  return new ArmError(
    429,
    'OperationNotAllowed',
    'The server rejected the request because too many requests have been received for this subscription.',
    { retryAfterMs, details: [{ code: 'TooManyRequests', target: policy, message: `{"operationGroup":"${policy}"}` }] },
  );
}

/** 401 for a missing, unknown or expired bearer token. */
export function invalidAuthenticationToken(reason: string): ArmError {
  return new ArmError(401, 'InvalidAuthenticationToken', reason);
}

/** Default ARM code for an injected failure status. */
export function defaultCodeFor(status: number): string {
  switch (status) {
    case 400: return 'BadRequest';
    case 401: return 'InvalidAuthenticationToken';
    case 403: return 'AuthorizationFailed';
    case 404: return 'ResourceNotFound';
    case 409: return 'Conflict';
    case 429: return 'TooManyRequests';
    case 500: return 'InternalServerError';
    case 503: return 'ServiceUnavailable';
    default: return status >= 500 ? 'InternalServerError' : 'BadRequest';
  }
}
