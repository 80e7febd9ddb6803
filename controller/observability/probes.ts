/**
 * HTTP probe and metrics servers (plain `node:http`, no framework, no pprof).
 *
 * - `GET /healthz` (liveness, upstream contract): 200 with body `Active` when this process leads and
 *   its sync loop runs, `Not Active` otherwise. It answers 500 instead when the event loop has
 *   stalled recently, or when the process still believes it leads but has not renewed its lease for
 *   longer than the lease duration plus a tolerance (the idea of client-go's `LeaderElector.Check`).
 * - `GET /readyz`: 200 when the leader's informers are all synced and watching, or when a standby
 *   has recently observed the lease; otherwise 503 with a one-line reason. 503 too when RBAC refuses
 *   every leader lock. Refused permissions that only degrade a feature are appended to the body.
 * - `GET /metrics`: Prometheus text exposition of a prom-client registry.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { systemClock, type Clock } from '../util/clock.js';

/** Body of `/healthz` when this instance leads with its sync loop running (upstream contract). */
export const ACTIVE_BODY = 'Active';
/** Body of `/healthz` for a healthy standby or a leader whose loop has not started (upstream contract). */
export const NOT_ACTIVE_BODY = 'Not Active';

/** Sync state of one informer, as reported to the probes. */
export interface InformerHealth {
  /** Resource name, e.g. `pods`, `azureidentities`. */
  name: string;
  /** First list completed. */
  synced: boolean;
  /** Watch currently connected. */
  watching: boolean;
}

/** Snapshot the probe server asks for on every request (keep it cheap and synchronous). */
export interface HealthState {
  /** True between "started leading" and "stopped leading" (not fenced by the renew deadline). */
  leading: boolean;
  /** True once the leader's sync loop has started. */
  syncLoopRunning: boolean;
  /** Epoch ms of the last successful lease acquire/renew by this process, if any. */
  lastLeaseRenewAt?: number;
  /** Epoch ms of the last successful read or write of the lease, in any role, if any. */
  lastLeaseObservedAt?: number;
  /** Configured lease duration in ms. */
  leaseDurationMs: number;
  /** Informers of the leader (empty on a standby). */
  informers: readonly InformerHealth[];
  /** True after shutdown started: readiness fails so the Pod leaves rotation. */
  shuttingDown?: boolean;
  /** RBAC permissions refused so far (`<verb> <resource> [in <ns>]`): shown on `/readyz`. */
  missingPermissions?: readonly string[];
  /** Set when this replica cannot take part in leader election at all (every lock refused). */
  electionBlocked?: string;
}

/** Liveness verdict and the `/healthz` response derived from it. */
export interface HealthVerdict {
  status: 200 | 500;
  body: string;
}

/** Readiness verdict and the `/readyz` response derived from it. */
export interface ReadyVerdict {
  status: 200 | 503;
  body: string;
}

/** Tunables of the verdict functions. */
export interface ProbePolicy {
  /** Extra time past the lease duration before an unrenewed leader is declared dead. Default 2000 ms. */
  leaseTolerationMs: number;
  /** A standby is ready when it observed the lease within this many lease durations. Default 3. */
  standbyObserveLeaseDurations: number;
}

/** Default {@link ProbePolicy}. */
export const DEFAULT_PROBE_POLICY: ProbePolicy = { leaseTolerationMs: 2000, standbyObserveLeaseDurations: 3 };

/** Computes the `/healthz` answer. `stalled` is the event-loop watchdog's verdict. */
export function healthVerdict(
  state: HealthState,
  now: number,
  stalled: boolean,
  policy: ProbePolicy = DEFAULT_PROBE_POLICY,
): HealthVerdict {
  if (stalled) return { status: 500, body: 'event loop stalled' };
  if (state.leading) {
    const renewedAt = state.lastLeaseRenewAt;
    if (renewedAt !== undefined && now - renewedAt > state.leaseDurationMs + policy.leaseTolerationMs) {
      return { status: 500, body: 'leader lease not renewed' };
    }
  }
  return { status: 200, body: state.leading && state.syncLoopRunning ? ACTIVE_BODY : NOT_ACTIVE_BODY };
}

/** Computes the `/readyz` answer. */
export function readyVerdict(state: HealthState, now: number, policy: ProbePolicy = DEFAULT_PROBE_POLICY): ReadyVerdict {
  const verdict = baseReadyVerdict(state, now, policy);
  const missing = state.missingPermissions ?? [];
  if (missing.length === 0) return verdict;
  return { status: verdict.status, body: `${verdict.body}; degraded, missing RBAC permissions: ${missing.join(', ')}` };
}

function baseReadyVerdict(state: HealthState, now: number, policy: ProbePolicy): ReadyVerdict {
  if (state.shuttingDown) return { status: 503, body: 'shutting down' };
  if (state.electionBlocked) return { status: 503, body: `cannot take part in leader election: ${state.electionBlocked}` };
  if (state.leading) {
    if (state.informers.length === 0) return { status: 503, body: 'informers not started' };
    const notSynced = state.informers.filter((i) => !i.synced).map((i) => i.name);
    if (notSynced.length > 0) return { status: 503, body: `informers not synced: ${notSynced.join(', ')}` };
    const notWatching = state.informers.filter((i) => !i.watching).map((i) => i.name);
    if (notWatching.length > 0) return { status: 503, body: `informers not watching: ${notWatching.join(', ')}` };
    if (!state.syncLoopRunning) return { status: 503, body: 'sync loop not running' };
    return { status: 200, body: 'ok' };
  }
  const observedAt = state.lastLeaseObservedAt;
  if (observedAt === undefined) return { status: 503, body: 'leader lease not observed yet' };
  if (now - observedAt > policy.standbyObserveLeaseDurations * state.leaseDurationMs) {
    return { status: 503, body: 'leader lease not observed recently' };
  }
  return { status: 200, body: 'ok (standby)' };
}

/** Answers "has the event loop stalled recently?". */
export interface StallDetector {
  isStalled(): boolean;
}

/** Options of {@link EventLoopWatchdog}. */
export interface EventLoopWatchdogOptions {
  /** Heartbeat period. Default 1000 ms. */
  intervalMs?: number;
  /** A heartbeat later than this is a stall. Default 5000 ms. */
  maxLagMs?: number;
  /** How long a detected stall keeps `isStalled()` true. Default 30000 ms. */
  holdMs?: number;
  /** Time source (default the system clock). */
  clock?: Clock;
}

/**
 * Detects event-loop stalls with a heartbeat timer: when a heartbeat fires more than `maxLagMs`
 * late, the loop was blocked, and `isStalled()` stays true for `holdMs` so the next probe sees it
 * (the overdue heartbeat itself runs before the queued probe request is handled).
 */
export class EventLoopWatchdog implements StallDetector {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #maxLagMs: number;
  readonly #holdMs: number;
  #expectedAt = 0;
  #stalledUntil = Number.NEGATIVE_INFINITY;
  #lastLagMs = 0;
  #cancel: (() => void) | undefined;

  constructor(options: EventLoopWatchdogOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#maxLagMs = options.maxLagMs ?? 5000;
    this.#holdMs = options.holdMs ?? 30_000;
  }

  /** Starts the heartbeat (idempotent). */
  start(): void {
    if (this.#cancel) return;
    this.#schedule();
  }

  /** Stops the heartbeat. */
  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }

  /** Lag of the most recent heartbeat, in ms. */
  get lastLagMs(): number {
    return this.#lastLagMs;
  }

  /** True while a stall was detected within the last `holdMs`. */
  isStalled(): boolean {
    return this.#clock.now() < this.#stalledUntil;
  }

  #schedule(): void {
    this.#expectedAt = this.#clock.now() + this.#intervalMs;
    this.#cancel = this.#clock.setTimer(() => this.#beat(), this.#intervalMs);
  }

  #beat(): void {
    const now = this.#clock.now();
    this.#lastLagMs = Math.max(0, now - this.#expectedAt);
    if (this.#lastLagMs > this.#maxLagMs) this.#stalledUntil = now + this.#holdMs;
    this.#schedule();
  }
}

/** Error raised when a server cannot start listening. */
export class ProbeServerError extends Error {
  override readonly name = 'ProbeServerError';
  /** Port that could not be bound. */
  readonly port: number;

  constructor(message: string, port: number, options?: { cause?: unknown }) {
    super(message, options);
    this.port = port;
  }
}

/** Predicate for {@link ProbeServerError}. */
export function isProbeServerError(e: unknown): e is ProbeServerError {
  return e instanceof ProbeServerError;
}

/** A started HTTP server. */
export interface ServerHandle {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** Options of {@link startProbeServer}. */
export interface ProbeServerOptions {
  port: number;
  /** Bind address; default all interfaces. */
  host?: string;
  /** Current health snapshot; called on every probe request. */
  health: () => HealthState;
  logger: Logger;
  /** Also serve `/metrics` from this registry (used when probe and metrics ports are equal). */
  registry?: Registry;
  /** Stall detector; default a started {@link EventLoopWatchdog} owned (and stopped) by the server. */
  stallDetector?: StallDetector;
  /** Verdict tunables. */
  policy?: Partial<ProbePolicy>;
  /** Time source for the lease checks (default the system clock). */
  clock?: Clock;
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  port: number;
  /** Bind address; default all interfaces. */
  host?: string;
  registry: Registry;
  /** Logs scrape failures; optional. */
  logger?: Logger;
}

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

/** Starts the probe server (`/healthz`, `/readyz`, and `/metrics` when `registry` is given). */
export async function startProbeServer(options: ProbeServerOptions): Promise<ServerHandle> {
  const clock = options.clock ?? systemClock;
  const policy: ProbePolicy = { ...DEFAULT_PROBE_POLICY, ...options.policy };
  let ownWatchdog: EventLoopWatchdog | undefined;
  let stallDetector = options.stallDetector;
  if (!stallDetector) {
    ownWatchdog = new EventLoopWatchdog({ clock });
    ownWatchdog.start();
    stallDetector = ownWatchdog;
  }
  const detector = stallDetector;
  let lastHealthStatus = 200;

  const routes = new Map<string, Route>();
  routes.set('/healthz', (_req, res) => {
    const verdict = healthVerdict(options.health(), clock.now(), detector.isStalled(), policy);
    if (verdict.status !== lastHealthStatus) {
      if (verdict.status === 200) options.logger.info('Liveness probe healthy again');
      else options.logger.warn('Liveness probe failing', { reason: verdict.body });
      lastHealthStatus = verdict.status;
    }
    sendText(res, verdict.status, verdict.body);
  });
  routes.set('/readyz', (_req, res) => {
    const verdict = readyVerdict(options.health(), clock.now(), policy);
    sendText(res, verdict.status, verdict.body);
  });
  if (options.registry) routes.set('/metrics', metricsRoute(options.registry, options.logger));

  try {
    const handle = await listen(routes, options.port, options.host, options.logger);
    options.logger.info('Probe server listening', { port: handle.port, metrics: options.registry !== undefined });
    return {
      port: handle.port,
      close: async () => {
        ownWatchdog?.stop();
        await handle.close();
      },
    };
  } catch (err) {
    ownWatchdog?.stop();
    throw err;
  }
}

/** Starts the Prometheus metrics server (`/metrics` only). */
export async function startMetricsServer(options: MetricsServerOptions): Promise<ServerHandle> {
  const routes = new Map<string, Route>([['/metrics', metricsRoute(options.registry, options.logger)]]);
  const handle = await listen(routes, options.port, options.host, options.logger);
  options.logger?.info('Metrics server listening', { port: handle.port });
  return handle;
}

/** Options of {@link startObservabilityServers}. */
export interface ObservabilityServersOptions extends Omit<ProbeServerOptions, 'port' | 'registry'> {
  /** `--http-probe-port` (upstream default 8080). */
  probePort: number;
  /** `--prometheus-port` (upstream default 8888). */
  metricsPort: number;
  registry: Registry;
}

/** Handles of the running observability servers. */
export interface ObservabilityServers {
  probe: ServerHandle;
  /** Same object as `probe` when both ports are equal. */
  metrics: ServerHandle;
  /** Closes every server once. */
  close(): Promise<void>;
}

/**
 * Starts the probe and metrics servers on their own ports, like upstream; when both ports are the
 * same non-zero number, one server answers every path. (Port 0 always means two servers.)
 */
export async function startObservabilityServers(options: ObservabilityServersOptions): Promise<ObservabilityServers> {
  const { probePort, metricsPort, registry, ...probeOptions } = options;
  if (probePort === metricsPort && probePort !== 0) {
    const probe = await startProbeServer({ ...probeOptions, port: probePort, registry });
    return { probe, metrics: probe, close: () => probe.close() };
  }
  const probe = await startProbeServer({ ...probeOptions, port: probePort });
  let metrics: ServerHandle;
  try {
    metrics = await startMetricsServer({ port: metricsPort, host: options.host, registry, logger: options.logger });
  } catch (err) {
    await probe.close();
    throw err;
  }
  return { probe, metrics, close: async () => void (await Promise.all([probe.close(), metrics.close()])) };
}

function metricsRoute(registry: Registry, logger: Logger | undefined): Route {
  return async (_req, res) => {
    try {
      const body = await registry.metrics();
      res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
      res.end(body);
    } catch (err) {
      logger?.error('Metrics collection failed', { err });
      sendText(res, 500, 'metrics collection failed');
    }
  };
}

function sendText(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

async function listen(
  routes: ReadonlyMap<string, Route>,
  port: number,
  host: string | undefined,
  logger: Logger | undefined,
): Promise<ServerHandle> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const route = routes.get(path);
    if (!route) return sendText(res, 404, 'not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendText(res, 405, 'method not allowed');
    }
    Promise.resolve(route(req, res)).catch((err: unknown) => {
      logger?.error('Probe request failed', { err, path });
      if (!res.headersSent) sendText(res, 500, 'internal error');
      else res.destroy();
    });
  });
  // Probes must answer fast; slow or idle clients must not pin sockets.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new ProbeServerError(`cannot listen on port ${port}`, port, { cause: err }));
    };
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger?.error('Probe server error', { err }));
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port: bound,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
