/**
 * A core/v1 Event recorder (client-node has none). `record` is fire-and-forget: it never throws and
 * never blocks the caller; writes happen in the background, one at a time, and failures are only
 * logged. Repeats of the same (object, type, reason, message) within the aggregation window PATCH
 * the existing Event's `count`/`lastTimestamp` instead of creating a new one, and a token bucket per
 * involved object stops event storms (client-go's defaults: burst 25, one token per 5 minutes).
 */
import os from 'node:os';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type ConfigurationOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../observability/logger.js';
import { isNotFound, makeApiClient, requestOptions } from './client.js';

/** Source component of every event (upstream's). */
export const EVENT_SOURCE_COMPONENT = 'aadpodidentity.k8s.io';

/** The object an event is about. */
export interface ObjectReferenceLike {
  apiVersion?: string;
  kind: string;
  name: string;
  /** Empty/undefined for cluster-scoped objects (their events go to `default`). */
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

/** Event type. */
export type EventType = 'Normal' | 'Warning';

/** The core/v1 Event calls the recorder makes; `CoreV1Api` satisfies it. */
export interface EventsApi {
  createNamespacedEvent(param: { namespace: string; body: CoreV1Event }, options?: ConfigurationOptions): Promise<CoreV1Event>;
  patchNamespacedEvent(param: { name: string; namespace: string; body: object }, options?: ConfigurationOptions): Promise<CoreV1Event>;
}

/** Anything that records events (the reconciler depends on this, tests may pass a fake). */
export interface EventSink {
  record(obj: ObjectReferenceLike, type: EventType, reason: string, message: string): void;
}

/** Options for {@link EventRecorder}. */
export interface EventRecorderOptions {
  /** Kubeconfig to build a `CoreV1Api` from (its `withUserAgent` agent wins over `userAgent`); or pass `coreApi`. */
  kc?: KubeConfig;
  coreApi?: EventsApi;
  userAgent?: string;
  clock?: Clock;
  logger: Logger;
  /** `source.component` and `reportingComponent` (default `aadpodidentity.k8s.io`). */
  component?: string;
  /** `source.host` and `reportingInstance` (default the hostname). */
  instance?: string;
  /** Repeats within this window are aggregated (default 10 min). */
  aggregationWindowMs?: number;
  /** Token bucket per involved object: burst (default 25). */
  burst?: number;
  /** Token bucket refill interval per token (default 5 min). */
  refillIntervalMs?: number;
  /** Events waiting to be written beyond this are dropped (default 1000). */
  maxPending?: number;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
}

/** An Event we wrote and may aggregate into. */
interface Aggregate {
  name: string;
  namespace: string;
  count: number;
  lastSeenAt: number;
}

/** Token-bucket state of one involved object. */
interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Upper bound on remembered aggregates and buckets (oldest are evicted). */
const MAX_TRACKED = 4096;
/** Kubernetes rejects longer event messages on events.k8s.io; keep core events within the same bound. */
const MAX_MESSAGE_LENGTH = 1024;
/** Least time between two warnings about events dropped for a full queue. */
const OVERFLOW_LOG_INTERVAL_MS = 10_000;

/** Fire-and-forget core/v1 Event writer; see the module comment. */
export class EventRecorder implements EventSink {
  readonly #api: EventsApi;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #component: string;
  readonly #instance: string;
  readonly #windowMs: number;
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #maxPending: number;
  readonly #requestTimeoutMs: number;

  readonly #aggregates = new Map<string, Aggregate>();
  readonly #buckets = new Map<string, Bucket>();
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  /** Events dropped for a full queue since the last warning about it, and when that warning was logged. */
  #overflowDropped = 0;
  #overflowLoggedAt = Number.NEGATIVE_INFINITY;
  #sequence = 0;

  constructor(options: EventRecorderOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger.child({ component: 'event-recorder' });
    this.#component = options.component ?? EVENT_SOURCE_COMPONENT;
    this.#instance = options.instance ?? os.hostname();
    this.#windowMs = options.aggregationWindowMs ?? 10 * 60_000;
    this.#burst = options.burst ?? 25;
    this.#refillMs = options.refillIntervalMs ?? 5 * 60_000;
    this.#maxPending = options.maxPending ?? 1000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    if (options.coreApi) this.#api = options.coreApi;
    else if (options.kc) this.#api = makeApiClient(options.kc, CoreV1Api, options.userAgent ? { userAgent: options.userAgent } : {});
    else throw new TypeError('EventRecorder needs kc or coreApi');
  }

  /** Queues an event about `obj`. Never throws, never waits; drops the event when rate-limited. */
  record(obj: ObjectReferenceLike, type: EventType, reason: string, message: string): void {
    try {
      const now = this.#clock.now();
      const objectKey = `${obj.namespace ?? ''}/${obj.kind}/${obj.name}/${obj.uid ?? ''}`;
      if (!this.#takeToken(objectKey, now)) {
        this.#log.debug('Event dropped by rate limit', { object: objectKey, reason });
        return;
      }
      if (this.#pending >= this.#maxPending) {
        // A burst can overflow the queue thousands of times: one warning per interval, with the count.
        this.#overflowDropped++;
        if (now - this.#overflowLoggedAt >= OVERFLOW_LOG_INTERVAL_MS) {
          this.#log.warn('Events dropped, too many pending', { object: objectKey, reason, dropped: this.#overflowDropped, pending: this.#pending });
          this.#overflowDropped = 0;
          this.#overflowLoggedAt = now;
        }
        return;
      }
      this.#pending++;
      const text = message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 3)}...` : message;
      const write = (): Promise<void> => this.#write(obj, objectKey, type, reason, text, now);
      this.#tail = this.#tail.then(write).catch((err: unknown) => {
        this.#log.warn('Event write failed', { object: objectKey, reason, err });
      }).finally(() => {
        this.#pending--;
      });
    } catch (err) {
      this.#log.warn('Event record failed', { reason, err });
    }
  }

  /** Resolves when every event recorded so far has been written (or has failed). */
  async flush(): Promise<void> {
    let tail: Promise<void>;
    do {
      tail = this.#tail;
      await tail;
    } while (tail !== this.#tail);
  }

  async #write(obj: ObjectReferenceLike, objectKey: string, type: EventType, reason: string, message: string, at: number): Promise<void> {
    const namespace = obj.namespace || 'default';
    const aggregateKey = `${objectKey}|${type}|${reason}|${message}`;
    const existing = this.#aggregates.get(aggregateKey);
    const options = requestOptions({ timeoutMs: this.#requestTimeoutMs });
    if (existing && at - existing.lastSeenAt < this.#windowMs) {
      const count = existing.count + 1;
      try {
        await this.#api.patchNamespacedEvent(
          { name: existing.name, namespace: existing.namespace, body: { count, lastTimestamp: new Date(at).toISOString() } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch, options),
        );
        existing.count = count;
        existing.lastSeenAt = at;
        this.#touch(this.#aggregates, aggregateKey, existing);
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.#aggregates.delete(aggregateKey); // the event expired server-side: create a fresh one
      }
    }
    const name = eventName(obj.name, this.#hexTimestamp(at));
    const time = new Date(at);
    const body: CoreV1Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.name,
        namespace: obj.namespace || undefined,
        uid: obj.uid,
        resourceVersion: obj.resourceVersion,
      },
      type,
      reason,
      message,
      source: { component: this.#component, host: this.#instance },
      reportingComponent: this.#component,
      reportingInstance: this.#instance,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    await this.#api.createNamespacedEvent({ namespace, body }, options);
    this.#touch(this.#aggregates, aggregateKey, { name, namespace, count: 1, lastSeenAt: at });
    this.#log.debug('Event recorded', { object: objectKey, type, reason });
  }

  /** client-go names events `<object>.<hex nanoseconds>`; a sequence number keeps names unique within a millisecond. */
  #hexTimestamp(at: number): string {
    this.#sequence = (this.#sequence + 1) % 1_000_000;
    return (BigInt(Math.trunc(at)) * 1_000_000n + BigInt(this.#sequence)).toString(16);
  }

  #takeToken(objectKey: string, now: number): boolean {
    const bucket = this.#buckets.get(objectKey) ?? { tokens: this.#burst, updatedAt: now };
    const refill = this.#refillMs > 0 ? (now - bucket.updatedAt) / this.#refillMs : Number.POSITIVE_INFINITY;
    bucket.tokens = Math.min(this.#burst, bucket.tokens + refill);
    bucket.updatedAt = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.#touch(this.#buckets, objectKey, bucket);
    return allowed;
  }

  /** Moves `key` to the young end of an insertion-ordered map, evicting the oldest beyond the bound. */
  #touch<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > MAX_TRACKED) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
  }
}

/** Longest object name the API server accepts for an Event (a DNS subdomain). */
const MAX_EVENT_NAME = 253;

/**
 * `<object>.<suffix>` as client-go names events, with the object part shortened (and stripped of a
 * trailing `-` or `.`) when the whole would exceed 253 characters: the API server refuses such an
 * Event, which would lose e.g. `InvalidAssignedIdentityName` on a pod with a long name.
 */
export function eventName(objectName: string, suffix: string): string {
  const room = MAX_EVENT_NAME - suffix.length - 1;
  const prefix = objectName.length <= room ? objectName : objectName.slice(0, room).replace(/[-.]+$/u, '');
  return `${prefix}.${suffix}`;
}
