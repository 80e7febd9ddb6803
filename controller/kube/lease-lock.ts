/**
 * `coordination.k8s.io/v1` Lease lock (client-go's `LeaseLock`). Times are MicroTime (six
 * fractional digits), which a real API server insists on.
 */
import type { ConfigurationOptions, V1Lease } from '@kubernetes/client-node';
import { isNotFound } from './client.js';
import type { ObjectReferenceLike } from './event-recorder.js';
import type { LeaderElectionRecord, LockObservation, ResourceLock } from './resource-lock.js';
import { parseKubeTime, toMicroTime } from './time.js';

/** The Lease calls the lock makes; `CoordinationV1Api` satisfies it. */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }, options?: ConfigurationOptions): Promise<V1Lease>;
  createNamespacedLease(param: { namespace: string; body: V1Lease }, options?: ConfigurationOptions): Promise<V1Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: V1Lease }, options?: ConfigurationOptions): Promise<V1Lease>;
}

/** Lease lock (see the module comment). */
export class LeaseLock implements ResourceLock {
  readonly kind = 'Lease' as const;
  readonly key: string;
  readonly resource = 'leases.coordination.k8s.io';
  readonly #api: LeaseApi;
  readonly #namespace: string;
  readonly #name: string;
  readonly #defaultDurationSeconds: number;
  #object: V1Lease | undefined;

  constructor(api: LeaseApi, namespace: string, name: string, defaultDurationSeconds: number) {
    this.#api = api;
    this.#namespace = namespace;
    this.#name = name;
    this.#defaultDurationSeconds = defaultDurationSeconds;
    this.key = `${namespace}/${name}`;
  }

  /** The Lease as last read or written. */
  get lease(): Readonly<V1Lease> | undefined {
    return this.#object;
  }

  async get(options?: ConfigurationOptions): Promise<LockObservation | undefined> {
    try {
      this.#object = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace }, options);
    } catch (err) {
      if (isNotFound(err)) {
        this.#object = undefined;
        return undefined;
      }
      throw err;
    }
    return this.#observation(this.#object);
  }

  async create(record: LeaderElectionRecord, options?: ConfigurationOptions): Promise<LockObservation> {
    const body: V1Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.#name, namespace: this.#namespace }, spec: this.#spec(record) };
    this.#object = await this.#api.createNamespacedLease({ namespace: this.#namespace, body }, options);
    return this.#observation(this.#object);
  }

  async update(record: LeaderElectionRecord, options?: ConfigurationOptions): Promise<LockObservation> {
    const current = this.#object;
    if (!current) return this.create(record, options);
    const body: V1Lease = { ...current, spec: { ...current.spec, ...this.#spec(record) } };
    this.#object = await this.#api.replaceNamespacedLease({ name: this.#name, namespace: this.#namespace, body }, options);
    return this.#observation(this.#object);
  }

  eventTarget(): ObjectReferenceLike | undefined {
    const m = this.#object?.metadata;
    return m ? { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: this.#name, namespace: this.#namespace, uid: m.uid, resourceVersion: m.resourceVersion } : undefined;
  }

  #spec(r: LeaderElectionRecord): NonNullable<V1Lease['spec']> {
    return {
      holderIdentity: r.holderIdentity,
      leaseDurationSeconds: r.leaseDurationSeconds,
      ...(r.acquireTime !== undefined ? { acquireTime: toMicroTime(r.acquireTime) } : {}),
      ...(r.renewTime !== undefined ? { renewTime: toMicroTime(r.renewTime) } : {}),
      leaseTransitions: r.leaderTransitions,
    };
  }

  #observation(lease: V1Lease): LockObservation {
    const s = lease.spec ?? {};
    const renew = parseKubeTime(s.renewTime);
    return {
      record: {
        holderIdentity: s.holderIdentity ?? '',
        leaseDurationSeconds: s.leaseDurationSeconds && s.leaseDurationSeconds > 0 ? s.leaseDurationSeconds : this.#defaultDurationSeconds,
        acquireTime: parseKubeTime(s.acquireTime),
        renewTime: renew,
        leaderTransitions: s.leaseTransitions ?? 0,
      },
      fingerprint: `${lease.metadata?.resourceVersion ?? ''}|${s.holderIdentity ?? ''}|${String(renew ?? '')}`,
    };
  }
}
