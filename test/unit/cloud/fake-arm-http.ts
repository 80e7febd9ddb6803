/**
 * An in-memory ARM for SDK wiring tests: an `httpClient` (`sendRequest`) that serves GET/PATCH of
 * VMSS and VMs with the `{}`/`null` identity delta, answers PATCH with 202 + Azure-AsyncOperation +
 * Location like Compute does, and records every request. Resources carry an `etag` that changes on
 * every write (`put`, `touch` or PATCH); a PATCH whose `If-Match` differs gets 412 like ARM.
 */
import { createHttpHeaders } from '@azure/core-rest-pipeline';
import type { HttpClient, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';

/** A stored VM/VMSS. */
export interface FakeResource {
  type: string;
  userAssigned: string[];
  provisioningState?: string;
  /** Version behind the etag (set by the fake). */
  version?: number;
}

/** One recorded request. */
export interface RecordedRequest {
  method: string;
  path: string;
  url: string;
  body: string | undefined;
  authorization: string | undefined;
  userAgent: string | undefined;
  ifMatch: string | undefined;
}

/** A scripted failure of the next matching request. */
export interface FailureRule {
  method?: string;
  path?: RegExp;
  status: number;
  code?: string;
  message?: string;
  headers?: Record<string, string>;
  /** Let the PATCH be accepted (202) but make its async operation fail with this code/message. */
  asyncFailure?: boolean;
  /** Never answer (until the request is aborted). */
  hang?: boolean;
}

const BASE = 'https://management.azure.com';

/** See file comment. */
export class FakeArmHttpClient implements HttpClient {
  readonly resources = new Map<string, FakeResource>();
  readonly requests: RecordedRequest[] = [];
  readonly #failures: FailureRule[] = [];
  /** Resources per page of a LIST (`GET …/virtualMachineScaleSets`); later pages are linked by `nextLink`. */
  listPageSize = 2;
  readonly #operations = new Map<string, { error?: { code: string; message: string } }>();
  #nextOp = 0;

  /** Adds a VMSS or VM at its ARM path. */
  put(path: string, resource: FakeResource): void {
    const version = (this.resources.get(path.toLowerCase())?.version ?? 0) + 1;
    this.resources.set(path.toLowerCase(), { ...resource, userAssigned: resource.userAssigned.map((id) => id.toLowerCase()), version });
  }

  /** The current etag of a stored resource. */
  etag(path: string): string | undefined {
    const r = this.get(path);
    return r ? etagOf(r) : undefined;
  }

  /** Reads a stored resource. */
  get(path: string): FakeResource | undefined {
    return this.resources.get(path.toLowerCase());
  }

  /** Queues a failure for the next matching request. */
  failNext(rule: FailureRule): void {
    this.#failures.push(rule);
  }

  /** Requests other than LRO polls and the final Location GET. */
  get armCalls(): RecordedRequest[] {
    return this.requests.filter((r) => !r.path.startsWith('/operations/') && !r.url.includes('final=1'));
  }

  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const url = new URL(request.url);
    const body = typeof request.body === 'string' ? request.body : undefined;
    this.requests.push({
      method: request.method,
      path: url.pathname,
      url: request.url,
      body,
      authorization: request.headers.get('authorization'),
      userAgent: request.headers.get('user-agent'),
      ifMatch: request.headers.get('if-match'),
    });
    if (request.abortSignal?.aborted) throw abortError();
    const index = this.#failures.findIndex((f) => (!f.method || f.method === request.method) && (!f.path || f.path.test(url.pathname)));
    const failure = index >= 0 ? this.#failures.splice(index, 1)[0] : undefined;
    if (failure?.hang) {
      return new Promise((_resolve, reject) => request.abortSignal?.addEventListener('abort', () => reject(abortError()), { once: true }));
    }
    if (failure && !failure.asyncFailure) {
      return respond(request, failure.status, { error: { code: failure.code ?? 'Error', message: failure.message ?? 'failed' } }, failure.headers);
    }

    if (url.pathname.startsWith('/operations/')) {
      const op = this.#operations.get(url.pathname);
      return respond(request, 200, op?.error ? { status: 'Failed', error: op.error } : { status: 'Succeeded' });
    }
    if (request.method === 'GET' && /\/providers\/Microsoft\.Compute\/(virtualMachineScaleSets|virtualMachines)$/i.test(url.pathname)) {
      return this.#list(request, url);
    }
    const resource = this.resources.get(url.pathname.toLowerCase());
    if (!resource) return respond(request, 404, { error: { code: 'ResourceNotFound', message: `The Resource '${url.pathname}' was not found.` } });
    if (request.method === 'GET') return respond(request, 200, toArm(url.pathname, resource));
    if (request.method === 'PATCH') {
      const ifMatch = request.headers.get('if-match');
      if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(resource)) {
        return respond(request, 412, { error: { code: 'PreconditionFailed', message: 'The condition specified using HTTP conditional header(s) is not met.' } });
      }
      const opPath = `/operations/op${++this.#nextOp}`;
      if (failure?.asyncFailure) {
        this.#operations.set(opPath, { error: { code: failure.code ?? 'Error', message: failure.message ?? 'failed' } });
      } else {
        applyPatch(resource, JSON.parse(body ?? '{}') as { identity?: { type?: string; userAssignedIdentities?: Record<string, unknown> } });
        resource.version = (resource.version ?? 0) + 1;
        this.#operations.set(opPath, {});
      }
      return respond(request, 202, undefined, {
        'azure-asyncoperation': `${BASE}${opPath}?api-version=x`,
        location: `${BASE}${url.pathname}?api-version=x&final=1`,
      });
    }
    return respond(request, 405, { error: { code: 'MethodNotAllowed', message: request.method } });
  }

  /** One page of a LIST of a resource group's VMSS or VMs (`skip` in the query names the page). */
  #list(request: PipelineRequest, url: URL): PipelineResponse {
    const prefix = `${url.pathname.toLowerCase()}/`;
    const all = [...this.resources].filter(([path]) => path.startsWith(prefix) && !path.slice(prefix.length).includes('/'));
    const skip = Number(url.searchParams.get('skip') ?? '0');
    const page = all.slice(skip, skip + this.listPageSize).map(([path, r]) => toArm(path, r));
    const next = skip + this.listPageSize < all.length ? `${BASE}${url.pathname}?api-version=x&skip=${skip + this.listPageSize}` : undefined;
    return respond(request, 200, { value: page, ...(next ? { nextLink: next } : {}) });
  }
}

function applyPatch(resource: FakeResource, patch: { identity?: { type?: string; userAssignedIdentities?: Record<string, unknown> } }): void {
  const identity = patch.identity;
  if (!identity) return;
  if (identity.type === 'None' || identity.type === 'SystemAssigned') resource.userAssigned = [];
  for (const [id, value] of Object.entries(identity.userAssignedIdentities ?? {})) {
    const key = id.toLowerCase();
    resource.userAssigned = resource.userAssigned.filter((x) => x !== key);
    if (value !== null) resource.userAssigned.push(key);
  }
  if (identity.type) resource.type = identity.type;
}

function toArm(path: string, r: FakeResource): unknown {
  return {
    id: path,
    name: path.split('/').pop(),
    location: 'westeurope',
    etag: etagOf(r),
    identity: {
      type: r.type,
      ...(r.userAssigned.length > 0
        ? { userAssignedIdentities: Object.fromEntries(r.userAssigned.map((id) => [id.replace('/resourcegroups/', '/resourceGroups/'), { principalId: 'p', clientId: 'c' }])) }
        : {}),
    },
    properties: r.provisioningState ? { provisioningState: r.provisioningState } : {},
  };
}

function etagOf(r: FakeResource): string {
  return `"${r.version ?? 0}"`;
}

function respond(request: PipelineRequest, status: number, body?: unknown, headers: Record<string, string> = {}): PipelineResponse {
  return {
    request,
    status,
    headers: createHttpHeaders({ 'content-type': 'application/json', 'x-ms-request-id': `req-${status}`, ...headers }),
    ...(body === undefined ? {} : { bodyAsText: JSON.stringify(body) }),
  };
}

function abortError(): Error {
  const e = new Error('The operation was aborted.');
  e.name = 'AbortError';
  return e;
}
