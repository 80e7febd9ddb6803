/**
 * Kubernetes `Status` errors as the real API server shapes them (`metav1.Status`, reasons and codes
 * from `k8s.io/apimachinery/pkg/api/errors`).
 */

/** One entry of `Status.details.causes` (a field-level validation problem). */
export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

/** `Status.details`. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The wire shape of a `metav1.Status`. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error that the server answers with a Kubernetes `Status` body and the given HTTP code. */
export class KubeStatusError extends Error {
  override readonly name = 'KubeStatusError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The `Status` body for this error. */
  toStatus(): StatusBody {
    const body: StatusBody = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) body.details = this.details;
    return body;
  }
}

/** True when `e` is a {@link KubeStatusError}. */
export function isKubeStatusError(e: unknown): e is KubeStatusError {
  return e instanceof KubeStatusError;
}

/** A group/resource pair used to phrase messages (`pods`, `azureidentities.aadpodidentity.k8s.io`). */
export interface GroupResource {
  group: string;
  plural: string;
}

/** `pods` or `leases.coordination.k8s.io`, as the real server prints a qualified resource. */
export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.plural}.${gr.group}` : gr.plural;
}

/** 404 NotFound for a named object. */
export function notFound(gr: GroupResource, name: string): KubeStatusError {
  return new KubeStatusError(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, {
    name,
    group: gr.group || undefined,
    kind: gr.plural,
  });
}

/** 404 NotFound for an unknown URL. */
export function pathNotFound(): KubeStatusError {
  return new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

/** 409 AlreadyExists. */
export function alreadyExists(gr: GroupResource, name: string): KubeStatusError {
  return new KubeStatusError(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, {
    name,
    group: gr.group || undefined,
    kind: gr.plural,
  });
}

/** 409 Conflict on a stale `resourceVersion` (optimistic concurrency). */
export function conflict(gr: GroupResource, name: string, why?: string): KubeStatusError {
  const reason = why ?? 'the object has been modified; please apply your changes to the latest version and try again';
  return new KubeStatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${reason}`, {
    name,
    group: gr.group || undefined,
    kind: gr.plural,
  });
}

/** 422 Invalid with field causes; `kind` is the (group-qualified for non-core) kind. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): KubeStatusError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new KubeStatusError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, {
    name,
    group: group || undefined,
    kind,
    causes,
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): KubeStatusError {
  return new KubeStatusError(400, 'BadRequest', message);
}

/** 410 Gone with reason Expired (watch or continue token older than the kept history). */
export function expired(message: string): KubeStatusError {
  return new KubeStatusError(410, 'Expired', message);
}

/** 401 Unauthorized. */
export function unauthorized(): KubeStatusError {
  return new KubeStatusError(401, 'Unauthorized', 'Unauthorized');
}

/** 403 Forbidden. */
export function forbidden(message: string, details?: StatusDetails): KubeStatusError {
  return new KubeStatusError(403, 'Forbidden', message, details);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(): KubeStatusError {
  return new KubeStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

/** 415 UnsupportedMediaType. */
export function unsupportedMediaType(contentType: string, accepted: string[]): KubeStatusError {
  return new KubeStatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    { causes: [{ reason: 'UnsupportedMediaType', message: contentType }] },
  );
}

/** 413 RequestEntityTooLarge. */
export function tooLarge(limit: number): KubeStatusError {
  return new KubeStatusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

/** A Status for an arbitrary injected failure (`controls.failNext`). */
export function injected(code: number, reason?: string, message?: string): KubeStatusError {
  return new KubeStatusError(code, reason ?? defaultReason(code), message ?? `injected failure (${code})`);
}

/** The reason the real server uses for a bare HTTP code (`NewGenericServerResponse`). */
export function defaultReason(code: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    406: 'NotAcceptable',
    409: 'Conflict',
    410: 'Expired',
    413: 'RequestEntityTooLarge',
    415: 'UnsupportedMediaType',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  return reasons[code] ?? 'Unknown';
}
