/**
 * The HTTP front: bearer-token auth, routing of discovery/OpenAPI/resource URLs, fault injection
 * hooks, request decoding and response shaping. Resource semantics live in {@link ResourceService}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import YAML from 'yaml';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, openApiV3GroupVersion, openApiV3Root, versionInfo } from './discovery.js';
import type { KubeStatusError } from './errors.js';
import { badRequest, forbidden, injected, isKubeStatusError, methodNotAllowed, pathNotFound, tooLarge, unauthorized, unsupportedMediaType } from './errors.js';
import type { KubeObject } from './objects.js';
import { isPlainObject } from './objects.js';
import type { ResourceRegistry } from './registry.js';
import type { ResourceType } from './resource-type.js';
import { apiVersionOf } from './resource-type.js';
import type { FieldValidation, ResourceService, WriteOptions } from './service.js';
import { buildTable, metadataList, partialMetadata, responseShape } from './table.js';
import type { TrafficControl } from './traffic.js';
import { WatchStream } from './watch.js';

/** Largest request body the real server accepts. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Everything the request handler needs. */
export interface ServerDeps {
  service: ResourceService;
  registry: ResourceRegistry;
  traffic: TrafficControl;
  token: string;
  bookmarkIntervalMs: number;
  /** `host:port` for `/api` serverAddressByClientCIDRs. */
  serverAddress(): string;
  /** Open watch streams (for `dropWatches`). */
  watches: Set<WatchStream>;
}

/** A parsed resource URL. */
interface ResourceRoute {
  kind: 'resource';
  rt: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  watchPath: boolean;
}

type Route =
  | ResourceRoute
  | { kind: 'doc'; body: () => unknown }
  | { kind: 'public'; body: () => unknown }
  | { kind: 'notFound' };

const PUBLIC_PATHS = /^\/(version|healthz|livez|readyz)(\/.*)?$/;

/** Maps a URL path to a route. */
function route(pathname: string, deps: ServerDeps): Route {
  const { registry } = deps;
  if (pathname === '/version' || pathname === '/version/') return { kind: 'public', body: versionInfo };
  if (PUBLIC_PATHS.test(pathname)) return { kind: 'public', body: () => 'ok' };
  const seg = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  if (seg[0] === 'openapi' && seg[1] === 'v3') {
    if (seg.length === 2) return { kind: 'doc', body: () => openApiV3Root(registry) };
    const group = seg[2] === 'api' ? '' : (seg[3] ?? '');
    const version = seg[2] === 'api' ? (seg[3] ?? '') : (seg[4] ?? '');
    const doc = openApiV3GroupVersion(registry, group, version);
    return doc ? { kind: 'doc', body: () => doc } : { kind: 'notFound' };
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (seg[0] === 'api') {
    if (seg.length === 1) return { kind: 'doc', body: () => apiVersions(deps.serverAddress()) };
    group = '';
    version = seg[1] as string;
    rest = seg.slice(2);
  } else if (seg[0] === 'apis') {
    if (seg.length === 1) return { kind: 'doc', body: () => apiGroupList(registry) };
    const g = apiGroup(registry, seg[1] as string);
    if (!g) return { kind: 'notFound' };
    if (seg.length === 2) return { kind: 'doc', body: () => g };
    group = seg[1] as string;
    version = seg[2] as string;
    rest = seg.slice(3);
  } else {
    return { kind: 'notFound' };
  }
  if (!registry.hasGroupVersion(group, version)) return { kind: 'notFound' };
  if (rest.length === 0) return { kind: 'doc', body: () => apiResourceList(registry, group, version) };
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && registry.find(group, version, rest[2] as string)?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const rt = registry.find(group, version, rest[0] as string);
  if (!rt || rest.length > 3) return { kind: 'notFound' };
  const name = rest[1];
  const subresource = rest[2];
  if (subresource !== undefined && !(subresource === 'status' && rt.statusSubresource)) return { kind: 'notFound' };
  if (namespace !== undefined && !rt.namespaced) return { kind: 'notFound' };
  if (rt.namespaced && namespace === undefined && name !== undefined) return { kind: 'notFound' };
  return { kind: 'resource', rt, namespace, name, subresource, watchPath };
}

/** The Kubernetes verb of a request. */
function verbOf(method: string, r: Route, watch: boolean): string {
  if (r.kind !== 'resource') return method === 'GET' ? 'get' : method.toLowerCase();
  const item = r.name !== undefined;
  switch (method) {
    case 'GET':
      return watch ? 'watch' : item ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return item ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string | string[]> = {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-cache, private',
  };
  if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

function sendError(res: ServerResponse, e: KubeStatusError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = {};
  if (e.details?.retryAfterSeconds) headers['Retry-After'] = String(e.details.retryAfterSeconds);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  sendJson(res, e.code, e.toStatus());
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(tooLarge(MAX_BODY_BYTES));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseObjectBody(text: string, contentType: string): unknown {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/yaml') {
    try {
      return YAML.parse(text);
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: ${(e as Error).message}`);
    }
  }
  if (type !== '' && type !== 'application/json' && type !== '*/*') throw unsupportedMediaType(contentType, ['application/json', 'application/yaml']);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}

function writeOptions(q: URLSearchParams): WriteOptions {
  const fv = q.get('fieldValidation');
  if (fv !== null && fv !== '' && !['Strict', 'Warn', 'Ignore'].includes(fv)) {
    throw badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
  }
  const dryRun = q.getAll('dryRun');
  if (dryRun.some((d) => d !== 'All')) throw badRequest(`dryRun: Unsupported value: "${dryRun.join(',')}": supported values: "All"`);
  return {
    dryRun: dryRun.length > 0,
    ...(fv ? { fieldValidation: fv as FieldValidation } : {}),
    ...(q.get('fieldManager') ? { fieldManager: q.get('fieldManager') as string } : {}),
    force: q.get('force') === 'true',
  };
}

function stripTypeMeta(rt: ResourceType, o: KubeObject): KubeObject {
  if (!rt.builtin) return o;
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

/** Creates the `node:http` request listener. */
export function createRequestHandler(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handle(req, res, deps).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: String((e as Error)?.message ?? e), reason: 'InternalError', code: 500 });
      else res.destroy();
    });
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: ServerDeps): Promise<void> {
  const { traffic } = deps;
  const url = new URL(req.url ?? '/', 'http://emulator');
  const q = url.searchParams;
  const method = req.method ?? 'GET';
  const r = route(url.pathname, deps);
  const watch = r.kind === 'resource' && method === 'GET' && (r.watchPath || q.get('watch') === 'true' || q.get('watch') === '1');
  const verb = verbOf(method, r, watch);
  const at = Date.now();
  const resource = r.kind === 'resource' ? `${r.rt.plural}${r.subresource ? `/${r.subresource}` : ''}` : undefined;
  let recorded = false;
  const record = (status: number) => {
    if (recorded) return;
    recorded = true;
    traffic.record({ verb, path: url.pathname, status, at, query: q.toString(), userAgent: req.headers['user-agent'] ?? '' }, resource);
  };
  res.on('finish', () => record(res.statusCode));
  res.on('close', () => record(res.statusCode));

  const auth = req.headers.authorization;
  if (auth !== undefined && auth !== `Bearer ${deps.token}`) return sendError(res, unauthorized());
  if (auth === undefined && r.kind !== 'public') {
    const what = r.kind === 'resource'
      ? `${resource} is forbidden: User "system:anonymous" cannot ${verb} resource "${resource}" in API group "${r.rt.group}"${r.namespace ? ` in the namespace "${r.namespace}"` : ' at the cluster scope'}`
      : `forbidden: User "system:anonymous" cannot get path "${url.pathname}"`;
    return sendError(res, forbidden(what));
  }

  await traffic.whenRunning();
  const delay = traffic.latencyFor(verb, url.pathname);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  const failure = traffic.takeFailure(verb, url.pathname);
  if (failure) return sendError(res, injected(failure.status, failure.reason, failure.message));

  try {
    if (r.kind === 'notFound') throw pathNotFound();
    if (r.kind === 'public' || r.kind === 'doc') {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed();
      return sendJson(res, 200, r.body());
    }
    await handleResource(req, res, deps, r, q, verb);
    // a watch is logged when its stream starts, not when it ends
    if (verb === 'watch' && res.headersSent) record(res.statusCode);
  } catch (e) {
    if (isKubeStatusError(e)) return sendError(res, e);
    throw e;
  }
}

async function handleResource(req: IncomingMessage, res: ServerResponse, deps: ServerDeps, r: ResourceRoute, q: URLSearchParams, verb: string): Promise<void> {
  const { service } = deps;
  const { rt, subresource } = r;
  const namespace = r.namespace ?? '';
  const listNamespace = rt.namespaced ? r.namespace : undefined;
  const shape = responseShape(req.headers.accept, q.get('includeObject'));
  const now = Date.now();

  const render = (view: KubeObject): unknown => {
    if (shape.kind === 'table') {
      const stored = service.store.get(rt.storage, (view.metadata as { namespace?: string }).namespace ?? '', (view.metadata as { name?: string }).name ?? '') ?? view;
      return buildTable(rt, [stored], [view], shape, { resourceVersion: (view.metadata as { resourceVersion?: string }).resourceVersion }, now);
    }
    if (shape.kind === 'metadata') return partialMetadata(view, shape.apiVersion);
    return view;
  };

  switch (verb) {
    case 'get':
      return sendJson(res, 200, render(service.get(rt, namespace, r.name as string)));
    case 'list': {
      const limit = q.get('limit');
      const page = service.list(rt, listNamespace, {
        labelSelector: q.get('labelSelector'),
        fieldSelector: q.get('fieldSelector'),
        ...(limit ? { limit: Number(limit) } : {}),
        continue: q.get('continue'),
        resourceVersion: q.get('resourceVersion'),
        resourceVersionMatch: q.get('resourceVersionMatch'),
      });
      const listMeta: Record<string, unknown> = { resourceVersion: page.resourceVersion };
      if (page.continue) listMeta.continue = page.continue;
      if (page.remainingItemCount !== undefined) listMeta.remainingItemCount = page.remainingItemCount;
      if (shape.kind === 'table') {
        const stored = page.items.map((v) => (rt.fromView ? rt.fromView(v) : v));
        return sendJson(res, 200, buildTable(rt, stored, page.items, shape, listMeta, now));
      }
      if (shape.kind === 'metadata') return sendJson(res, 200, metadataList(page.items, shape.apiVersion, listMeta));
      return sendJson(res, 200, { kind: rt.listKind, apiVersion: apiVersionOf(rt), metadata: listMeta, items: page.items.map((o) => stripTypeMeta(rt, o)) });
    }
    case 'watch': {
      let fieldSelector = q.get('fieldSelector');
      if (r.name !== undefined) fieldSelector = [fieldSelector, `metadata.name=${r.name}`].filter(Boolean).join(',');
      const match = service.matcher(rt, listNamespace, q.get('labelSelector'), fieldSelector);
      const timeout = q.get('timeoutSeconds');
      const stream = new WatchStream(res, service, deps.traffic, {
        rt,
        match,
        resourceVersion: q.get('resourceVersion'),
        sendInitialEvents: q.get('sendInitialEvents') === 'true',
        allowBookmarks: q.get('allowWatchBookmarks') === 'true',
        timeoutSeconds: timeout ? Number(timeout) : undefined,
        shape,
        bookmarkIntervalMs: deps.bookmarkIntervalMs,
      }, (w) => deps.watches.delete(w));
      deps.watches.add(stream);
      stream.start();
      return;
    }
    case 'create': {
      if (r.name !== undefined) throw methodNotAllowed();
      const body = parseObjectBody(await readBody(req), req.headers['content-type'] ?? '');
      const result = service.create(rt, namespace, body, writeOptions(q));
      return sendJson(res, 201, render(result.obj), result.warnings);
    }
    case 'update': {
      if (r.name === undefined) throw methodNotAllowed();
      const body = parseObjectBody(await readBody(req), req.headers['content-type'] ?? '');
      const result = service.update(rt, namespace, r.name, body, writeOptions(q), subresource);
      return sendJson(res, 200, render(result.obj), result.warnings);
    }
    case 'patch': {
      if (r.name === undefined) throw methodNotAllowed();
      const text = await readBody(req);
      const result = service.patch(rt, namespace, r.name, req.headers['content-type'] ?? '', text, writeOptions(q), subresource);
      return sendJson(res, result.created ? 201 : 200, render(result.obj), result.warnings);
    }
    case 'delete': {
      if (subresource) throw methodNotAllowed();
      const text = await readBody(req);
      let options: unknown;
      if (text.trim() !== '') options = parseObjectBody(text, req.headers['content-type'] ?? 'application/json');
      const result = service.delete(rt, namespace, r.name as string, isPlainObject(options) ? options : undefined, writeOptions(q));
      const body = result.body.kind === 'Status' ? result.body : render(result.body as KubeObject);
      return sendJson(res, result.code, body);
    }
    case 'deletecollection': {
      const items = service.deleteCollection(rt, listNamespace, { labelSelector: q.get('labelSelector'), fieldSelector: q.get('fieldSelector') }, writeOptions(q));
      return sendJson(res, 200, { kind: rt.listKind, apiVersion: apiVersionOf(rt), metadata: { resourceVersion: String(service.store.currentRV()) }, items: items.map((o) => stripTypeMeta(rt, o)) });
    }
    default:
      throw methodNotAllowed();
  }
}
