/**
 * AzureAssignedIdentity naming and placement, exactly as upstream MIC v1.8 does it.
 */
import { BEHAVIOR_ANNOTATION, BEHAVIOR_NAMESPACED, type AzureIdentity } from './types.js';

/** `<podName>-<podNamespace>-<identityName>`: plain concatenation, no hashing (upstream contract). */
export function assignedIdentityName(podName: string, podNamespace: string, identityName: string): string {
  return `${podName}-${podNamespace}-${identityName}`;
}

/** True when the identity carries the `aadpodidentity.k8s.io/Behavior: namespaced` annotation. */
export function isNamespacedIdentity(identity: AzureIdentity): boolean {
  return identity.metadata.annotations?.[BEHAVIOR_ANNOTATION] === BEHAVIOR_NAMESPACED;
}

/**
 * Namespace an AzureAssignedIdentity lives in: the identity's namespace in namespaced mode
 * (`--forceNamespaced`) or for a namespaced identity, otherwise always `default`.
 */
export function assignedIdentityNamespace(identity: AzureIdentity, forceNamespaced: boolean): string {
  if (forceNamespaced || isNamespacedIdentity(identity)) return identity.metadata.namespace ?? 'default';
  return 'default';
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** True when `name` is a valid DNS-1123 subdomain (what the API server requires of object names). */
export function isValidObjectName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && DNS_SUBDOMAIN.test(name);
}
