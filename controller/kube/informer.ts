/**
 * A supervised informer: our own reflector (list, then watch from the list's resourceVersion) over
 * client-node's `Watch`, with what client-node's `ListWatch` lacks — restart with jittered
 * exponential backoff after any error, relist on 410 Gone, a periodic relist that synthesises
 * add/update/delete for differences, a staleness watchdog, watch bookmarks, server-side watch
 * timeouts, per-object parse validation and an explicit "synced" signal.
 */
import { ApiException, HttpMethod, IsomorphicFetchHttpLibrary, RequestContext, Watch, type KubeConfig } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../observability/logger.js';
import { Backoff, withJitter } from './backoff.js';
import { apiErrorCode } from './client.js';
import { untilAborted } from '../util/abort.js';

/** What a `list` call returns (the shape of any Kubernetes list response, or one page of it). */
export interface ListResult {
  items: unknown[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** Default page size of {@link listPages} (client-go's pager uses 500 too). */
export const LIST_PAGE_SIZE = 500;

/** Options of {@link listPages}. */
export interface ListPagesOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Objects per page (`limit`); default {@link LIST_PAGE_SIZE}. */
  pageSize?: number;
  signal?: AbortSignal;
  /**
   * Upper bound of one page request; default {@link LIST_PAGE_TIMEOUT_MS}. A list that hangs (half-open
   * connection) fails instead of keeping the informer, and so leadership start-up, waiting forever.
   */
  pageTimeoutMs?: number;
}

/** Default upper bound of one list page request. */
export const LIST_PAGE_TIMEOUT_MS = 60_000;

/** GETs `path` with `query` through `kc` (auth, TLS, user agent) and returns the parsed JSON body. */
async function getJson(kc: KubeConfig, path: string, query: Record<string, string | number | undefined>, signal?: AbortSignal): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server + path);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
  const ctx = new RequestContext(url.toString(), HttpMethod.GET);
  ctx.setHeaderParam('Accept', 'application/json');
  if (signal) ctx.setSignal(signal);
  await kc.applySecurityAuthentication(ctx);
  const response = await new IsomorphicFetchHttpLibrary().send(ctx).toPromise();
  const text = await response.body.text();
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
    throw new ApiException(response.httpStatusCode, `HTTP ${response.httpStatusCode} listing ${path}`, text, response.headers);
  }
  return JSON.parse(text) as unknown;
}

/**
 * Lists a collection page by page (`limit` + `continue`) as plain JSON: no client-node model classes
 * are built (its typed list methods turn every object into class instances with `Date`s), and a
 * consumer that projects each page before asking for the next never holds the whole raw list. Every
 * page carries the list's resourceVersion. An expired continue token (410) is thrown like any error:
 * the informer backs off and lists again from the start.
 */
export async function* listPages(kc: KubeConfig, path: string, o: ListPagesOptions = {}): AsyncGenerator<ListResult> {
  let token: string | undefined;
  do {
    const body = (await getJson(kc, path, {
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      limit: o.pageSize ?? LIST_PAGE_SIZE,
      continue: token,
    }, pageSignal(o))) as Partial<ListResult> | null;
    const items = Array.isArray(body?.items) ? body.items : [];
    token = body?.metadata?.continue || undefined;
    yield { items, metadata: { resourceVersion: body?.metadata?.resourceVersion } };
  } while (token !== undefined);
}

/** The caller's signal (if any) bounded by the page timeout. */
function pageSignal(o: ListPagesOptions): AbortSignal {
  const timeout = AbortSignal.timeout(o.pageTimeoutMs ?? LIST_PAGE_TIMEOUT_MS);
  return o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
}

function isAsyncIterable(x: unknown): x is AsyncIterable<ListResult> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}

/** Reflector states reported through `onStateChange`. */
export type InformerState = 'listing' | 'watching' | 'backoff' | 'stopped';

/** Details passed with a state change. */
export interface InformerStateInfo {
  name: string;
  /** Consecutive failures so far (for `backoff`). */
  attempt?: number;
  /** Delay before the next attempt (for `backoff`). */
  delayMs?: number;
  /** What went wrong (for `backoff`). */
  err?: unknown;
  /** Why a new list or watch starts: `start`, `error`, `expired`, `relist`, `stale`, `closed`. */
  cause?: string;
  resourceVersion?: string;
}

/** Handler signatures per event. */
export interface InformerHandlers<T> {
  add: (obj: T) => void;
  update: (obj: T, old: T) => void;
  delete: (obj: T) => void;
}

/** Options for {@link SupervisedInformer}. */
export interface SupervisedInformerOptions<T> {
  kc: KubeConfig;
  /** Watch path, e.g. `/api/v1/pods` or `/apis/aadpodidentity.k8s.io/v1/azureidentities`. */
  path: string;
  /**
   * Lists the collection (with the same selectors as below): the whole list, or its pages in order
   * (see {@link listPages}; pages are projected one at a time). Called on start, after errors, on
   * 410 Gone and periodically; `signal` aborts when the informer stops.
   */
  list: (signal: AbortSignal) => Promise<ListResult> | AsyncIterable<ListResult>;
  /** Label selector for the watch; must match the one `list` uses. */
  labelSelector?: string;
  /** Field selector for the watch; must match the one `list` uses. */
  fieldSelector?: string;
  /**
   * Validates a raw object and projects it to what the cache keeps (the informer's transform, like
   * client-go's `SetTransform`: keep only the fields readers need, so the cache never holds whole
   * objects); throw to reject it (it is then skipped and reported to `onInvalid`).
   */
  parse?: (obj: unknown) => T;
  /** Called for each object `parse` rejected. Must not throw. */
  onInvalid?: (obj: unknown, err: unknown) => void;
  /** Called on each reflector state change (for metrics and readiness). Must not throw. */
  onStateChange?: (state: InformerState, info: InformerStateInfo) => void;
  clock?: Clock;
  logger: Logger;
  /** Short name used in logs and state info, e.g. `pods`. */
  name: string;
  /** Full relist period (default 10 min, jittered by up to 10%). */
  relistIntervalMs?: number;
  /** Rebuild the watch when no event or bookmark arrived for this long (default 5 min). */
  stalenessMs?: number;
  /** Server-side watch timeout; each watch asks for a random value in `[t, 2t]` (default 300 s). */
  watchTimeoutSeconds?: number;
  /** Restart backoff after errors (default 1 s doubling to 30 s, 20% jitter). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Random source in `[0, 1)` for jitter (tests). */
  random?: () => number;
}

/** How one watch connection ended. */
type WatchOutcome =
  | { kind: 'closed'; healthy: boolean }
  | { kind: 'expired' }
  | { kind: 'error'; err: unknown }
  | { kind: 'stale' }
  | { kind: 'relist' }
  | { kind: 'stopped' };

/** A cached object with the metadata the reflector needs. */
interface Entry<T> {
  obj: T;
  resourceVersion: string;
}

/** Raised for a watch `ERROR` event that is not a 410. */
export class WatchStatusError extends Error {
  override readonly name = 'WatchStatusError';
  constructor(readonly code: number | undefined, readonly reason: string | undefined, message: string) {
    super(message);
  }
}

/** True for a {@link WatchStatusError}. */
export function isWatchStatusError(e: unknown): e is WatchStatusError {
  return e instanceof WatchStatusError;
}

/** A watch connection that stays open this long counts as healthy and resets the backoff. */
const HEALTHY_WATCH_MS = 10_000;


/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Reads `metadata.{namespace,name,resourceVersion}` from a raw object. */
function metaOf(obj: unknown): { namespace?: string; name?: string; resourceVersion?: string } {
  if (typeof obj !== 'object' || obj === null) return {};
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return {};
  const m = meta as Record<string, unknown>;
  return {
    namespace: typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : undefined,
    name: typeof m.name === 'string' ? m.name : undefined,
    resourceVersion: typeof m.resourceVersion === 'string' ? m.resourceVersion : undefined,
  };
}

/**
 * A self-healing list+watch cache of one collection.
 *
 * Event handlers (`on('add'|'update'|'delete')`) are called synchronously from the reflector and
 * **must not block or do I/O**: enqueue a key and return. A handler that throws is logged and
 * ignored. After a relist, objects that changed while the watch was down are delivered as
 * `update`, vanished ones as `delete`.
 */
export class SupervisedInformer<T> {
  readonly #o: SupervisedInformerOptions<T>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #parse: (obj: unknown) => T;
  readonly #backoff: Backoff;
  readonly #relistIntervalMs: number;
  readonly #stalenessMs: number;
  readonly #watchTimeoutSeconds: number;
  readonly #random: () => number;

  readonly #handlers: { [K in keyof InformerHandlers<T>]: InformerHandlers<T>[K][] } = { add: [], update: [], delete: [] };
  #cache = new Map<string, Entry<T>>();
  #resourceVersion: string | undefined;
  #state: InformerState = 'stopped';
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #lastEventAt: number | undefined;
  /** 410s since the last watch event; a second one in a row is treated as an error. */
  #expiredStreak = 0;
  #running = false;
  #stop = new AbortController();
  #endWatch: ((outcome: WatchOutcome) => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: SupervisedInformerOptions<T>) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger.child({ informer: options.name });
    this.#parse = options.parse ?? ((obj: unknown) => obj as T);
    this.#random = options.random ?? Math.random;
    this.#backoff = new Backoff({
      baseMs: options.backoffBaseMs ?? 1000,
      maxMs: options.backoffMaxMs ?? 30_000,
      jitter: 0.2,
      random: this.#random,
    });
    this.#relistIntervalMs = options.relistIntervalMs ?? 10 * 60_000;
    this.#stalenessMs = options.stalenessMs ?? 5 * 60_000;
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
  }

  /** Registers an event handler (synchronous, non-blocking; see the class comment). */
  on<K extends keyof InformerHandlers<T>>(event: K, handler: InformerHandlers<T>[K]): void {
    this.#handlers[event].push(handler);
  }

  /** Starts listing and watching in the background; returns at once. Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stop = new AbortController();
    this.#loop = this.#run();
  }

  /** Stops the reflector and closes the watch. The cache keeps its last content. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stop.abort(new Error('informer stopped'));
    this.#endWatch?.({ kind: 'stopped' });
    await this.#loop;
    this.#setState('stopped', {});
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
  }

  /** True after the first successful list. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /**
   * Resolves `true` once the first list succeeded, or `false` if `signal` aborts or the informer is
   * stopped first (e.g. `waitForSync(AbortSignal.timeout(120_000))`).
   */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => resolve(this.#synced);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.#synced);
      });
    });
  }

  /** True while a watch connection is established (used for readiness). */
  isWatching(): boolean {
    return this.#state === 'watching';
  }

  /** The current reflector state. */
  state(): InformerState {
    return this.#state;
  }

  /** The cached object, if any. Pass `undefined`/`''` as namespace for cluster-scoped objects. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(objectKey(namespace, name))?.obj;
  }

  /** All cached objects, optionally only those of one namespace. */
  list(namespace?: string): T[] {
    const out: T[] = [];
    const prefix = namespace ? `${namespace}/` : undefined;
    for (const [key, entry] of this.#cache) {
      if (prefix === undefined || key.startsWith(prefix)) out.push(entry.obj);
    }
    return out;
  }

  /** Epoch ms of the last list, watch event or bookmark; `undefined` before the first. */
  lastEventAt(): number | undefined {
    return this.#lastEventAt;
  }

  /** The resourceVersion the next watch resumes from. */
  resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  // -------------------------------------------------------------------------------------------

  async #run(): Promise<void> {
    let cause = 'start';
    while (this.#running) {
      try {
        await this.#listAndReplace(cause);
        const outcome = await this.#watchUntilRelist();
        if (outcome.kind === 'stopped') return;
        if (outcome.kind === 'error') throw outcome.err;
        if (outcome.kind === 'expired') {
          // Relist at once (client-go does too), but back off if the fresh list expires again at once.
          this.#expiredStreak++;
          if (this.#expiredStreak > 1) throw new Error('watch expired again right after a relist');
          cause = 'expired';
        } else cause = 'relist';
      } catch (err) {
        if (!this.#running) return;
        const delayMs = this.#backoff.next();
        this.#setState('backoff', { attempt: this.#backoff.attempts, delayMs, err });
        this.#log.warn('Informer error, retrying', { err, attempt: this.#backoff.attempts, delayMs: Math.round(delayMs) });
        cause = 'error';
        try {
          await this.#clock.sleep(delayMs, this.#stop.signal);
        } catch {
          return; // stopped
        }
      }
    }
  }

  /** Lists (page by page when `list` yields pages), replaces the cache and delivers the differences as events. */
  async #listAndReplace(cause: string): Promise<void> {
    this.#setState('listing', { cause });
    const signal = this.#stop.signal;
    const source = this.#o.list(signal);
    const next = new Map<string, Entry<T>>();
    let resourceVersion: string | undefined;
    const ingest = (result: ListResult | undefined): void => {
      const items = Array.isArray(result?.items) ? result.items : [];
      for (const raw of items) {
        const entry = this.#toEntry(raw);
        if (entry) next.set(entry.key, { obj: entry.obj, resourceVersion: entry.resourceVersion });
      }
      resourceVersion = result?.metadata?.resourceVersion || resourceVersion;
    };
    if (isAsyncIterable(source)) {
      const pages = source[Symbol.asyncIterator]();
      for (;;) {
        const step = await untilAborted(pages.next(), signal);
        if (!this.#running) {
          await pages.return?.(undefined);
          return;
        }
        if (step.done) break;
        ingest(step.value);
      }
    } else {
      ingest(await untilAborted(source, signal));
      if (!this.#running) return;
    }
    const previous = this.#cache;
    this.#cache = next;
    this.#resourceVersion = resourceVersion;
    this.#lastEventAt = this.#clock.now();
    for (const [key, entry] of next) {
      const old = previous.get(key);
      if (!old) this.#emit('add', entry.obj);
      else if (old.resourceVersion !== entry.resourceVersion) this.#emit('update', entry.obj, old.obj);
    }
    for (const [key, old] of previous) {
      if (!next.has(key)) this.#emit('delete', old.obj);
    }
    if (!this.#synced) {
      this.#synced = true;
      this.#log.info('Informer synced', { objects: next.size });
      for (const resolve of this.#syncWaiters.splice(0)) resolve();
    }
  }

  /** Watches (reconnecting after clean closes and staleness) until a relist is due or an error occurs. */
  async #watchUntilRelist(): Promise<WatchOutcome> {
    const relistAt = this.#clock.now() + withJitter(this.#relistIntervalMs, 0.1, this.#random);
    for (;;) {
      if (!this.#running) return { kind: 'stopped' };
      const remaining = relistAt - this.#clock.now();
      if (remaining <= 0) return { kind: 'relist' };
      const outcome = await this.#watchOnce(remaining);
      switch (outcome.kind) {
        case 'closed':
          if (!outcome.healthy) {
            // A server that closes watches at once must not make us spin: back off like an error.
            return { kind: 'error', err: new Error('watch closed without delivering events') };
          }
          break;
        case 'stale':
          this.#log.warn('Informer watch stale, rebuilding', { stalenessMs: this.#stalenessMs });
          break;
        default:
          return outcome;
      }
    }
  }

  /** Runs one watch connection from the current resourceVersion. */
  #watchOnce(relistInMs: number): Promise<WatchOutcome> {
    return new Promise<WatchOutcome>((resolve) => {
      const startedAt = this.#clock.now();
      let lastActivity = startedAt;
      let gotEvent = false;
      let finished = false;
      let controller: AbortController | undefined;
      const timers: (() => void)[] = [];

      const finish = (outcome: WatchOutcome): void => {
        if (finished) return;
        finished = true;
        this.#endWatch = undefined;
        for (const cancel of timers) cancel();
        controller?.abort();
        resolve(outcome);
      };
      this.#endWatch = finish;

      timers.push(this.#clock.setTimer(() => finish({ kind: 'relist' }), relistInMs));
      const armStaleness = (delayMs: number): void => {
        timers.push(this.#clock.setTimer(() => {
          const idle = this.#clock.now() - lastActivity;
          if (idle >= this.#stalenessMs) finish({ kind: 'stale' });
          else armStaleness(this.#stalenessMs - idle);
        }, delayMs));
      };
      armStaleness(this.#stalenessMs);

      const onEvent = (type: string, obj: unknown): void => {
        if (finished) return;
        lastActivity = this.#clock.now();
        this.#lastEventAt = lastActivity;
        if (type !== 'ERROR') {
          // A delivered event proves the connection healthy.
          this.#expiredStreak = 0;
          if (!gotEvent) this.#backoff.reset();
          gotEvent = true;
        }
        const outcome = this.#applyWatchEvent(type, obj);
        if (outcome) finish(outcome);
      };
      const onDone = (err: unknown): void => {
        if (finished) return;
        const lived = this.#clock.now() - startedAt;
        const healthy = gotEvent || lived >= HEALTHY_WATCH_MS;
        if (healthy) this.#backoff.reset();
        if (!err || (err as { name?: unknown }).name === 'TimeoutError') {
          // Clean end (server timeout, or client-node's inactivity timeout): resume from our RV.
          finish({ kind: 'closed', healthy });
        } else if (apiErrorCode(err) === 410) {
          finish({ kind: 'expired' });
        } else {
          finish({ kind: 'error', err });
        }
      };

      const query: Record<string, string | number | boolean | undefined> = {
        allowWatchBookmarks: true,
        resourceVersion: this.#resourceVersion,
        timeoutSeconds: Math.round(this.#watchTimeoutSeconds * (1 + this.#random())),
        labelSelector: this.#o.labelSelector,
        fieldSelector: this.#o.fieldSelector,
      };
      new Watch(this.#o.kc)
        .watch(this.#o.path, query, onEvent, onDone)
        .then((c) => {
          controller = c;
          if (finished) c.abort();
          else this.#setState('watching', { resourceVersion: this.#resourceVersion });
        })
        .catch((err: unknown) => finish({ kind: 'error', err }));
    });
  }

  /** Applies one watch event to the cache; returns an outcome when the watch must end. */
  #applyWatchEvent(type: string, raw: unknown): WatchOutcome | undefined {
    const rv = metaOf(raw).resourceVersion;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED': {
        const entry = this.#toEntry(raw);
        if (rv) this.#resourceVersion = rv;
        if (!entry) {
          // The object is no longer usable: forget the old version so handlers see it gone.
          const { namespace, name } = metaOf(raw);
          if (name !== undefined) this.#remove(objectKey(namespace, name));
          return undefined;
        }
        const old = this.#cache.get(entry.key);
        this.#cache.set(entry.key, { obj: entry.obj, resourceVersion: entry.resourceVersion });
        if (old && entry.resourceVersion !== '' && old.resourceVersion === entry.resourceVersion) return undefined; // replayed
        if (old) this.#emit('update', entry.obj, old.obj);
        else this.#emit('add', entry.obj);
        return undefined;
      }
      case 'DELETED': {
        const { namespace, name } = metaOf(raw);
        if (rv) this.#resourceVersion = rv;
        if (name !== undefined) this.#remove(objectKey(namespace, name));
        return undefined;
      }
      case 'BOOKMARK':
        if (rv) this.#resourceVersion = rv;
        return undefined;
      case 'ERROR': {
        const status = (typeof raw === 'object' && raw !== null ? raw : {}) as { code?: unknown; reason?: unknown; message?: unknown };
        const code = typeof status.code === 'number' ? status.code : undefined;
        if (code === 410 || status.reason === 'Expired' || status.reason === 'Gone') return { kind: 'expired' };
        const reason = typeof status.reason === 'string' ? status.reason : undefined;
        const message = typeof status.message === 'string' ? status.message : 'watch error event';
        return { kind: 'error', err: new WatchStatusError(code, reason, message) };
      }
      default:
        this.#log.debug('Informer ignored unknown watch event type', { type });
        return undefined;
    }
  }

  #remove(key: string): void {
    const old = this.#cache.get(key);
    if (!old) return;
    this.#cache.delete(key);
    this.#emit('delete', old.obj);
  }

  /** Parses a raw object into a cache entry, reporting invalid ones. */
  #toEntry(raw: unknown): (Entry<T> & { key: string }) | undefined {
    const { namespace, name, resourceVersion } = metaOf(raw);
    try {
      if (name === undefined) throw new Error('object has no metadata.name');
      const obj = this.#parse(raw);
      return { key: objectKey(namespace, name), obj, resourceVersion: resourceVersion ?? '' };
    } catch (err) {
      this.#log.debug('Informer skipped invalid object', { object: name === undefined ? undefined : objectKey(namespace, name), err });
      try {
        this.#o.onInvalid?.(raw, err);
      } catch (hookErr) {
        this.#log.warn('Informer onInvalid hook threw', { err: hookErr });
      }
      return undefined;
    }
  }

  #emit(event: 'add' | 'delete', obj: T): void;
  #emit(event: 'update', obj: T, old: T): void;
  #emit(event: keyof InformerHandlers<T>, obj: T, old?: T): void {
    for (const handler of this.#handlers[event]) {
      try {
        if (event === 'update') (handler as InformerHandlers<T>['update'])(obj, old as T);
        else (handler as InformerHandlers<T>['add'])(obj);
      } catch (err) {
        this.#log.error('Informer event handler threw', { event, err });
      }
    }
  }

  #setState(state: InformerState, info: Omit<InformerStateInfo, 'name'>): void {
    this.#state = state;
    try {
      this.#o.onStateChange?.(state, { name: this.#o.name, ...info });
    } catch (err) {
      this.#log.warn('Informer onStateChange hook threw', { err });
    }
  }
}
