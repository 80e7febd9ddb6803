/**
 * Watch streams: newline-delimited JSON `{type, object}` events, flushed one by one. Resumes from
 * a resourceVersion out of the store's history (410 Expired as an ERROR event when too old),
 * sends synthetic ADDED events when no resourceVersion (or "0") is given, supports bookmarks,
 * `timeoutSeconds`, selector transitions (an object that stops matching is sent as DELETED), and
 * Table / PartialObjectMetadata shaped objects.
 */
import type { ServerResponse } from 'node:http';
import { KubeStatusError, isKubeStatusError } from './errors.js';
import type { KubeObject } from './objects.js';
import type { ResourceType } from './resource-type.js';
import type { ObjectMatcher, ResourceService } from './service.js';
import type { StoreEvent } from './store.js';
import type { ResponseShape } from './table.js';
import { buildTable, partialMetadata } from './table.js';
import type { TrafficControl } from './traffic.js';

/** Parameters of one watch. */
export interface WatchParams {
  rt: ResourceType;
  match: ObjectMatcher;
  resourceVersion: string | null;
  sendInitialEvents: boolean;
  allowBookmarks: boolean;
  timeoutSeconds: number | undefined;
  shape: ResponseShape;
  bookmarkIntervalMs: number;
}

/** One open watch response. */
export class WatchStream {
  private closed = false;
  private unsubscribe: () => void = () => undefined;
  private timers: NodeJS.Timeout[] = [];
  private pending: string[] = [];
  private flushScheduled = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly service: ResourceService,
    private readonly traffic: TrafficControl,
    private readonly params: WatchParams,
    private readonly onClose: (w: WatchStream) => void,
  ) {}

  /** Storage bucket this watch follows. */
  get storage(): string {
    return this.params.rt.storage;
  }

  /** Replays history (or the initial state), then follows live events. Writes the 200 header. */
  start(): void {
    const { rt, match } = this.params;
    const store = this.service.store;
    const rvParam = this.params.resourceVersion;
    const initial = this.params.sendInitialEvents || !rvParam || rvParam === '0';
    let replay: StoreEvent[] | KubeObject[] = [];
    let expiredError: KubeStatusError | undefined;
    if (initial) {
      replay = store.list(rt.storage).filter(match);
    } else {
      try {
        if (!/^\d+$/.test(rvParam)) throw new KubeStatusError(400, 'BadRequest', `resourceVersion: Invalid value: "${rvParam}"`);
        replay = store.eventsSince(rt.storage, Number(rvParam));
      } catch (e) {
        if (!isKubeStatusError(e)) throw e;
        expiredError = e;
      }
    }
    this.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    this.res.flushHeaders();
    this.res.on('close', () => this.close());
    if (expiredError) {
      this.write({ type: 'ERROR', object: expiredError.toStatus() });
      this.end();
      return;
    }
    this.unsubscribe = store.subscribe(rt.storage, { deliver: (ev) => this.onEvent(ev) });
    if (initial) {
      for (const o of replay as KubeObject[]) this.emit('ADDED', o);
      if (this.params.sendInitialEvents && this.params.allowBookmarks) this.bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      for (const ev of replay as StoreEvent[]) this.onEvent(ev);
    }
    if (this.params.allowBookmarks) {
      const t = setInterval(() => this.bookmark(), this.params.bookmarkIntervalMs);
      t.unref();
      this.timers.push(t);
    }
    if (this.params.timeoutSeconds !== undefined && this.params.timeoutSeconds > 0) {
      const t = setTimeout(() => {
        if (this.params.allowBookmarks) this.bookmark();
        this.end();
      }, this.params.timeoutSeconds * 1000);
      t.unref();
      this.timers.push(t);
    }
  }

  /** Ends the stream cleanly (the client sees end-of-stream and may resume). */
  end(): void {
    if (this.closed) return;
    this.flush();
    this.res.end();
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.onClose(this);
  }

  private onEvent(ev: StoreEvent): void {
    const { match } = this.params;
    const now = match(ev.obj);
    if (ev.type === 'ADDED') {
      if (now) this.emit('ADDED', ev.obj);
    } else if (ev.type === 'DELETED') {
      if (now || (ev.prev !== undefined && match(ev.prev))) this.emit('DELETED', ev.obj);
    } else {
      const before = ev.prev !== undefined && match(ev.prev);
      if (before && now) this.emit('MODIFIED', ev.obj);
      else if (before) this.emit('DELETED', ev.obj);
      else if (now) this.emit('ADDED', ev.obj);
    }
  }

  private emit(type: string, stored: KubeObject): void {
    const { rt, shape } = this.params;
    const view = this.service.toView(rt, stored);
    let object: KubeObject = view;
    if (shape.kind === 'table') object = buildTable(rt, [stored], [view], shape, { resourceVersion: (view.metadata as { resourceVersion?: string }).resourceVersion }, Date.now());
    else if (shape.kind === 'metadata') object = partialMetadata(view, shape.apiVersion);
    this.write({ type, object });
    this.traffic.bump('watch:events');
  }

  private bookmark(annotations?: Record<string, string>): void {
    if (this.closed || this.traffic.isPaused()) return;
    const { rt } = this.params;
    const metadata: Record<string, unknown> = { resourceVersion: String(this.service.store.currentRV()) };
    if (annotations) metadata.annotations = annotations;
    this.write({ type: 'BOOKMARK', object: { kind: rt.kind, apiVersion: rt.group ? `${rt.group}/${rt.version}` : rt.version, metadata } });
  }

  private write(event: unknown): void {
    if (this.closed) return;
    const line = `${JSON.stringify(event)}\n`;
    if (this.traffic.isPaused() || this.pending.length > 0) {
      this.pending.push(line);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        void this.traffic.whenRunning().then(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
      return;
    }
    this.res.write(line);
  }

  private flush(): void {
    if (this.closed || this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    for (const l of lines) this.res.write(l);
  }
}
