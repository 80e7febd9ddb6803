/**
 * The leader-election record and the lock objects that carry it. A lock is one Kubernetes object
 * (an Endpoints annotation as upstream MIC uses, or a `coordination.k8s.io/v1` Lease); the elector
 * holds several at once so that a controller using only one of them is excluded too.
 */
import type { ConfigurationOptions } from '@kubernetes/client-node';
import type { ObjectReferenceLike } from './event-recorder.js';

/** The record every lock carries (client-go's `LeaderElectionRecord`, times in epoch ms). */
export interface LeaderElectionRecord {
  /** Empty when released. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: number;
  renewTime?: number;
  leaderTransitions: number;
}

/** A lock as read: its record and an opaque fingerprint that changes whenever the record is rewritten. */
export interface LockObservation {
  record: LeaderElectionRecord;
  /** Changes on every write of the record (a renewal included); compared for expiry, never parsed. */
  fingerprint: string;
}

/** Which Kubernetes object a lock lives in. */
export type LockKind = 'Endpoints' | 'Lease';

/** One lock object. Implementations remember the object last read, for optimistic-concurrency updates. */
export interface ResourceLock {
  readonly kind: LockKind;
  /** `namespace/name`. */
  readonly key: string;
  /** API resource for permission messages, e.g. `endpoints` or `leases.coordination.k8s.io`. */
  readonly resource: string;
  /** Reads the lock; `undefined` when the object does not exist. */
  get(options?: ConfigurationOptions): Promise<LockObservation | undefined>;
  /** Creates the object with `record`. */
  create(record: LeaderElectionRecord, options?: ConfigurationOptions): Promise<LockObservation>;
  /** Replaces the record on the object last read (fails with 409 when it changed since). */
  update(record: LeaderElectionRecord, options?: ConfigurationOptions): Promise<LockObservation>;
  /** The object for `LeaderElection` Events (after a read or write), if known. */
  eventTarget(): ObjectReferenceLike | undefined;
}

/** Holder named when a lock exists but its record cannot be parsed: treated as held by someone else. */
export const UNREADABLE_HOLDER = 'leaderelection.k8s.io/unreadable-record';
