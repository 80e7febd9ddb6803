/**
 * Desired AzureAssignedIdentities: which (pod, binding, identity) pairs should exist, following
 * upstream's matching rules (upstream-mic.md §2.3.3). Pure.
 */
import { newAssignedIdentity } from '../api/assigned-identity.js';
import { isNamespacedIdentity, isValidObjectName } from '../api/naming.js';
import { tryParseIdentityResourceId } from '../api/resource-id.js';
import {
  BINDING_LABEL,
  IdentityType,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type PodInfo,
} from '../api/types.js';
import { objectKey, type Snapshot } from './snapshot.js';

/** One desired AzureAssignedIdentity with the objects it came from. */
export interface DesiredAssignment {
  /** `namespace/name` of the AzureAssignedIdentity. */
  key: string;
  aai: AzureAssignedIdentity;
  pod: PodInfo;
  identity: AzureIdentity;
  binding: AzureIdentityBinding;
  nodeName: string;
  /** Canonical lower-cased resource ID for user-assigned identities; undefined for SP types. */
  identityId?: string;
}

/** Something wrong with the inputs, reported as an Event and a log line; never stops planning. */
export interface Problem {
  /** Object the problem is about (event target). */
  object: { kind: string; namespace?: string; name: string; uid?: string };
  reason: string;
  message: string;
}

/** Result of {@link computeDesired}. */
export interface DesiredState {
  desired: Map<string, DesiredAssignment>;
  problems: Problem[];
}

/** True for identity types assigned through ARM (type 0 or missing). */
export function isUserAssigned(identity: AzureIdentity): boolean {
  return (identity.spec.type ?? IdentityType.UserAssignedMSI) === IdentityType.UserAssignedMSI;
}

/** Upstream's validation message for a bad user-assigned identity resource ID. */
export function invalidResourceIdMessage(identity: AzureIdentity): string {
  return (
    `ignoring azure identity ${identity.metadata.namespace ?? ''}/${identity.metadata.name}, error: invalid resource id: ` +
    `"${identity.spec.resourceID ?? ''}", must match /subscriptions/<subid>/resourcegroups/<resourcegroup>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>`
  );
}

/** A desired assignment built for one pod from given identity/binding objects, with what a pass checks. */
interface CachedDesire {
  identity: AzureIdentity;
  binding: AzureIdentityBinding;
  forceNamespaced: boolean;
  desired: DesiredAssignment;
  validName: boolean;
}

// Informer caches replace a pod/identity/binding object when it changes, so the assignment built from
// the same three objects is the same: it is built once and reused by every pass (planning at 10,000
// pods allocates and validates nothing for pods that did not change).
const desireCache = new WeakMap<PodInfo, CachedDesire[]>();

function cachedDesire(pod: PodInfo, identity: AzureIdentity, identityId: string | undefined, binding: AzureIdentityBinding, forceNamespaced: boolean): CachedDesire {
  const entries = desireCache.get(pod);
  const hit = entries?.find((e) => e.identity === identity && e.binding === binding && e.forceNamespaced === forceNamespaced);
  if (hit) return hit;
  const aai = newAssignedIdentity({ podName: pod.name, podNamespace: pod.namespace, nodeName: pod.nodeName!, identity, binding, forceNamespaced });
  const key = objectKey(aai.metadata.namespace, aai.metadata.name);
  const entry: CachedDesire = {
    identity,
    binding,
    forceNamespaced,
    desired: { key, aai, pod, identity, binding, nodeName: pod.nodeName!, identityId },
    validName: isValidObjectName(aai.metadata.name),
  };
  // Keep only entries whose objects are still current for this pod (at most a few per pod).
  const fresh = (entries ?? []).filter((e) => e.binding.metadata.uid !== binding.metadata.uid || e.binding.metadata.name !== binding.metadata.name).slice(-7);
  fresh.push(entry);
  desireCache.set(pod, fresh);
  return entry;
}

/** Computes the desired AzureAssignedIdentities from a snapshot. */
export function computeDesired(snapshot: Snapshot, forceNamespaced: boolean): DesiredState {
  const problems: Problem[] = [];
  const identities = new Map<string, { identity: AzureIdentity; identityId?: string }>();
  for (const identity of snapshot.identities) {
    let identityId: string | undefined;
    if (isUserAssigned(identity)) {
      identityId = tryParseIdentityResourceId(identity.spec.resourceID ?? '')?.canonical;
      if (!identityId) {
        problems.push({
          object: { kind: 'AzureIdentity', namespace: identity.metadata.namespace, name: identity.metadata.name, uid: identity.metadata.uid },
          reason: 'InvalidIdentity',
          message: invalidResourceIdMessage(identity),
        });
        continue;
      }
    }
    identities.set(objectKey(identity.metadata.namespace, identity.metadata.name), { identity, identityId });
  }

  // Bindings by selector, each with the identity it names resolved once per pass (not once per pod).
  const bindingsBySelector = new Map<string, { binding: AzureIdentityBinding; found: { identity: AzureIdentity; identityId?: string } | undefined }[]>();
  for (const binding of snapshot.bindings) {
    const list = bindingsBySelector.get(binding.spec.selector) ?? [];
    list.push({ binding, found: identities.get(objectKey(binding.metadata.namespace, binding.spec.azureIdentity)) });
    bindingsBySelector.set(binding.spec.selector, list);
  }
  for (const list of bindingsBySelector.values()) {
    list.sort(({ binding: a }, { binding: b }) =>
      (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name),
    );
  }

  const desired = new Map<string, DesiredAssignment>();
  for (const pod of snapshot.pods) {
    const selector = pod.labels[BINDING_LABEL];
    if (!pod.nodeName || !selector) continue;
    for (const { binding, found } of bindingsBySelector.get(selector) ?? []) {
      if (!found) continue;
      const { identity, identityId } = found;
      if (forceNamespaced || isNamespacedIdentity(identity)) {
        const ns = identity.metadata.namespace;
        if (ns !== binding.metadata.namespace || ns !== pod.namespace) continue;
      }
      const entry = cachedDesire(pod, identity, identityId, binding, forceNamespaced);
      const { key, aai } = entry.desired;
      const earlier = desired.get(key);
      if (earlier !== undefined) {
        const previous = earlier.identity.metadata.namespace ?? '';
        if (previous !== identity.metadata.namespace) {
          problems.push({
            object: { kind: 'AzureIdentityBinding', namespace: binding.metadata.namespace, name: binding.metadata.name, uid: binding.metadata.uid },
            reason: 'IdentityNameCollision',
            message:
              `AzureIdentity ${identity.metadata.name} exists in both ${previous} and ${identity.metadata.namespace ?? ''} namespace. ` +
              'Considering renaming it or enabling Namespace mode (https://azure.github.io/aad-pod-identity/docs/configure/match_pods_in_namespace)',
          });
        }
        continue;
      }
      if (!entry.validName) {
        problems.push({
          object: { kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
          reason: 'InvalidAssignedIdentityName',
          message: `AzureAssignedIdentity name ${aai.metadata.name} for identity ${identity.metadata.name} is not a valid object name (DNS subdomain, at most 253 characters)`,
        });
        continue;
      }
      desired.set(key, entry.desired);
    }
  }
  return { desired, problems };
}
