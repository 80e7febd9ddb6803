/**
 * The lock upstream MIC uses: client-go's Endpoints resource lock. The record is JSON in the
 * annotation `control-plane.alpha.kubernetes.io/leader` of an Endpoints object, in client-go's
 * field names, with `metav1.Time` timestamps (RFC 3339, whole seconds). Holding this object is what
 * makes an upstream MIC (any v1.x) stand by.
 */
import type { ConfigurationOptions, V1Endpoints } from '@kubernetes/client-node';
import { ObjectLock } from './object-lock.js';
import { UNREADABLE_HOLDER, type LeaderElectionRecord, type LockObservation } from './resource-lock.js';

/** Annotation holding the record (client-go's `LeaderElectionRecordAnnotationKey`). */
export const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

/** The Endpoints calls the lock makes; `CoreV1Api` satisfies it. */
export interface EndpointsApi {
  readNamespacedEndpoints(param: { name: string; namespace: string }, options?: ConfigurationOptions): Promise<V1Endpoints>;
  createNamespacedEndpoints(param: { namespace: string; body: V1Endpoints }, options?: ConfigurationOptions): Promise<V1Endpoints>;
  replaceNamespacedEndpoints(param: { name: string; namespace: string; body: V1Endpoints }, options?: ConfigurationOptions): Promise<V1Endpoints>;
}

/** Formats epoch ms as a `metav1.Time` (RFC 3339, whole seconds, UTC). */
export function formatKubeSeconds(epochMs: number): string {
  return `${new Date(Math.floor(epochMs / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** Serialises a record exactly as client-go does (same keys, same order). */
export function encodeLeaderRecord(r: LeaderElectionRecord): string {
  return JSON.stringify({
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    acquireTime: r.acquireTime === undefined ? null : formatKubeSeconds(r.acquireTime),
    renewTime: r.renewTime === undefined ? null : formatKubeSeconds(r.renewTime),
    leaderTransitions: r.leaderTransitions,
  });
}

function time(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Parses the annotation. A record that is not a JSON object is reported as held by
 * {@link UNREADABLE_HOLDER} (so it is respected until it stops changing for a lease duration).
 */
export function decodeLeaderRecord(raw: string, defaultDurationSeconds: number): LeaderElectionRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { holderIdentity: UNREADABLE_HOLDER, leaseDurationSeconds: defaultDurationSeconds, leaderTransitions: 0 };
  }
  const o = parsed as Record<string, unknown>;
  const duration = typeof o.leaseDurationSeconds === 'number' && o.leaseDurationSeconds > 0 ? o.leaseDurationSeconds : defaultDurationSeconds;
  return {
    holderIdentity: typeof o.holderIdentity === 'string' ? o.holderIdentity : '',
    leaseDurationSeconds: duration,
    acquireTime: time(o.acquireTime),
    renewTime: time(o.renewTime),
    leaderTransitions: typeof o.leaderTransitions === 'number' ? o.leaderTransitions : 0,
  };
}

/** Endpoints-annotation lock (see the module comment). */
export class EndpointsLock extends ObjectLock<V1Endpoints> {
  readonly kind = 'Endpoints' as const;
  readonly resource = 'endpoints';
  protected readonly apiVersion = 'v1';
  readonly #api: EndpointsApi;

  constructor(api: EndpointsApi, namespace: string, name: string, defaultDurationSeconds: number) {
    super(namespace, name, defaultDurationSeconds);
    this.#api = api;
  }

  protected readObject(options?: ConfigurationOptions): Promise<V1Endpoints> {
    return this.#api.readNamespacedEndpoints({ name: this.name, namespace: this.namespace }, options);
  }

  protected createObject(body: V1Endpoints, options?: ConfigurationOptions): Promise<V1Endpoints> {
    return this.#api.createNamespacedEndpoints({ namespace: this.namespace, body }, options);
  }

  protected replaceObject(body: V1Endpoints, options?: ConfigurationOptions): Promise<V1Endpoints> {
    return this.#api.replaceNamespacedEndpoints({ name: this.name, namespace: this.namespace, body }, options);
  }

  protected withRecord(current: V1Endpoints | undefined, record: LeaderElectionRecord): V1Endpoints {
    const annotation = { [LEADER_ANNOTATION]: encodeLeaderRecord(record) };
    if (!current) return { apiVersion: this.apiVersion, kind: this.kind, metadata: { name: this.name, namespace: this.namespace, annotations: annotation } };
    return { ...current, metadata: { ...current.metadata, annotations: { ...(current.metadata?.annotations ?? {}), ...annotation } } };
  }

  protected observe(ep: V1Endpoints): LockObservation {
    const raw = ep.metadata?.annotations?.[LEADER_ANNOTATION];
    // An Endpoints object without the annotation is a free lock (client-go creates the annotation on update).
    if (raw === undefined) return { record: { holderIdentity: '', leaseDurationSeconds: this.defaultDurationSeconds, leaderTransitions: 0 }, fingerprint: '' };
    return { record: decodeLeaderRecord(raw, this.defaultDurationSeconds), fingerprint: raw };
  }
}
