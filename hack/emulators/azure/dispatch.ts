/**
 * Request pipeline of the emulator: views, fault injection, token endpoints, then ARM with bearer
 * authentication, throttling and audit. One function per plane: the HTTPS plane (ARM, Entra ID,
 * IMDS, views) and the plain-HTTP IMDS plane.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { type ArmError, defaultCodeFor, invalidAuthenticationToken, isArmError, throttled } from './arm-errors.js';
import { resolveArmRoute, retryAfterHeaders } from './arm-routes.js';
import type { EmulatorCore } from './core.js';
import { readBody, send, type Reply } from './http-util.js';
import { identityTypeOf } from './identity-patch.js';
import { etagOf } from './store.js';
import type { CallKind } from './throttling.js';
import { clientCredentialsToken, imdsToken, openIdConfiguration } from './token-endpoints.js';

const IMDS_PATH = /^\/metadata\/identity\/oauth2\/token\/?$/i;

interface TokenRoute {
  handle(body: string): Reply;
}

function resolveTokenRoute(core: EmulatorCore, method: string, url: URL, req: IncomingMessage): TokenRoute | undefined {
  const path = url.pathname;
  let m: RegExpExecArray | null;
  if (IMDS_PATH.test(path)) {
    return { handle: () => (method === 'GET' ? imdsToken(req.headers, url.searchParams, core.store, core.tokens) : { status: 405, body: { error: 'invalid_request', error_description: 'Only GET is supported' } }) };
  }
  if ((m = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration\/?$/i.exec(path))) {
    const tenant = decodeURIComponent(m[1] ?? '');
    return { handle: () => openIdConfiguration(core.baseUrl, core.sp, tenant) };
  }
  if ((m = /^\/([^/]+)\/oauth2\/v2\.0\/token\/?$/i.exec(path))) {
    const tenant = decodeURIComponent(m[1] ?? '');
    return {
      handle: (body) => (method === 'POST' ? clientCredentialsToken(core.sp, tenant, new URLSearchParams(body), core.tokens) : { status: 405, body: { error: 'invalid_request' } }),
    };
  }
  if (/^\/common\/discovery\/instance\/?$/i.test(path)) {
    // MSAL instance discovery (only reached if a client points its discovery here explicitly).
    const host = new URL(core.baseUrl).host;
    return {
      handle: () => ({
        status: 200,
        body: {
          tenant_discovery_endpoint: `${core.baseUrl}/${core.sp.tenantId}/v2.0/.well-known/openid-configuration`,
          'api-version': '1.1',
          metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
        },
      }),
    };
  }
  return undefined;
}

/** JSON view of every VM/VMSS and identity (`GET /_emulator/state`). */
export function stateView(core: EmulatorCore): Record<string, unknown> {
  return {
    resources: core.store.resources().map((r) => ({
      id: r.id,
      kind: r.kind,
      type: identityTypeOf(core.store.identityState(r)),
      systemAssigned: r.system ? r.system.principalId : null,
      userAssigned: [...r.userAssigned],
      provisioningState: r.provisioningState,
      etag: etagOf(r),
      ...(r.kind === 'vmss' ? { orchestrationMode: r.orchestrationMode, instances: [...r.instances] } : {}),
      ...(r.vmssFlexId ? { vmssFlex: r.vmssFlexId } : {}),
    })),
    identities: core.store.identities().map((i) => ({ id: i.id, clientId: i.clientId, principalId: i.principalId, assignable: i.assignable })),
  };
}

/**
 * `POST /_emulator/resource-identities` `{ armId, userAssigned?, systemAssigned?, by? }`: an out-of-band
 * write (another actor than the controller) to a VM/VMSS's identities, for out-of-process tests. Audited
 * in the identity change log as `backdoor:<by>`; bumps the etag like any write. Answers the new state.
 */
function outOfBandWrite(core: EmulatorCore, raw: string): Reply {
  let body: { armId?: unknown; userAssigned?: unknown; systemAssigned?: unknown; by?: unknown };
  try {
    body = JSON.parse(raw) as typeof body;
  } catch {
    return { status: 400, body: { error: { code: 'BadRequest', message: 'body must be JSON' } } };
  }
  const resource = typeof body.armId === 'string' ? core.store.resource(body.armId) : undefined;
  if (!resource) return { status: 404, body: { error: { code: 'NotFound', message: 'no VM or VMSS with that armId' } } };
  if (body.userAssigned !== undefined && !(Array.isArray(body.userAssigned) && body.userAssigned.every((i) => typeof i === 'string'))) {
    return { status: 400, body: { error: { code: 'BadRequest', message: 'userAssigned must be a list of identity IDs' } } };
  }
  const userAssigned = (body.userAssigned as string[] | undefined)?.map((i) => i.toLowerCase()) ?? [...resource.userAssigned];
  const systemAssigned = typeof body.systemAssigned === 'boolean' ? body.systemAssigned : resource.system !== undefined;
  core.store.setIdentityState(resource, { systemAssigned, userAssigned }, `backdoor:${typeof body.by === 'string' ? body.by : 'http'}`, core.clock.realNow());
  return { status: 200, body: { ...core.store.summary(resource), etag: etagOf(resource) } };
}

function errorReply(e: ArmError, timeScale: number): Reply {
  return { status: e.status, headers: e.retryAfterMs !== undefined ? retryAfterHeaders(e.retryAfterMs, timeScale) : {}, body: e.body() };
}

/** Handles one request on the HTTPS plane (`plane: 'arm'`) or the plain IMDS plane (`'imds'`). */
export async function dispatch(core: EmulatorCore, req: IncomingMessage, res: ServerResponse, plane: 'arm' | 'imds'): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', core.baseUrl);
  const path = url.pathname;
  core.ops.settle(core.clock.now());

  if (plane === 'arm' && /^\/_emulator\//.test(path)) {
    if (path === '/_emulator/state') return send(res, { status: 200, body: stateView(core) });
    if (path === '/_emulator/resource-identities' && method === 'POST') return send(res, outOfBandWrite(core, await readBody(req)));
    if (path === '/_emulator/audit') return send(res, { status: 200, body: { entries: core.audit.entries(), counters: core.audit.counters() } });
    return send(res, { status: 404, body: { error: { code: 'NotFound', message: 'unknown emulator view' } } });
  }

  const tokenRoute = resolveTokenRoute(core, method, url, req);
  const armRoute = plane === 'arm' && !tokenRoute ? resolveArmRoute(core, method, url) : undefined;
  const kind: CallKind = tokenRoute ? 'token' : (armRoute?.kind ?? 'read');
  const resource = armRoute?.resource;
  const record = (status: number): void =>
    core.audit.record({ at: core.clock.realNow(), method, path, status, kind, ...(resource ? { resource } : {}), userAgent: String(req.headers['user-agent'] ?? '') });
  const reply = (r: Reply): void => {
    send(res, { ...r, headers: { 'x-ms-request-id': randomUUID(), ...(r.headers ?? {}) } });
    record(r.status);
  };

  const body = await readBody(req);

  const fault = core.faults.take(method, path);
  if (fault) {
    if (fault.drop) {
      record(0);
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
    const code = fault.code ?? defaultCodeFor(fault.status);
    return reply({ status: fault.status, headers, body: { error: { code, message: fault.message ?? `Injected failure (${code}).` } } });
  }

  if (tokenRoute) return reply(tokenRoute.handle(body));
  if (!armRoute) return reply({ status: 404, body: { error: { code: 'NotFound', message: `No route for '${path}'.` } } });

  const auth = core.tokens.check(req.headers.authorization);
  if (!auth.ok) {
    const e = invalidAuthenticationToken(auth.reason);
    return reply({
      ...errorReply(e, core.clock.scale),
      headers: { 'www-authenticate': `Bearer authorization_uri="${core.baseUrl}/${core.sp.tenantId}", error="invalid_token", error_description="${auth.reason}"` },
    });
  }

  const decision = core.throttler.admit(armRoute.throttle, core.clock.now());
  if (!decision.ok) {
    const e = throttled(decision.policy ?? 'unknown', decision.retryAfterMs, decision.policy?.startsWith('Subscription') ?? false);
    const r = errorReply(e, core.clock.scale);
    return reply({ ...r, headers: { ...decision.headers, ...(r.headers ?? {}) } });
  }

  let result: Reply;
  try {
    result = armRoute.handle(body, auth.grant, req.headers);
  } catch (err) {
    if (!isArmError(err)) throw err;
    result = errorReply(err, core.clock.scale);
  }
  reply({ ...result, headers: { ...decision.headers, ...(result.headers ?? {}) } });
}

/** Wraps {@link dispatch} so an unexpected failure becomes a 500 instead of a hung request. */
export function requestListener(core: EmulatorCore, plane: 'arm' | 'imds'): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    dispatch(core, req, res, plane).catch((err: unknown) => {
      if (!res.headersSent) {
        send(res, { status: 500, body: { error: { code: 'InternalServerError', message: err instanceof Error ? err.message : String(err) } } });
      } else {
        res.destroy();
      }
    });
  };
}
