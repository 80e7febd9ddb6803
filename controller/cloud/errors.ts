/**
 * Classification of everything the Azure SDK can throw (REST errors, failed long-running
 * operations, aborts, credential and network failures) into a small set of error classes the
 * controller can act on. Match them with the `isXxxError` predicates.
 */
import { isRestError } from '@azure/arm-compute';
import { extractIdentityIds } from './identity-id.js';

/** Common fields of every classified cloud error. */
export interface CloudErrorDetails {
  /** Underlying error. */
  cause?: unknown;
  /** ARM error `code` (e.g. `LinkedAuthorizationFailed`), if any. */
  armCode?: string;
  /** HTTP status, if a response was received. */
  statusCode?: number;
  /** `x-ms-request-id` (or correlation id) of the failed request, for support cases. */
  requestId?: string;
}

/** Base class of all classified cloud errors. */
export class CloudError extends Error {
  /** ARM error code, if any. */
  readonly armCode: string | undefined;
  /** HTTP status, if any. */
  readonly statusCode: number | undefined;
  /** ARM request id, if any. */
  readonly requestId: string | undefined;

  constructor(message: string, details: CloudErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.armCode = details.armCode;
    this.statusCode = details.statusCode;
    this.requestId = details.requestId;
  }
}

/** Where a throttle applies: the one VM/VMSS, or the whole subscription. */
export type ThrottleScope = 'target' | 'subscription';

/** ARM (or our own rate limiter) says: too many requests, wait `retryAfterMs`. */
export class ThrottledError extends CloudError {
  /** How long to wait before the next call (0 if ARM gave no hint). */
  readonly retryAfterMs: number;
  /** Whether the throttle is per target or per subscription. */
  readonly scope: ThrottleScope;
  /** True when our client-side limiter refused the call (nothing was sent). */
  readonly local: boolean;

  constructor(message: string, opts: CloudErrorDetails & { retryAfterMs: number; scope: ThrottleScope; local?: boolean }) {
    super(message, opts);
    this.retryAfterMs = opts.retryAfterMs;
    this.scope = opts.scope;
    this.local = opts.local ?? false;
  }
}

/** Why ARM rejected one or more identities. */
export type IdentityRejectionReason = 'forbidden' | 'not-found' | 'invalid';

/** ARM rejected specific identities (missing assign permission, identity gone, invalid identity). */
export class IdentityRejectedError extends CloudError {
  /** Canonical IDs named in the error (may be empty when ARM named none). */
  readonly identityIds: string[];
  /** Rejection reason. */
  readonly reason: IdentityRejectionReason;

  constructor(message: string, opts: CloudErrorDetails & { identityIds: string[]; reason: IdentityRejectionReason }) {
    super(message, opts);
    this.identityIds = opts.identityIds;
    this.reason = opts.reason;
  }
}

/** Another operation on the target is in progress (409 and friends). */
export class ConflictError extends CloudError {
  /** Suggested wait, if ARM gave one (0 otherwise). */
  readonly retryAfterMs: number;

  constructor(message: string, opts: CloudErrorDetails & { retryAfterMs?: number }) {
    super(message, opts);
    this.retryAfterMs = opts.retryAfterMs ?? 0;
  }
}

/** The VM or VMSS (or its own resource group) does not exist. */
export class TargetNotFoundError extends CloudError {}

/**
 * ARM answered 412: the target changed since the read whose etag the write was conditioned on
 * (`If-Match`). Nothing was written by that request; re-read, re-plan and retry.
 */
export class PreconditionFailedError extends CloudError {}

/** The VM or VMSS is being deleted; identity updates are refused. */
export class TargetDeletingError extends CloudError {}

/** Too many identities: more than 150 in one request, or the resource's total limit. */
export class IdentityLimitError extends CloudError {
  /** The limit ARM named, if it named one. */
  readonly limit: number | undefined;

  constructor(message: string, opts: CloudErrorDetails & { limit?: number }) {
    super(message, opts);
    this.limit = opts.limit;
  }
}

/** Why authentication or authorisation of the controller itself failed. */
export type AuthFailure = 'credential' | 'unauthenticated' | 'forbidden';

/** The controller's own credential failed (token acquisition, 401, or 403 on the target). */
export class AuthError extends CloudError {
  /** Kind of failure. */
  readonly reason: AuthFailure;

  constructor(message: string, opts: CloudErrorDetails & { reason: AuthFailure }) {
    super(message, opts);
    this.reason = opts.reason;
  }
}

/** A failure that is expected to go away by itself: 5xx, timeouts, dropped connections. */
export class TransientArmError extends CloudError {
  /** Suggested wait, if ARM gave one (0 otherwise). */
  readonly retryAfterMs: number;
  /** True when our per-call timeout fired. */
  readonly timedOut: boolean;

  constructor(message: string, opts: CloudErrorDetails & { retryAfterMs?: number; timedOut?: boolean }) {
    super(message, opts);
    this.retryAfterMs = opts.retryAfterMs ?? 0;
    this.timedOut = opts.timedOut ?? false;
  }
}

/** The caller cancelled the call (its AbortSignal fired). */
export class CallAbortedError extends CloudError {}

/** Anything else ARM answered (e.g. an unexpected 400). Not retried automatically. */
export class UnexpectedArmError extends CloudError {}

/** True for any classified cloud error. */
export function isCloudError(e: unknown): e is CloudError {
  return e instanceof CloudError;
}
/** True for {@link ThrottledError}. */
export function isThrottledError(e: unknown): e is ThrottledError {
  return e instanceof ThrottledError;
}
/** True for {@link IdentityRejectedError}. */
export function isIdentityRejectedError(e: unknown): e is IdentityRejectedError {
  return e instanceof IdentityRejectedError;
}
/** True for {@link ConflictError}. */
export function isConflictError(e: unknown): e is ConflictError {
  return e instanceof ConflictError;
}
/** True for {@link TargetNotFoundError}. */
export function isTargetNotFoundError(e: unknown): e is TargetNotFoundError {
  return e instanceof TargetNotFoundError;
}
/** True for {@link PreconditionFailedError}. */
export function isPreconditionFailedError(e: unknown): e is PreconditionFailedError {
  return e instanceof PreconditionFailedError;
}
/** True for {@link TargetDeletingError}. */
export function isTargetDeletingError(e: unknown): e is TargetDeletingError {
  return e instanceof TargetDeletingError;
}
/** True for {@link IdentityLimitError}. */
export function isIdentityLimitError(e: unknown): e is IdentityLimitError {
  return e instanceof IdentityLimitError;
}
/** True for {@link AuthError}. */
export function isAuthError(e: unknown): e is AuthError {
  return e instanceof AuthError;
}
/** True for {@link TransientArmError}. */
export function isTransientArmError(e: unknown): e is TransientArmError {
  return e instanceof TransientArmError;
}
/** True for {@link CallAbortedError}. */
export function isCallAbortedError(e: unknown): e is CallAbortedError {
  return e instanceof CallAbortedError;
}
/** True for {@link UnexpectedArmError}. */
export function isUnexpectedArmError(e: unknown): e is UnexpectedArmError {
  return e instanceof UnexpectedArmError;
}

/** Anything with a case-insensitive `get(name)` (SDK `HttpHeaders`, fetch `Headers`), or a plain record. */
export type HeaderSource = { get(name: string): string | null | undefined } | Record<string, string | undefined>;

function header(headers: HeaderSource | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return (headers.get as (n: string) => string | null | undefined)(name) ?? undefined;
  const record = headers as Record<string, string | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : record[key];
}

/** RFC 1123 / IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (the only date form Retry-After uses). */
const HTTP_DATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Parses the wait ARM asks for, in milliseconds: `retry-after-ms` / `x-ms-retry-after-ms`
 * (milliseconds), else `Retry-After` as delta-seconds or an HTTP date (RFC 1123). Absent,
 * unparsable (including other date formats such as RFC 822) or past → 0.
 */
export function retryAfterMs(headers: HeaderSource | undefined, nowMs: number = Date.now()): number {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const raw = header(headers, name)?.trim();
    if (raw && /^\d+$/.test(raw)) return Number(raw);
  }
  const raw = header(headers, 'retry-after')?.trim();
  if (!raw) return 0;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  if (!HTTP_DATE.test(raw)) return 0;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? 0 : Math.max(0, at - nowMs);
}

/*
 * ARM-message signals. ARM codes are preferred everywhere; these patterns cover the cases where the
 * meaning is only in the text (a FailedIdentityOperation that wraps a 429, the 150-identities limit).
 */
const THROTTLE_TEXT = /too many requests|temporarily throttled|\bthrottl/i;
const RETRY_AFTER_TEXT = /retry after (\d+) seconds?/i;
const LIMIT_TEXT = /exceeds? (?:the )?limit|exceeded (?:the )?(?:maximum|limit)|maximum number of (?:user[- ]assigned )?identities/i;
const LIMIT_NUMBER = /limit '?(\d+)'?/i;
const NOT_FOUND_TEXT = /not (?:be )?found|does not exist|doesn't exist|could not be found/i;
const LRO_FAILED = /^The long-running operation has failed(?:\. ([A-Za-z0-9_.]+)\. ([\s\S]*))?$/;

const THROTTLE_CODES = new Set(['toomanyrequests', 'subscriptionrequeststhrottled', 'tenantrequeststhrottled']);
const SUBSCRIPTION_THROTTLE_CODES = new Set(['subscriptionrequeststhrottled', 'tenantrequeststhrottled']);
const CONFLICT_CODES = new Set([
  'conflict',
  'retryableerrorduetoanotheroperation',
  'anotheroperationinprogress',
  'operationpreempted',
  'concurrentrequestsnotallowed',
]);
/** 404 codes that mean "this resource does not exist" (as opposed to a group or a linked resource). */
const RESOURCE_NOT_FOUND_CODES = new Set(['resourcenotfound', 'notfound']);
const RESOURCE_GROUP_NOT_FOUND_CODES = new Set(['resourcegroupnotfound']);
const NAMED_RESOURCE_GROUP = /resource group '([^']+)'/i;
const NAMED_IDENTITY = /Microsoft\.ManagedIdentity\/userAssignedIdentities\/([^'\s/]+)/i;
const AUTH_CODES = new Set(['invalidauthenticationtoken', 'expiredauthenticationtoken', 'authenticationfailed', 'invalidauthenticationtokentenant']);
const TRANSIENT_CODES = new Set(['internalexecutionerror', 'internalservererror', 'serviceunavailable', 'gatewaytimeout', 'internaloperationerror', 'request_send_error']);
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const CREDENTIAL_ERROR_NAMES = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError', 'AuthenticationRequiredError']);

/** Context for {@link classifyCloudError}. */
export interface ClassifyContext {
  /** The caller's signal: if it fired, the result is {@link CallAbortedError}. */
  callerSignal?: AbortSignal | undefined;
  /** True when our own per-call timeout fired: the result is a timed-out {@link TransientArmError}. */
  timedOut?: boolean;
  /** Time source for HTTP-date Retry-After values. */
  nowMs?: number;
  /**
   * The VM/VMSS the call was about: a 404 is "target not found" only when it names the target (its
   * resource, or its own resource group). Without it, a `ResourceGroupNotFound` is never target-gone.
   */
  target?: { resourceGroup: string } | undefined;
  /** Canonical IDs of the identities the request added: a 404 naming one of them (or its group) rejects them. */
  requestedIdentityIds?: readonly string[] | undefined;
}

interface Facts {
  message: string;
  armCode: string | undefined;
  statusCode: number | undefined;
  requestId: string | undefined;
  retryAfterMs: number;
  subscriptionQuotaExhausted: boolean;
  cause: unknown;
}

/** Classifies anything thrown by the SDK (or by the credential) into a {@link CloudError} subclass. */
export function classifyCloudError(err: unknown, ctx: ClassifyContext = {}): CloudError {
  if (err instanceof CloudError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (ctx.callerSignal?.aborted) return new CallAbortedError('cloud call aborted by caller', { cause: err });
  if (ctx.timedOut) return new TransientArmError('cloud call timed out', { cause: err, timedOut: true });
  if (err instanceof Error && CREDENTIAL_ERROR_NAMES.has(err.name)) {
    return new AuthError(`credential failed: ${message}`, { cause: err, reason: 'credential' });
  }
  if (isRestError(err)) {
    const headers = err.response?.headers;
    return classifyFacts({
      message,
      armCode: err.code,
      statusCode: err.statusCode,
      requestId: header(headers, 'x-ms-request-id') ?? header(headers, 'x-ms-correlation-request-id'),
      retryAfterMs: retryAfterMs(headers, ctx.nowMs),
      subscriptionQuotaExhausted: ['reads', 'writes', 'deletes'].some(
        (kind) => header(headers, `x-ms-ratelimit-remaining-subscription-${kind}`)?.trim() === '0',
      ),
      cause: err,
    }, ctx);
  }
  const lro = err instanceof Error ? LRO_FAILED.exec(message) : null;
  if (lro) {
    return classifyFacts({
      message: lro[2] ?? message,
      armCode: lro[1],
      statusCode: undefined,
      requestId: undefined,
      retryAfterMs: 0,
      subscriptionQuotaExhausted: false,
      cause: err,
    }, ctx);
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return new TransientArmError('cloud call aborted', { cause: err });
  }
  const nodeCode = (err as { code?: unknown } | null)?.code;
  if (typeof nodeCode === 'string' && TRANSIENT_NODE_CODES.has(nodeCode)) {
    return new TransientArmError(`network error: ${message}`, { cause: err });
  }
  return new UnexpectedArmError(`unexpected cloud error: ${message}`, { cause: err });
}

function classifyFacts(f: Facts, ctx: ClassifyContext): CloudError {
  const code = (f.armCode ?? '').toLowerCase();
  const status = f.statusCode;
  const details: CloudErrorDetails = { cause: f.cause, armCode: f.armCode, statusCode: status, requestId: f.requestId };
  if (status === 412 || code === 'preconditionfailed') {
    return new PreconditionFailedError(`target changed since it was read: ${f.message}`, details);
  }
  const textRetryAfter = RETRY_AFTER_TEXT.exec(f.message);
  const retryAfter = f.retryAfterMs || (textRetryAfter ? Number(textRetryAfter[1]) * 1000 : 0);

  if (CONFLICT_CODES.has(code) || (status === 409 && !/delet/i.test(code))) {
    return new ConflictError(`conflicting operation in progress: ${f.message}`, { ...details, retryAfterMs: retryAfter });
  }
  if (status === 429 || THROTTLE_CODES.has(code) || THROTTLE_TEXT.test(f.message)) {
    const scope: ThrottleScope = SUBSCRIPTION_THROTTLE_CODES.has(code) || f.subscriptionQuotaExhausted ? 'subscription' : 'target';
    return new ThrottledError(`throttled by ARM: ${f.message}`, { ...details, retryAfterMs: retryAfter, scope });
  }
  if (/delet/i.test(code) && (status === undefined || status === 409 || status === 400)) {
    return new TargetDeletingError(`target is being deleted: ${f.message}`, details);
  }
  if (LIMIT_TEXT.test(f.message) && (code === 'failedidentityoperation' || status === 400 || /identit/i.test(f.message))) {
    const limit = LIMIT_NUMBER.exec(f.message);
    return new IdentityLimitError(`identity limit exceeded: ${f.message}`, {
      ...details,
      ...(limit ? { limit: Number(limit[1]) } : {}),
    });
  }
  const ids = extractIdentityIds(f.message);
  if (code === 'linkedauthorizationfailed') {
    return new IdentityRejectedError(`identity assignment forbidden: ${f.message}`, { ...details, identityIds: ids, reason: 'forbidden' });
  }
  if (code === 'failedidentityoperation' || (ids.length > 0 && (status === 400 || status === 404))) {
    const reason: IdentityRejectionReason = NOT_FOUND_TEXT.test(f.message) || status === 404 ? 'not-found' : 'invalid';
    return new IdentityRejectedError(`identity rejected: ${f.message}`, { ...details, identityIds: ids, reason });
  }
  const notFound = classifyNotFound(f, ctx, code, details);
  if (notFound) return notFound;
  if (status === 401 || AUTH_CODES.has(code)) {
    return new AuthError(`not authenticated: ${f.message}`, { ...details, reason: 'unauthenticated' });
  }
  if (status === 403) {
    return new AuthError(`not authorised: ${f.message}`, { ...details, reason: 'forbidden' });
  }
  if (status === undefined || status === 408 || status >= 500 || TRANSIENT_CODES.has(code)) {
    if (status === undefined && !TRANSIENT_CODES.has(code) && f.armCode !== undefined) {
      return new UnexpectedArmError(`operation failed: ${f.message}`, details);
    }
    return new TransientArmError(`transient ARM failure: ${f.message}`, { ...details, retryAfterMs: retryAfter });
  }
  return new UnexpectedArmError(`unexpected ARM response: ${f.message}`, details);
}

/**
 * A 404 (or a not-found code in a failed operation): target-gone only when it names the target itself
 * (`ResourceNotFound`/`NotFound` not naming an identity, or `ResourceGroupNotFound` naming the target's
 * own group). A missing identity or identity resource group rejects the requested identities there;
 * any other 404 is unexpected, never target-gone. Undefined when the facts are not a not-found.
 */
function classifyNotFound(f: Facts, ctx: ClassifyContext, code: string, details: CloudErrorDetails): CloudError | undefined {
  const groupMissing = RESOURCE_GROUP_NOT_FOUND_CODES.has(code);
  const resourceMissing = RESOURCE_NOT_FOUND_CODES.has(code) || (f.statusCode === 404 && code === '');
  if (!groupMissing && !resourceMissing) {
    return f.statusCode === 404 ? new UnexpectedArmError(`not found (not the target): ${f.message}`, details) : undefined;
  }
  const requested = ctx.requestedIdentityIds ?? [];
  if (groupMissing) {
    const group = NAMED_RESOURCE_GROUP.exec(f.message)?.[1]?.toLowerCase();
    if (group !== undefined && ctx.target && group === ctx.target.resourceGroup.toLowerCase()) {
      return new TargetNotFoundError(`target resource group not found: ${f.message}`, details);
    }
    const identityIds = group === undefined ? [] : requested.filter((id) => identityResourceGroup(id) === group);
    if (identityIds.length > 0 || ctx.target) {
      return new IdentityRejectedError(`identity resource group not found: ${f.message}`, { ...details, identityIds, reason: 'not-found' });
    }
    return new UnexpectedArmError(`resource group not found: ${f.message}`, details);
  }
  const identityName = NAMED_IDENTITY.exec(f.message)?.[1]?.toLowerCase();
  if (identityName !== undefined) {
    const identityIds = requested.filter((id) => id.toLowerCase().endsWith(`/userassignedidentities/${identityName}`));
    return new IdentityRejectedError(`identity not found: ${f.message}`, { ...details, identityIds, reason: 'not-found' });
  }
  return new TargetNotFoundError(`target not found: ${f.message}`, details);
}

function identityResourceGroup(id: string): string | undefined {
  return /\/resourcegroups\/([^/]+)\//i.exec(id)?.[1]?.toLowerCase();
}
