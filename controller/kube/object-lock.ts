/**
 * What every lock kept in one namespaced Kubernetes object shares: the object's coordinates, the copy
 * last read or written (the base of the next optimistic-concurrency replace), not-found handling and
 * the Event target. Subclasses say how the record is stored in their kind of object.
 */
import type { ConfigurationOptions, V1ObjectMeta } from '@kubernetes/client-node';
import { isNotFound } from './client.js';
import type { ObjectReferenceLike } from './event-recorder.js';
import type { LeaderElectionRecord, LockKind, LockObservation, ResourceLock } from './resource-lock.js';

/** A lock object (see the module comment); `T` is the Kubernetes object type carrying the record. */
export abstract class ObjectLock<T extends { metadata?: V1ObjectMeta }> implements ResourceLock {
  abstract readonly kind: LockKind;
  abstract readonly resource: string;
  /** `apiVersion` of the lock object (for Event references). */
  protected abstract readonly apiVersion: string;
  readonly key: string;
  protected readonly namespace: string;
  protected readonly name: string;
  /** Duration assumed for a record that names none. */
  protected readonly defaultDurationSeconds: number;
  #object: T | undefined;

  constructor(namespace: string, name: string, defaultDurationSeconds: number) {
    this.namespace = namespace;
    this.name = name;
    this.defaultDurationSeconds = defaultDurationSeconds;
    this.key = `${namespace}/${name}`;
  }

  /** The object as last read or written. */
  protected get object(): Readonly<T> | undefined {
    return this.#object;
  }

  async get(options?: ConfigurationOptions): Promise<LockObservation | undefined> {
    try {
      this.#object = await this.readObject(options);
    } catch (err) {
      if (isNotFound(err)) {
        this.#object = undefined;
        return undefined;
      }
      throw err;
    }
    return this.observe(this.#object);
  }

  async create(record: LeaderElectionRecord, options?: ConfigurationOptions): Promise<LockObservation> {
    this.#object = await this.createObject(this.withRecord(undefined, record), options);
    return this.observe(this.#object);
  }

  async update(record: LeaderElectionRecord, options?: ConfigurationOptions): Promise<LockObservation> {
    const current = this.#object;
    if (!current) return this.create(record, options);
    this.#object = await this.replaceObject(this.withRecord(current, record), options);
    return this.observe(this.#object);
  }

  eventTarget(): ObjectReferenceLike | undefined {
    const m = this.#object?.metadata;
    return m ? { apiVersion: this.apiVersion, kind: this.kind, name: this.name, namespace: this.namespace, uid: m.uid, resourceVersion: m.resourceVersion } : undefined;
  }

  /** GET of the lock object (a 404 means "no lock yet"). */
  protected abstract readObject(options?: ConfigurationOptions): Promise<T>;
  /** POST of a new lock object. */
  protected abstract createObject(body: T, options?: ConfigurationOptions): Promise<T>;
  /** PUT of the lock object (the server answers 409 when it changed since `body` was read). */
  protected abstract replaceObject(body: T, options?: ConfigurationOptions): Promise<T>;
  /** `current` (or a new object when undefined) carrying `record`. */
  protected abstract withRecord(current: T | undefined, record: LeaderElectionRecord): T;
  /** The record an object carries and its fingerprint. */
  protected abstract observe(obj: T): LockObservation;
}
