/**
 * The inputs of one planning pass: everything the planner reads, taken from informer caches.
 */
import type {
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
  NodeInfo,
  PodInfo,
} from '../api/types.js';

/** A consistent view of the cluster objects the planner needs. */
export interface Snapshot {
  /** Pods carrying the `aadpodidbinding` label. */
  pods: readonly PodInfo[];
  /** Nodes by name. */
  nodes: ReadonlyMap<string, NodeInfo>;
  identities: readonly AzureIdentity[];
  bindings: readonly AzureIdentityBinding[];
  /** Existing AzureAssignedIdentities. */
  assigned: readonly AzureAssignedIdentity[];
}

/** `namespace/name` key of any namespaced object. */
export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Inverse of {@link objectKey}: `[namespace, name]` (namespace `''` for cluster-scoped objects). */
export function splitObjectKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
