/**
 * In-memory object store with one global, monotonically increasing resourceVersion, a bounded
 * event history (for watch resume and consistent paginated lists) and synchronous watcher fan-out.
 * Stored objects are never mutated after commit; every write stores a fresh object.
 */
import { expired } from './errors.js';
import type { KubeObject } from './objects.js';
import { metaOf } from './objects.js';

/** Watch event types the store produces. */
export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed change. */
export interface StoreEvent {
  rv: number;
  type: StoreEventType;
  storage: string;
  key: string;
  namespace: string;
  obj: KubeObject;
  /** The object before the change (MODIFIED, DELETED). */
  prev?: KubeObject;
}

/** A subscriber to one storage bucket. */
export interface StoreSubscriber {
  deliver(ev: StoreEvent): void;
}

/** `namespace/name` key of an object (namespace empty for cluster-scoped kinds). */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** See module comment. */
export class ObjectStore {
  private readonly buckets = new Map<string, Map<string, KubeObject>>();
  private readonly sortedKeys = new Map<string, string[]>();
  private readonly subscribers = new Map<string, Set<StoreSubscriber>>();
  private history: StoreEvent[] = [];
  private rv = 1;
  private compacted = 1;

  constructor(private readonly historyWindow: number) {}

  /** The current (latest committed) resourceVersion. */
  currentRV(): number {
    return this.rv;
  }

  /** History starts after this resourceVersion; older resume points are expired. */
  compactedRV(): number {
    return this.compacted;
  }

  /** The stored object, if any. */
  get(storage: string, namespace: string, name: string): KubeObject | undefined {
    return this.buckets.get(storage)?.get(objectKey(namespace, name));
  }

  /** Stored objects of a bucket, ordered by namespace/name (like etcd keys); `namespace` filters. */
  list(storage: string, namespace?: string): KubeObject[] {
    const bucket = this.buckets.get(storage);
    if (!bucket) return [];
    let keys = this.sortedKeys.get(storage);
    if (!keys) {
      keys = [...bucket.keys()].sort();
      this.sortedKeys.set(storage, keys);
    }
    const out: KubeObject[] = [];
    for (const k of keys) {
      if (namespace !== undefined && !k.startsWith(`${namespace}/`)) continue;
      out.push(bucket.get(k) as KubeObject);
    }
    return out;
  }

  /** Number of objects in a bucket. */
  count(storage: string): number {
    return this.buckets.get(storage)?.size ?? 0;
  }

  /**
   * The bucket as it was at resourceVersion `rv` (undoing later history); 410 Expired when `rv`
   * is older than the kept history.
   */
  listAt(storage: string, rv: number, namespace?: string): KubeObject[] {
    if (rv >= this.rv) return this.list(storage, namespace);
    if (rv < this.compacted) throw expired(`The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.`);
    const state = new Map<string, KubeObject>();
    for (const o of this.list(storage, namespace)) state.set(objectKey(metaOf(o).namespace ?? '', metaOf(o).name ?? ''), o);
    for (let i = this.history.length - 1; i >= 0; i--) {
      const ev = this.history[i] as StoreEvent;
      if (ev.rv <= rv) break;
      if (ev.storage !== storage || (namespace !== undefined && ev.namespace !== namespace)) continue;
      if (ev.type === 'ADDED') state.delete(ev.key);
      else state.set(ev.key, ev.prev as KubeObject);
    }
    return [...state.keys()].sort().map((k) => state.get(k) as KubeObject);
  }

  /** Commits a create or update: stamps a new resourceVersion and notifies subscribers. */
  put(storage: string, obj: KubeObject): KubeObject {
    const meta = metaOf(obj);
    const namespace = meta.namespace ?? '';
    const key = objectKey(namespace, meta.name ?? '');
    let bucket = this.buckets.get(storage);
    if (!bucket) {
      bucket = new Map();
      this.buckets.set(storage, bucket);
    }
    const prev = bucket.get(key);
    const rv = ++this.rv;
    const stored: KubeObject = { ...obj, metadata: { ...meta, resourceVersion: String(rv) } };
    bucket.set(key, stored);
    if (!prev) this.sortedKeys.delete(storage);
    this.record({ rv, type: prev ? 'MODIFIED' : 'ADDED', storage, key, namespace, obj: stored, ...(prev ? { prev } : {}) });
    return stored;
  }

  /** Removes an object; the DELETED event carries the deletion's resourceVersion. */
  remove(storage: string, namespace: string, name: string): KubeObject | undefined {
    const bucket = this.buckets.get(storage);
    const key = objectKey(namespace, name);
    const prev = bucket?.get(key);
    if (!bucket || !prev) return undefined;
    bucket.delete(key);
    this.sortedKeys.delete(storage);
    const rv = ++this.rv;
    const last: KubeObject = { ...prev, metadata: { ...metaOf(prev), resourceVersion: String(rv) } };
    this.record({ rv, type: 'DELETED', storage, key, namespace, obj: last, prev });
    return last;
  }

  /** Events of `storage` after `rv`; 410 Expired when `rv` is older than the kept history. */
  eventsSince(storage: string, rv: number): StoreEvent[] {
    if (rv < this.compacted) throw expired(`too old resource version: ${rv} (${this.compacted + 1})`);
    const out: StoreEvent[] = [];
    let i = this.history.length - 1;
    while (i >= 0 && (this.history[i] as StoreEvent).rv > rv) i--;
    for (let j = i + 1; j < this.history.length; j++) {
      const ev = this.history[j] as StoreEvent;
      if (ev.storage === storage) out.push(ev);
    }
    return out;
  }

  /** Forgets all history: resuming from any earlier resourceVersion is then expired. */
  compact(): void {
    this.history = [];
    this.compacted = this.rv;
  }

  /** Subscribes to one bucket; returns the unsubscribe function. */
  subscribe(storage: string, sub: StoreSubscriber): () => void {
    let set = this.subscribers.get(storage);
    if (!set) {
      set = new Set();
      this.subscribers.set(storage, set);
    }
    set.add(sub);
    return () => set.delete(sub);
  }

  private record(ev: StoreEvent): void {
    this.history.push(ev);
    if (this.history.length > this.historyWindow * 1.25) {
      const drop = this.history.length - this.historyWindow;
      this.compacted = (this.history[drop - 1] as StoreEvent).rv;
      this.history = this.history.slice(drop);
    }
    for (const sub of this.subscribers.get(ev.storage) ?? []) sub.deliver(ev);
  }
}
