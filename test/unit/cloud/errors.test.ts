import { describe, it, expect } from '@jest/globals';
import { RestError } from '@azure/arm-compute';
import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import type { AuthError } from '../../../controller/cloud/errors.js';
import {
  CallAbortedError,
  ConflictError,
  IdentityLimitError,
  IdentityRejectedError,
  TargetDeletingError,
  TargetNotFoundError,
  ThrottledError,
  TransientArmError,
  UnexpectedArmError,
  classifyCloudError,
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
  isUnexpectedArmError,
  retryAfterMs,
} from '../../../controller/cloud/errors.js';
import { extractIdentityIds } from '../../../controller/cloud/identity-id.js';

const ID1 = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1';
const ID2 = '/subscriptions/s/resourcegroups/RG2/providers/microsoft.managedidentity/userassignedidentities/id-2_x';

function restError(statusCode: number | undefined, code: string | undefined, message: string, headers: Record<string, string> = {}): RestError {
  const request = createPipelineRequest({ url: 'https://management.azure.com/x' });
  return new RestError(message, {
    ...(statusCode !== undefined ? { statusCode } : {}),
    ...(code !== undefined ? { code } : {}),
    request,
    ...(statusCode !== undefined ? { response: { request, status: statusCode, headers: createHttpHeaders(headers) } } : {}),
  });
}

const linkedAuthMessage =
  "The client 'c' with object id 'o' has permission to perform action 'Microsoft.Compute/virtualMachineScaleSets/write' on scope " +
  "'/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss'; however, it does not have permission to " +
  `perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '${ID1}' or the linked scope(s) are invalid.`;

const wrapped429 =
  "Failed to perform resource identity operation. Status: 'TooManyRequests'. Response: '{\"error\":{\"code\":\"TooManyRequests\",\"message\":" +
  "\"Request is temporarily throttled because resource '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss' " +
  "has issued too many requests. Retry after 20 seconds\"}}'.";

describe('classifyCloudError', () => {
  it('429 with Retry-After → ThrottledError(target) with retryAfterMs and request id', () => {
    const e = classifyCloudError(restError(429, 'TooManyRequests', 'slow down', { 'retry-after': '17', 'x-ms-request-id': 'req-1' }));
    expect(e).toBeInstanceOf(ThrottledError);
    expect(isThrottledError(e) && e.retryAfterMs).toBe(17_000);
    expect(isThrottledError(e) && e.scope).toBe('target');
    expect(e.requestId).toBe('req-1');
    expect(e.statusCode).toBe(429);
    expect(e.armCode).toBe('TooManyRequests');
    expect(e.cause).toBeInstanceOf(RestError);
  });

  it('subscription throttling is scoped to the subscription', () => {
    const byCode = classifyCloudError(restError(429, 'SubscriptionRequestsThrottled', 'too many', { 'retry-after': '5' }));
    const byHeader = classifyCloudError(restError(429, 'TooManyRequests', 'x', { 'x-ms-ratelimit-remaining-subscription-writes': '0' }));
    expect(isThrottledError(byCode) && byCode.scope).toBe('subscription');
    expect(isThrottledError(byHeader) && byHeader.scope).toBe('subscription');
  });

  it('FailedIdentityOperation wrapping a 429 is throttling, not a bad identity', () => {
    const e = classifyCloudError(restError(400, 'FailedIdentityOperation', wrapped429));
    expect(e).toBeInstanceOf(ThrottledError);
    expect(isIdentityRejectedError(e)).toBe(false);
    expect(isThrottledError(e) && e.retryAfterMs).toBe(20_000);
  });

  it('403 LinkedAuthorizationFailed → IdentityRejectedError(forbidden) naming the identity', () => {
    const e = classifyCloudError(restError(403, 'LinkedAuthorizationFailed', linkedAuthMessage));
    expect(e).toBeInstanceOf(IdentityRejectedError);
    expect(isIdentityRejectedError(e) && e.reason).toBe('forbidden');
    expect(isIdentityRejectedError(e) && e.identityIds).toEqual([ID1.toLowerCase()]);
    expect(e.armCode).toBe('LinkedAuthorizationFailed');
  });

  it('400 FailedIdentityOperation about missing identities → not-found with both IDs', () => {
    const e = classifyCloudError(restError(400, 'FailedIdentityOperation', `Identities '${ID1}','${ID2}' were not found.`));
    expect(isIdentityRejectedError(e) && e.reason).toBe('not-found');
    expect(isIdentityRejectedError(e) && e.identityIds).toEqual([ID1.toLowerCase(), ID2.toLowerCase()]);
  });

  it('400 FailedIdentityOperation otherwise → invalid', () => {
    const e = classifyCloudError(restError(400, 'FailedIdentityOperation', `Identity '${ID1}' is malformed.`));
    expect(isIdentityRejectedError(e) && e.reason).toBe('invalid');
  });

  it('the 150-per-request limit → IdentityLimitError with the limit', () => {
    const e = classifyCloudError(restError(400, 'BadRequest', "User Assigned Identities Number '165' Assign exceed limit '150' in one request"));
    expect(e).toBeInstanceOf(IdentityLimitError);
    expect(isIdentityLimitError(e) && e.limit).toBe(150);
  });

  it('the total per-resource limit → IdentityLimitError', () => {
    const e = classifyCloudError(restError(400, 'TooManyUserAssignedIdentities', "The resource 'x' would have '1001' user assigned identities, which exceeds the limit '1000'."));
    expect(isIdentityLimitError(e) && e.limit).toBe(1000);
  });

  it('409 OperationNotAllowed (another operation in progress) → ConflictError', () => {
    expect(classifyCloudError(restError(409, 'OperationNotAllowed', "Operation 'Update' is not allowed since another operation is in progress."))).toBeInstanceOf(
      ConflictError,
    );
  });

  it('409 → ConflictError with Retry-After; another-operation codes too', () => {
    const e = classifyCloudError(restError(409, 'Conflict', 'busy', { 'retry-after': '3' }));
    expect(isConflictError(e) && e.retryAfterMs).toBe(3000);
    expect(classifyCloudError(restError(429, 'RetryableErrorDueToAnotherOperation', 'busy'))).toBeInstanceOf(ConflictError);
  });

  it('404 on the target → TargetNotFoundError', () => {
    expect(classifyCloudError(restError(404, 'ResourceNotFound', "The Resource 'Microsoft.Compute/virtualMachineScaleSets/ss' was not found."))).toBeInstanceOf(
      TargetNotFoundError,
    );
    const target = { resourceGroup: 'RG' };
    expect(classifyCloudError(restError(404, 'ResourceGroupNotFound', "Resource group 'rg' could not be found."), { target })).toBeInstanceOf(TargetNotFoundError);
  });

  it('a 404 that does not name the target is never TargetNotFoundError', () => {
    const target = { resourceGroup: 'mc_rg' };
    const typo = '/subscriptions/s/resourcegroups/typo-rg/providers/microsoft.managedidentity/userassignedidentities/id1';
    const fine = '/subscriptions/s/resourcegroups/mc_rg/providers/microsoft.managedidentity/userassignedidentities/id2';
    const group = classifyCloudError(restError(404, 'ResourceGroupNotFound', "Resource group 'Typo-RG' could not be found."), {
      target,
      requestedIdentityIds: [typo, fine],
    });
    expect(isTargetNotFoundError(group)).toBe(false);
    expect(isIdentityRejectedError(group) && [group.reason, group.identityIds]).toEqual(['not-found', [typo]]);
    // Without a target to compare with, a missing group is not "target gone" either.
    expect(isTargetNotFoundError(classifyCloudError(restError(404, 'ResourceGroupNotFound', "Resource group 'rg' could not be found.")))).toBe(false);
    const identity = classifyCloudError(
      restError(404, 'ResourceNotFound', "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/id2' under resource group 'mc_rg' was not found."),
      { target, requestedIdentityIds: [typo, fine] },
    );
    expect(isIdentityRejectedError(identity) && identity.identityIds).toEqual([fine]);
    expect(isTargetNotFoundError(classifyCloudError(restError(404, 'InvalidResourceType', 'no such type'), { target }))).toBe(false);
  });

  it('412 → PreconditionFailedError (by status or by code)', () => {
    expect(isPreconditionFailedError(classifyCloudError(restError(412, 'PreconditionFailed', 'The condition specified using HTTP conditional header(s) is not met.')))).toBe(true);
    expect(isPreconditionFailedError(classifyCloudError(restError(412, '', 'precondition')))).toBe(true);
    expect(isPreconditionFailedError(classifyCloudError(restError(409, 'Conflict', 'busy')))).toBe(false);
  });

  it('409 about deletion → TargetDeletingError', () => {
    expect(classifyCloudError(restError(409, 'ResourceBeingDeleted', 'being deleted'))).toBeInstanceOf(TargetDeletingError);
  });

  it('401 / credential failures → AuthError; 403 on the target → AuthError(forbidden)', () => {
    const unauth = classifyCloudError(restError(401, 'InvalidAuthenticationToken', 'bad token'));
    expect(isAuthError(unauth) && unauth.reason).toBe('unauthenticated');
    const cred = new Error('AADSTS7000215: Invalid client secret provided.');
    cred.name = 'AuthenticationError';
    expect(isAuthError(classifyCloudError(cred)) && (classifyCloudError(cred) as AuthError).reason).toBe('credential');
    const forbidden = classifyCloudError(restError(403, 'AuthorizationFailed', 'no write on the scale set'));
    expect(isAuthError(forbidden) && forbidden.reason).toBe('forbidden');
  });

  it('5xx, 408, dropped connections and send errors → TransientArmError', () => {
    for (const status of [500, 502, 503, 504, 408]) {
      expect(classifyCloudError(restError(status, undefined, 'oops'))).toBeInstanceOf(TransientArmError);
    }
    expect(classifyCloudError(restError(undefined, 'REQUEST_SEND_ERROR', 'socket hang up'))).toBeInstanceOf(TransientArmError);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(isTransientArmError(classifyCloudError(reset))).toBe(true);
  });

  it('our own timeout → timed-out TransientArmError; the caller aborting → CallAbortedError', () => {
    const abortError = Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    const timedOut = classifyCloudError(abortError, { timedOut: true });
    expect(isTransientArmError(timedOut) && timedOut.timedOut).toBe(true);
    const controller = new AbortController();
    controller.abort();
    expect(isCallAbortedError(classifyCloudError(abortError, { callerSignal: controller.signal }))).toBe(true);
    expect(classifyCloudError(abortError, { callerSignal: controller.signal })).toBeInstanceOf(CallAbortedError);
  });

  it('failed long-running operations are classified from their code', () => {
    const lroIdentity = new Error(`The long-running operation has failed. LinkedAuthorizationFailed. ${linkedAuthMessage}`);
    const e = classifyCloudError(lroIdentity);
    expect(isIdentityRejectedError(e) && e.identityIds).toEqual([ID1.toLowerCase()]);
    expect(e.armCode).toBe('LinkedAuthorizationFailed');
    expect(classifyCloudError(new Error(`The long-running operation has failed. FailedIdentityOperation. ${wrapped429}`))).toBeInstanceOf(ThrottledError);
    expect(classifyCloudError(new Error('The long-running operation has failed. InternalExecutionError. boom'))).toBeInstanceOf(TransientArmError);
    expect(classifyCloudError(new Error('The long-running operation has failed. OperationNotAllowed. nope'))).toBeInstanceOf(UnexpectedArmError);
  });

  it('anything else → UnexpectedArmError; classified errors pass through', () => {
    const e = classifyCloudError(restError(400, 'InvalidParameter', 'bad'));
    expect(isUnexpectedArmError(e)).toBe(true);
    expect(classifyCloudError(e)).toBe(e);
    expect(isCloudError(classifyCloudError('a string'))).toBe(true);
  });

  it('predicates reject other classes', () => {
    const throttled = new ThrottledError('t', { retryAfterMs: 1, scope: 'target' });
    expect([isIdentityRejectedError, isConflictError, isTargetNotFoundError, isTargetDeletingError, isIdentityLimitError, isAuthError, isTransientArmError].some((p) => p(throttled))).toBe(
      false,
    );
    expect(isThrottledError(new Error('t'))).toBe(false);
  });
});

describe('extractIdentityIds', () => {
  it('finds one quoted ID, lower-cased', () => {
    expect(extractIdentityIds(`identity '${ID1}' is bad`)).toEqual([ID1.toLowerCase()]);
  });
  it('finds two comma-separated IDs', () => {
    expect(extractIdentityIds(`'${ID1},${ID2}'`)).toEqual([ID1.toLowerCase(), ID2.toLowerCase()]);
  });
  it('deduplicates case-insensitively', () => {
    expect(extractIdentityIds(`${ID1} and ${ID1.toUpperCase()}.`)).toEqual([ID1.toLowerCase()]);
  });
  it('returns none for text without IDs, empty or missing text', () => {
    expect(extractIdentityIds('The client does not have authorization')).toEqual([]);
    expect(extractIdentityIds('')).toEqual([]);
    expect(extractIdentityIds(undefined)).toEqual([]);
  });
  it('recognises resource groups with dots and parentheses', () => {
    const odd = '/subscriptions/s/resourceGroups/my.rg(1)/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1';
    expect(extractIdentityIds(`scope '${odd}'`)).toEqual([odd.toLowerCase()]);
  });
});

describe('retryAfterMs', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  it.each<[string, Record<string, string> | undefined, number]>([
    ['no headers', undefined, 0],
    ['no Retry-After', {}, 0],
    ['delta seconds', { 'Retry-After': '180' }, 180_000],
    ['RFC 1123 date 180 s ahead', { 'retry-after': new Date(now + 180_000).toUTCString() }, 180_000],
    ['RFC 822 date is not accepted', { 'retry-after': '01 Jan 26 12:03 UTC' }, 0],
    ['date in the past', { 'retry-after': new Date(now - 5000).toUTCString() }, 0],
    ['garbage', { 'retry-after': 'soon' }, 0],
    ['retry-after-ms wins', { 'retry-after-ms': '250', 'retry-after': '9' }, 250],
    ['x-ms-retry-after-ms', { 'x-ms-retry-after-ms': '1500' }, 1500],
  ])('%s', (_name, headers, expected) => {
    expect(retryAfterMs(headers, now)).toBe(expected);
  });

  it('reads SDK HttpHeaders', () => {
    expect(retryAfterMs(createHttpHeaders({ 'Retry-After': '2' }), now)).toBe(2000);
  });
});
