/**
 * ARM request routing: works out what a request is (read, write, poll), which resource it
 * concerns (for throttling, audit and counters), and produces the reply.
 */
import {
  ArmError,
  failedIdentityOperation,
  isArmError,
  linkedAuthorizationFailed,
  operationInProgress,
  preconditionFailed,
  resourceGroupNotFound,
  resourceNotFound,
  tooManyIdentitiesOnResource,
} from './arm-errors.js';
import { computeResourceJson, identityJson, vmssInstanceJson } from './arm-resources.js';
import type { EmulatorCore } from './core.js';
import type { FailRule } from './faults.js';
import { retryAfterSeconds, type Reply } from './http-util.js';
import { applyIdentityPatch } from './identity-patch.js';
import type { Operation } from './operations.js';
import { etagOf, type ComputeResource } from './store.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { CallKind, ThrottleTarget } from './throttling.js';
import type { TokenGrant } from './tokens.js';

/** A resolved ARM request. */
export interface ArmRoute {
  kind: CallKind;
  throttle: ThrottleTarget;
  /** Lower-cased ARM ID of the concerned resource (audit, counters). */
  resource?: string;
  /** Produces the reply; may throw {@link ArmError}. */
  handle(body: string, caller: TokenGrant, headers: IncomingHttpHeaders): Reply;
}

const SUB = '/subscriptions/([^/]+)';
const RG = '/resourcegroups/([^/]+)';
const COMPUTE = '/providers/microsoft\\.compute';
const MSI = '/providers/microsoft\\.managedidentity/userassignedidentities';

/** Matches `pattern` case-insensitively against the path and returns the captured segments as sent. */
function match(path: string, pattern: string): string[] | undefined {
  const m = new RegExp(`^${pattern}/?$`, 'i').exec(path);
  return m ? m.slice(1).map((s) => decodeURIComponent(s)) : undefined;
}

/** First Compute api-version whose VM/VMSS responses carry an `etag` (older versions omit it). */
export const ETAG_API_VERSION = '2023-09-01';

/** Whether responses of this Compute api-version carry the `etag` (body field and `ETag` header). */
export function reportsEtag(apiVersion: string): boolean {
  return apiVersion >= ETAG_API_VERSION;
}

/** A VM/VMSS GET (or LRO final) reply: the body, plus the `ETag` header and field where the api-version has them. */
function computeReply(core: EmulatorCore, resource: ComputeResource, apiVersion: string): Reply {
  const withEtag = reportsEtag(apiVersion);
  return {
    status: 200,
    ...(withEtag ? { headers: { etag: etagOf(resource) } } : {}),
    body: computeResourceJson(core.store, resource, { etag: withEtag }),
  };
}

/**
 * ARM's `If-Match` on a write: absent → no condition; `*` → the resource must exist (it does here);
 * anything else must equal the current etag (quotes and a weak `W/` prefix are ignored), else 412.
 */
function checkIfMatch(resource: ComputeResource, headers: IncomingHttpHeaders): void {
  const raw = headers['if-match'];
  if (raw === undefined) return;
  const wanted = (Array.isArray(raw) ? raw.join(',') : raw).split(',').map(normaliseEtag).filter((t) => t !== '');
  if (wanted.length === 0 || wanted.includes('*')) return;
  if (!wanted.includes(normaliseEtag(etagOf(resource)))) throw preconditionFailed();
}

function normaliseEtag(tag: string): string {
  return tag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

function methodNotAllowed(method: string): ArmError {
  return new ArmError(405, 'MethodNotAllowed', `The requested method '${method}' is not allowed on this resource.`);
}

/** Resolves an ARM request, or undefined when no ARM route matches. */
export function resolveArmRoute(core: EmulatorCore, method: string, url: URL): ArmRoute | undefined {
  const path = url.pathname;
  const apiVersion = url.searchParams.get('api-version') ?? '2024-11-01';
  let m: string[] | undefined;

  if ((m = match(path, `${SUB}${COMPUTE}/locations/([^/]+)/operations/([^/]+)`))) {
    const [sub = '', , opId = ''] = m;
    const op = core.ops.get(opId);
    return {
      kind: 'poll',
      throttle: { kind: 'poll', subscription: sub, provider: op?.resource.kind ?? 'vmss', ...(op ? { resourceId: op.resource.id.toLowerCase() } : {}) },
      ...(op ? { resource: op.resource.id.toLowerCase() } : {}),
      handle: () => {
        if (method !== 'GET') throw methodNotAllowed(method);
        if (!op) throw new ArmError(404, 'NotFound', `The operation '${opId}' was not found.`);
        return url.searchParams.get('monitor') === 'true' ? monitorReply(core, op, url, apiVersion) : statusReply(core, op);
      },
    };
  }

  if ((m = match(path, `${SUB}${RG}${COMPUTE}/virtualmachinescalesets/([^/]+)/virtualmachines/([^/]+)`))) {
    const [sub = '', rg = '', name = '', instance = ''] = m;
    const vmss = core.store.resource(`/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`);
    const resourceId = vmss?.id.toLowerCase();
    return {
      kind: 'read',
      throttle: { kind: 'read', subscription: sub, provider: 'vmss', ...(resourceId ? { resourceId: `${resourceId}/virtualmachines/${instance}` } : {}) },
      ...(resourceId ? { resource: resourceId } : {}),
      handle: () => {
        if (method !== 'GET') throw methodNotAllowed(method);
        if (!vmss || !vmss.instances.includes(instance)) {
          throw resourceNotFound('Microsoft.Compute/virtualMachineScaleSets', `${name}/virtualMachines/${instance}`, rg);
        }
        return { status: 200, body: vmssInstanceJson(vmss, instance) };
      },
    };
  }

  if ((m = match(path, `${SUB}${RG}${COMPUTE}/virtualmachinescalesets/([^/]+)/virtualmachines`))) {
    const [sub = '', rg = '', name = ''] = m;
    const vmss = core.store.resource(`/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`);
    return {
      kind: 'read',
      throttle: { kind: 'read', subscription: sub, provider: 'vmss' },
      ...(vmss ? { resource: vmss.id.toLowerCase() } : {}),
      handle: () => {
        if (method !== 'GET') throw methodNotAllowed(method);
        if (!vmss) throw resourceNotFound('Microsoft.Compute/virtualMachineScaleSets', name, rg);
        return { status: 200, body: { value: vmss.instances.map((i) => vmssInstanceJson(vmss, i)) } };
      },
    };
  }

  for (const [segment, kind, type] of [
    ['virtualmachinescalesets', 'vmss', 'Microsoft.Compute/virtualMachineScaleSets'],
    ['virtualmachines', 'vm', 'Microsoft.Compute/virtualMachines'],
  ] as const) {
    if ((m = match(path, `${SUB}${RG}${COMPUTE}/${segment}/([^/]+)`))) {
      const [sub = '', rg = '', name = ''] = m;
      const armId = `/subscriptions/${sub}/resourceGroups/${rg}/providers/${type}/${name}`;
      const resource = core.store.resource(armId);
      const callKind: CallKind = method === 'PATCH' || method === 'PUT' ? 'write' : 'read';
      const resourceId = (resource?.id ?? armId).toLowerCase();
      return {
        kind: callKind,
        throttle: { kind: callKind, subscription: sub, provider: kind, resourceId },
        resource: resourceId,
        handle: (body, caller, headers) => {
          if (!core.store.hasResourceGroup(sub, rg)) throw resourceGroupNotFound(rg);
          if (!resource || resource.kind !== kind) throw resourceNotFound(type, name, rg);
          if (method === 'GET') return computeReply(core, resource, apiVersion);
          if (method === 'PATCH') {
            checkIfMatch(resource, headers);
            return patchReply(core, resource, body, caller, apiVersion, path, headers['user-agent']);
          }
          throw methodNotAllowed(method);
        },
      };
    }
    if ((m = match(path, `${SUB}${RG}${COMPUTE}/${segment}`))) {
      const [sub = '', rg = ''] = m;
      return {
        kind: 'read',
        throttle: { kind: 'read', subscription: sub, provider: kind },
        handle: () => {
          if (method !== 'GET') throw methodNotAllowed(method);
          const value = core.store
            .resources()
            .filter((r) => r.kind === kind && r.subscription.toLowerCase() === sub.toLowerCase() && r.resourceGroup.toLowerCase() === rg.toLowerCase())
            .map((r) => computeResourceJson(core.store, r, { etag: reportsEtag(apiVersion) }));
          return { status: 200, body: { value } };
        },
      };
    }
  }

  if ((m = match(path, `${SUB}${RG}${MSI}/([^/]+)`))) {
    const [sub = '', rg = '', name = ''] = m;
    const identity = core.store.identity(`/subscriptions/${sub}/resourcegroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`);
    return {
      kind: 'read',
      throttle: { kind: 'read', subscription: sub, provider: 'identity' },
      ...(identity ? { resource: identity.id.toLowerCase() } : {}),
      handle: () => {
        if (method !== 'GET') throw methodNotAllowed(method);
        if (!identity && !core.store.hasResourceGroup(sub, rg)) throw resourceGroupNotFound(rg);
        if (!identity) throw resourceNotFound('Microsoft.ManagedIdentity/userAssignedIdentities', name, rg);
        return { status: 200, body: identityJson(identity) };
      },
    };
  }

  const list = match(path, `${SUB}${RG}${MSI}`) ?? match(path, `${SUB}${MSI}`);
  if (list) {
    const [sub = '', rg] = list;
    return {
      kind: 'read',
      throttle: { kind: 'read', subscription: sub, provider: 'identity' },
      handle: () => {
        if (method !== 'GET') throw methodNotAllowed(method);
        return { status: 200, body: { value: core.store.identities(sub, rg).map(identityJson) } };
      },
    };
  }

  if ((m = match(path, `${SUB}(?:/.*)?`))) {
    const [sub = ''] = m;
    return {
      kind: method === 'GET' ? 'read' : 'write',
      throttle: { kind: method === 'GET' ? 'read' : 'write', subscription: sub, provider: 'other' },
      handle: () => {
        throw new ArmError(404, 'InvalidResourceType', `The resource type for path '${path}' could not be found in the emulator.`);
      },
    };
  }
  return undefined;
}

/**
 * Real seconds until `op` completes (rounded up, capped at 10), for `Retry-After` on polls; none under
 * a second. Rounded up because the SDK keeps the last hint when a later poll carries none: a hint that
 * ends before the operation would make it wait a second full interval.
 */
function pollRetryAfter(core: EmulatorCore, op: Operation): Record<string, string> {
  const realMs = core.clock.toRealMs(op.doneAt - core.clock.now());
  if (realMs < 1000) return {};
  return { 'retry-after': String(Math.min(10, Math.ceil(realMs / 1000))) };
}

function operationUrls(core: EmulatorCore, op: Operation, apiVersion: string): { async: string; location: string } {
  const base = `${core.baseUrl}/subscriptions/${op.resource.subscription}/providers/Microsoft.Compute/locations/${op.resource.location}/operations/${op.id}`;
  return { async: `${base}?api-version=${apiVersion}`, location: `${base}?monitor=true&api-version=${apiVersion}` };
}

function statusReply(core: EmulatorCore, op: Operation): Reply {
  const body: Record<string, unknown> = { name: op.id, startTime: new Date(core.clock.realTimeOf(op.startedAt)).toISOString(), status: op.status };
  if (op.status !== 'InProgress') body.endTime = new Date(core.clock.realTimeOf(op.doneAt)).toISOString();
  if (op.status === 'Failed' && op.failure) body.error = { code: op.failure.code, message: op.failure.message };
  return { status: 200, headers: op.status === 'InProgress' ? pollRetryAfter(core, op) : {}, body };
}

function monitorReply(core: EmulatorCore, op: Operation, url: URL, apiVersion: string): Reply {
  if (op.status === 'InProgress') {
    return { status: 202, headers: { location: `${core.baseUrl}${url.pathname}${url.search}`, ...pollRetryAfter(core, op) } };
  }
  if (op.status === 'Failed' && op.failure) {
    return { status: op.failure.status, body: { error: { code: op.failure.code, message: op.failure.message } } };
  }
  return computeReply(core, op.resource, apiVersion);
}

function parseJson(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch (cause) {
    throw new ArmError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized.', { cause });
  }
  throw new ArmError(400, 'InvalidRequestContent', 'The request content must be a JSON object.');
}

/** Validates a PATCH and starts its long-running operation (202), or throws the ARM error. */
function patchReply(
  core: EmulatorCore, resource: ComputeResource, rawBody: string, caller: TokenGrant, apiVersion: string, path: string, userAgent: string | undefined,
): Reply {
  const now = core.clock.now();
  const running = core.ops.running(resource);
  if (running) throw operationInProgress(resource.id, running.id, running.doneAt - now);

  const body = parseJson(rawBody);
  const identity = body.identity;
  const outcome = applyIdentityPatch(core.store.identityState(resource), identity);
  if (isArmError(outcome)) throw outcome;

  const sentAs = new Map<string, string>();
  const delta = (identity as { userAssignedIdentities?: Record<string, unknown> } | undefined)?.userAssignedIdentities;
  if (delta && typeof delta === 'object') for (const key of Object.keys(delta)) sentAs.set(key.toLowerCase(), key);
  const asSent = (id: string): string => sentAs.get(id) ?? id;

  // ARM resolves each linked identity's resource group first: a missing one is a 404 naming that group.
  for (const id of outcome.requested) {
    const [, idSub = '', idRg = ''] = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\//.exec(id) ?? [];
    if (!core.store.hasResourceGroup(idSub, idRg)) throw resourceGroupNotFound(/\/resourcegroups\/([^/]+)\//i.exec(asSent(id))?.[1] ?? idRg);
  }
  const unauthorized = outcome.requested.filter((id) => core.store.identity(id)?.assignable === false);
  if (unauthorized.length > 0) throw linkedAuthorizationFailed(caller.objectId, resource.kind, resource.id, unauthorized.map(asSent));
  const missing = outcome.requested.filter((id) => !core.store.identity(id));
  if (missing.length > 0) throw failedIdentityOperation(missing.map(asSent));
  if (outcome.state.userAssigned.length > core.settings.maxIdentitiesPerResource) {
    throw tooManyIdentitiesOnResource(outcome.state.userAssigned.length, core.settings.maxIdentitiesPerResource, resource.id);
  }

  const injected: FailRule | undefined = core.faults.take('PATCH', path, { lroOnly: true });
  const failure = injected
    ? { status: injected.status, code: injected.code ?? 'InternalExecutionError', message: injected.message ?? 'An internal execution error occurred. Please retry later.' }
    : undefined;
  const op = core.ops.start(
    resource,
    now,
    core.settings.lroLatencyMs,
    (doneAt) => {
      // Re-apply the delta to the state at completion (a back-door change may have happened meanwhile).
      const final = applyIdentityPatch(core.store.identityState(resource), identity);
      const writer = { by: 'arm-client', request: identity, ...(userAgent !== undefined ? { agent: userAgent } : {}) };
      if (!isArmError(final)) core.store.setIdentityState(resource, final.state, writer, core.clock.realTimeOf(doneAt));
    },
    failure,
  );
  const urls = operationUrls(core, op, apiVersion);
  const headers: Record<string, string> = { 'azure-asyncoperation': urls.async, location: urls.location };
  const realSeconds = Math.floor(core.clock.toRealMs(core.settings.lroLatencyMs) / 1000);
  if (realSeconds >= 1) headers['retry-after'] = String(Math.min(10, realSeconds));
  return { status: 202, headers };
}

/** `Retry-After` (and, when time is scaled, `x-ms-retry-after-ms`) headers for an emulated wait. */
export function retryAfterHeaders(emulatedMs: number, timeScale: number): Record<string, string> {
  const headers: Record<string, string> = { 'retry-after': String(retryAfterSeconds(emulatedMs, timeScale)) };
  if (timeScale !== 1) headers['x-ms-retry-after-ms'] = String(Math.max(1, Math.ceil(emulatedMs / timeScale)));
  return headers;
}
