/**
 * Kubernetes client construction: explicit kubeconfig loading (never client-node's silent
 * `http://localhost:8080` fallback), the MIC user agent, API clients with a per-request timeout,
 * and predicates over client-node's `ApiException`.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  ApiException,
  KubeConfig,
  Observable,
  ServerConfiguration,
  createConfiguration,
  type ApiConstructor,
  type ApiType,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
} from '@kubernetes/client-node';

/** Where a pod's service-account credentials are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The kubeconfig could not be loaded or names no usable cluster. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True for a {@link KubeConfigError}. */
export function isKubeConfigError(e: unknown): e is KubeConfigError {
  return e instanceof KubeConfigError;
}

/** Options for {@link loadKubeConfig}. */
export interface LoadKubeConfigOptions {
  /** `--kubeconfig`: when set, this file is used and nothing else. */
  kubeconfigPath?: string;
  /** Environment to read `KUBERNETES_SERVICE_HOST`/`PORT` from (normally `process.env`). */
  env: NodeJS.ProcessEnv;
  /** Service-account mount for in-cluster mode (tests point it at a temp dir). */
  serviceAccountDir?: string;
}

/**
 * Loads the kubeconfig explicitly: the `--kubeconfig` file if given, else in-cluster config when
 * `KUBERNETES_SERVICE_HOST` is set (token re-read from the projected file, so rotation works), else
 * throws {@link KubeConfigError}.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfigPath) {
    try {
      kc.loadFromFile(options.kubeconfigPath);
    } catch (err) {
      throw new KubeConfigError(`cannot load kubeconfig ${options.kubeconfigPath}`, { cause: err });
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster?.server) {
      throw new KubeConfigError(`kubeconfig ${options.kubeconfigPath} has no current context with a cluster server`);
    }
    return kc;
  }
  const host = options.env.KUBERNETES_SERVICE_HOST;
  if (host) {
    loadInCluster(kc, host, options.env.KUBERNETES_SERVICE_PORT, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
    return kc;
  }
  throw new KubeConfigError('no kubeconfig given (--kubeconfig) and not running in a cluster (KUBERNETES_SERVICE_HOST unset)');
}

/** Fills `kc` like client-node's `loadFromCluster`, but from the given environment and mount dir. */
function loadInCluster(kc: KubeConfig, host: string, port: string | undefined, saDir: string): void {
  const tokenFile = path.join(saDir, 'token');
  const caFile = path.join(saDir, 'ca.crt');
  if (!fs.existsSync(tokenFile)) {
    throw new KubeConfigError(`in-cluster mode: service-account token ${tokenFile} not found`);
  }
  // Always https with the service-account CA, whatever the port: a token is never sent in clear text.
  const effectivePort = port || '443';
  const serverHost = net.isIPv6(host) ? `[${host}]` : host;
  const namespaceFile = path.join(saDir, 'namespace');
  const namespace = fs.existsSync(namespaceFile) ? fs.readFileSync(namespaceFile, 'utf8').trim() : undefined;
  kc.loadFromOptions({
    clusters: [{
      name: 'inCluster',
      server: `https://${serverHost}:${effectivePort}`,
      ...(fs.existsSync(caFile) ? { caFile } : {}),
      skipTLSVerify: false,
    }],
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser', ...(namespace ? { namespace } : {}) }],
    currentContext: 'inClusterContext',
  });
}

/** Build details that go into the user agent. */
export interface BuildInfo {
  gitCommit?: string;
  buildDate?: string;
}

/**
 * The upstream-compatible user agent: `aad-pod-identity/MIC/<version>/<gitCommit>/<buildDate>`,
 * followed by ` <custom>` when `--custom-user-agent` is set.
 */
export function userAgent(version: string, custom?: string, build: BuildInfo = {}): string {
  const base = `aad-pod-identity/MIC/${version}/${build.gitCommit || 'unknown'}/${build.buildDate || 'unknown'}`;
  const extra = custom?.trim();
  return extra ? `${base} ${extra}` : base;
}

/** An observable-style middleware that runs `fn` on each request before it is sent. */
function preMiddleware(fn: (ctx: RequestContext) => void): ObservableMiddleware {
  return {
    pre: (ctx) => {
      fn(ctx);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res) => new Observable(Promise.resolve(res)),
  };
}

/**
 * Upper bound of one Kubernetes API request made by the controller's own clients (not watches): a
 * request that hangs (a half-open connection, an overloaded API server) must not stall leadership
 * start-up or the sync loop forever; it fails and the caller's retry takes over.
 */
export const KUBE_REQUEST_TIMEOUT_MS = 30_000;

/** Options for {@link makeApiClient}. */
export interface ApiClientOptions {
  /**
   * Sent as `User-Agent` when `kc` carries no agent of its own; a kubeconfig from
   * {@link withUserAgent} always wins, so every client of a process sends the same agent.
   */
  userAgent?: string;
  /** Aborts each request after this many milliseconds (no limit when unset). */
  requestTimeoutMs?: number;
}

/**
 * Builds a generated API client (e.g. `CoreV1Api`, `CoordinationV1Api`, `CustomObjectsApi`) for the
 * current cluster of `kc`, sending the process's user agent (that of `kc`, see {@link withUserAgent})
 * and optionally bounding each request's duration.
 */
export function makeApiClient<T extends ApiType>(kc: KubeConfig, api: ApiConstructor<T>, options: ApiClientOptions = {}): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError('kubeconfig has no current cluster');
  const agent = userAgentOf(kc) ?? options.userAgent;
  const middleware: ObservableMiddleware[] = agent ? [preMiddleware((ctx) => ctx.setHeaderParam('User-Agent', agent))] : [];
  const timeoutMs = options.requestTimeoutMs;
  if (timeoutMs !== undefined && timeoutMs > 0) {
    middleware.push(preMiddleware((ctx) => ctx.setSignal(AbortSignal.timeout(timeoutMs))));
  }
  const config = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    middleware,
  });
  return new api(config);
}

/**
 * Per-call options that bound one request's duration and/or tie it to an abort signal; pass as the
 * second argument of a generated API method. Keeps the client's own middleware (user agent) in place.
 * The timeout starts when the request is sent.
 */
export function requestOptions(limits: { timeoutMs?: number; signal?: AbortSignal }): ConfigurationOptions<ObservableMiddleware> {
  return {
    middleware: [
      preMiddleware((ctx) => {
        const signals: AbortSignal[] = [];
        if (limits.timeoutMs !== undefined && limits.timeoutMs > 0) signals.push(AbortSignal.timeout(limits.timeoutMs));
        if (limits.signal) signals.push(limits.signal);
        if (signals.length > 0) ctx.setSignal(signals.length === 1 ? (signals[0] as AbortSignal) : AbortSignal.any(signals));
      }),
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** The agent {@link withUserAgent} attached to a kubeconfig view. */
const AGENTS = new WeakMap<KubeConfig, string>();

/**
 * A view of `kc` that carries the process's `User-Agent` (built once by {@link userAgent}): every
 * client made from it — `kc.makeApiClient`, {@link makeApiClient}, client-node's `Watch` (which
 * authenticates through `applySecurityAuthentication`) — sends that agent.
 */
export function withUserAgent(kc: KubeConfig, agent: string): KubeConfig {
  const view = Object.create(kc) as KubeConfig;
  view.applySecurityAuthentication = async (ctx: RequestContext): Promise<void> => {
    await kc.applySecurityAuthentication(ctx);
    ctx.setHeaderParam('User-Agent', agent);
  };
  // client-node's own makeApiClient sends its default agent after authentication; ours sets it last.
  view.makeApiClient = <T extends ApiType>(api: ApiConstructor<T>): T => makeApiClient(view, api);
  AGENTS.set(view, agent);
  return view;
}

/** The user agent a kubeconfig view from {@link withUserAgent} carries, if any. */
export function userAgentOf(kc: KubeConfig): string | undefined {
  return AGENTS.get(kc);
}

// ---------------------------------------------------------------------------------------------
// Error predicates
// ---------------------------------------------------------------------------------------------

/** The parts of a Kubernetes `Status` error body we read. */
export interface KubeStatus {
  code?: number;
  reason?: string;
  message?: string;
  details?: { retryAfterSeconds?: number; name?: string; kind?: string };
}

/**
 * HTTP status of a Kubernetes API failure: `ApiException.code`, or `statusCode` as set on errors
 * from client-node's `Watch`. `undefined` for transport errors and everything else.
 */
export function apiErrorCode(e: unknown): number | undefined {
  if (e instanceof ApiException) return e.code;
  if (typeof e === 'object' && e !== null) {
    const rec = e as { code?: unknown; statusCode?: unknown; body?: unknown };
    if (typeof rec.code === 'number' && 'body' in rec) return rec.code; // ApiException from another copy
    if (typeof rec.statusCode === 'number') return rec.statusCode;
  }
  return undefined;
}

/** True when `e` is a Kubernetes API failure, optionally with HTTP status `code`. */
export function isApiError(e: unknown, code?: number): boolean {
  const actual = apiErrorCode(e);
  return actual !== undefined && (code === undefined || actual === code);
}

/** The `Status` body of an API failure (client-node keeps it as a JSON string), if parseable. */
export function apiErrorStatus(e: unknown): KubeStatus | undefined {
  if (!isApiError(e)) return undefined;
  const body = (e as { body?: unknown }).body;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return typeof parsed === 'object' && parsed !== null ? (parsed as KubeStatus) : undefined;
}

/** The `reason` of an API failure's `Status` body (`NotFound`, `Conflict`, `AlreadyExists`, ...). */
export function apiErrorReason(e: unknown): string | undefined {
  const reason = apiErrorStatus(e)?.reason;
  return typeof reason === 'string' ? reason : undefined;
}

/** 404 Not Found. */
export function isNotFound(e: unknown): boolean {
  return isApiError(e, 404);
}

/** 409 caused by an optimistic-concurrency (resourceVersion) conflict, not by a create of an existing name. */
export function isConflict(e: unknown): boolean {
  return isApiError(e, 409) && apiErrorReason(e) !== 'AlreadyExists';
}

/** 409 AlreadyExists from a create. */
export function isAlreadyExists(e: unknown): boolean {
  return isApiError(e, 409) && apiErrorReason(e) === 'AlreadyExists';
}

/** 410 Gone / Expired: a resourceVersion too old to watch or list from. */
export function isGone(e: unknown): boolean {
  return isApiError(e, 410);
}

/** 429 Too Many Requests (API priority and fairness throttling). */
export function isTooManyRequests(e: unknown): boolean {
  return isApiError(e, 429);
}

/** 403 Forbidden (RBAC). */
export function isForbidden(e: unknown): boolean {
  return isApiError(e, 403);
}

/**
 * Server-suggested wait before retrying, in milliseconds: the `Retry-After` header (seconds) or the
 * `Status.details.retryAfterSeconds`. `undefined` when neither is present.
 */
export function apiRetryAfterMs(e: unknown): number | undefined {
  if (!isApiError(e)) return undefined;
  const headers = (e as { headers?: unknown }).headers;
  if (typeof headers === 'object' && headers !== null) {
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
      if (name.toLowerCase() !== 'retry-after') continue;
      const seconds = Number(value);
      if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    }
  }
  const fromBody = apiErrorStatus(e)?.details?.retryAfterSeconds;
  return typeof fromBody === 'number' && fromBody >= 0 ? fromBody * 1000 : undefined;
}

/**
 * Makes client-node reuse connections. client-node 2.0.1 builds a new undici Agent for every request
 * whenever any TLS option is set (a CA, as in-cluster, or skipTLSVerify), so each API call opens a new
 * TCP+TLS connection. This memoises the dispatcher per (cluster, TLS options) on `kc` itself.
 */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  type DispatcherFactory = (cluster: unknown, agentOptions: unknown) => unknown;
  const target = kc as unknown as { createDispatcher: DispatcherFactory; createDispatcherOptions: DispatcherFactory };
  const original = target.createDispatcher.bind(kc);
  // TLS material is fixed per cluster entry of a kubeconfig (token rotation changes headers only),
  // so one dispatcher per cluster object is enough; the options are fingerprinted once per entry.
  const cache = new WeakMap<object, { fingerprint: string; dispatcher: unknown }>();
  const noCluster = {};
  target.createDispatcher = (cluster, agentOptions) => {
    const key = (cluster as object | undefined) ?? noCluster;
    const opts = target.createDispatcherOptions.call(kc, cluster, agentOptions) as Record<string, unknown>;
    const connect = (opts.connect ?? {}) as Record<string, unknown>;
    const fingerprint = `${String(opts.type)}|${String(opts.uri ?? '')}|${Object.keys(connect).sort().map((k) => `${k}:${String(connect[k]).length}`).join(',')}`;
    const hit = cache.get(key);
    if (hit && hit.fingerprint === fingerprint) return hit.dispatcher;
    const dispatcher = original(cluster, agentOptions);
    cache.set(key, { fingerprint, dispatcher });
    return dispatcher;
  };
  return kc;
}
