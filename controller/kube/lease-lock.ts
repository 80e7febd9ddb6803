/**
 * `coordination.k8s.io/v1` Lease lock (client-go's `LeaseLock`). Times are MicroTime (six
 * fractional digits), which a real API server insists on.
 */
import type { ConfigurationOptions, V1Lease } from '@kubernetes/client-node';
import { ObjectLock } from './object-lock.js';
import type { LeaderElectionRecord, LockObservation } from './resource-lock.js';
import { parseKubeTime, toMicroTime } from './time.js';

/** The Lease calls the lock makes; `CoordinationV1Api` satisfies it. */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }, options?: ConfigurationOptions): Promise<V1Lease>;
  createNamespacedLease(param: { namespace: string; body: V1Lease }, options?: ConfigurationOptions): Promise<V1Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: V1Lease }, options?: ConfigurationOptions): Promise<V1Lease>;
}

/** Lease lock (see the module comment). */
export class LeaseLock extends ObjectLock<V1Lease> {
  readonly kind = 'Lease' as const;
  readonly resource = 'leases.coordination.k8s.io';
  protected readonly apiVersion = 'coordination.k8s.io/v1';
  readonly #api: LeaseApi;

  constructor(api: LeaseApi, namespace: string, name: string, defaultDurationSeconds: number) {
    super(namespace, name, defaultDurationSeconds);
    this.#api = api;
  }

  /** The Lease as last read or written. */
  get lease(): Readonly<V1Lease> | undefined {
    return this.object;
  }

  protected readObject(options?: ConfigurationOptions): Promise<V1Lease> {
    return this.#api.readNamespacedLease({ name: this.name, namespace: this.namespace }, options);
  }

  protected createObject(body: V1Lease, options?: ConfigurationOptions): Promise<V1Lease> {
    return this.#api.createNamespacedLease({ namespace: this.namespace, body }, options);
  }

  protected replaceObject(body: V1Lease, options?: ConfigurationOptions): Promise<V1Lease> {
    return this.#api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }, options);
  }

  protected withRecord(current: V1Lease | undefined, r: LeaderElectionRecord): V1Lease {
    const spec: NonNullable<V1Lease['spec']> = {
      holderIdentity: r.holderIdentity,
      leaseDurationSeconds: r.leaseDurationSeconds,
      ...(r.acquireTime !== undefined ? { acquireTime: toMicroTime(r.acquireTime) } : {}),
      ...(r.renewTime !== undefined ? { renewTime: toMicroTime(r.renewTime) } : {}),
      leaseTransitions: r.leaderTransitions,
    };
    if (!current) return { apiVersion: this.apiVersion, kind: this.kind, metadata: { name: this.name, namespace: this.namespace }, spec };
    return { ...current, spec: { ...current.spec, ...spec } };
  }

  protected observe(lease: V1Lease): LockObservation {
    const s = lease.spec ?? {};
    const renew = parseKubeTime(s.renewTime);
    return {
      record: {
        holderIdentity: s.holderIdentity ?? '',
        leaseDurationSeconds: s.leaseDurationSeconds && s.leaseDurationSeconds > 0 ? s.leaseDurationSeconds : this.defaultDurationSeconds,
        acquireTime: parseKubeTime(s.acquireTime),
        renewTime: renew,
        leaderTransitions: s.leaseTransitions ?? 0,
      },
      fingerprint: `${lease.metadata?.resourceVersion ?? ''}|${s.holderIdentity ?? ''}|${String(renew ?? '')}`,
    };
  }
}
