/**
 * Builds AzureAssignedIdentity objects in exactly upstream's shape, so an unmodified NMI reads them.
 */
import { assignedIdentityName, assignedIdentityNamespace } from './naming.js';
import {
  AAI_FINALIZER,
  API_VERSION,
  NODENAME_LABEL,
  type AssignedIdentityState,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
} from './types.js';

/** Inputs of {@link newAssignedIdentity}. */
export interface AssignedIdentityInput {
  podName: string;
  podNamespace: string;
  nodeName: string;
  identity: AzureIdentity;
  binding: AzureIdentityBinding;
  forceNamespaced: boolean;
  status?: AssignedIdentityState;
}

/** Deep copy of a JSON value (objects from caches must never be shared with objects we send). */
export function cloneJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

// Informer caches replace objects on every change, so a copy per cached object can be shared by every
// AAI built from it (they are only serialised, never mutated). This keeps planning cheap at scale.
const identityEmbeds = new WeakMap<AzureIdentity, AzureIdentity>();
const bindingEmbeds = new WeakMap<AzureIdentityBinding, AzureIdentityBinding>();

/**
 * Embedded copy of the AzureIdentity with `apiVersion`/`kind` stamped (the API server requires them).
 * The result is shared and frozen: treat it as read-only.
 */
export function embedIdentity(identity: AzureIdentity): AzureIdentity {
  let embed = identityEmbeds.get(identity);
  if (!embed) {
    embed = deepFreeze({ ...cloneJson(identity), apiVersion: API_VERSION, kind: 'AzureIdentity' });
    identityEmbeds.set(identity, embed);
  }
  return embed;
}

/** Embedded copy of the AzureIdentityBinding with `apiVersion`/`kind` stamped (shared, frozen). */
export function embedBinding(binding: AzureIdentityBinding): AzureIdentityBinding {
  let embed = bindingEmbeds.get(binding);
  if (!embed) {
    embed = deepFreeze({ ...cloneJson(binding), apiVersion: API_VERSION, kind: 'AzureIdentityBinding' });
    bindingEmbeds.set(binding, embed);
  }
  return embed;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/**
 * A new AzureAssignedIdentity for (pod, identity, binding, node): name `<pod>-<podNs>-<identity>`,
 * namespace per upstream rules, single label `nodename`, the MIC finalizer, embedded copies of
 * identity and binding (with their resourceVersions), status `Created` unless given.
 */
export function newAssignedIdentity(input: AssignedIdentityInput): AzureAssignedIdentity {
  return {
    apiVersion: API_VERSION,
    kind: 'AzureAssignedIdentity',
    metadata: {
      name: assignedIdentityName(input.podName, input.podNamespace, input.identity.metadata.name),
      namespace: assignedIdentityNamespace(input.identity, input.forceNamespaced),
      labels: { [NODENAME_LABEL]: input.nodeName },
      finalizers: [AAI_FINALIZER],
    },
    spec: {
      azureIdentityRef: embedIdentity(input.identity),
      azureBindingRef: embedBinding(input.binding),
      pod: input.podName,
      podNamespace: input.podNamespace,
      nodename: input.nodeName,
    },
    status: { status: input.status ?? 'Created', availableReplicas: 1 },
  };
}
