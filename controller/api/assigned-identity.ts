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

/** Embedded copy of the AzureIdentity with `apiVersion`/`kind` stamped (the API server requires them). */
export function embedIdentity(identity: AzureIdentity): AzureIdentity {
  const copy = cloneJson(identity);
  return { ...copy, apiVersion: API_VERSION, kind: 'AzureIdentity' };
}

/** Embedded copy of the AzureIdentityBinding with `apiVersion`/`kind` stamped. */
export function embedBinding(binding: AzureIdentityBinding): AzureIdentityBinding {
  const copy = cloneJson(binding);
  return { ...copy, apiVersion: API_VERSION, kind: 'AzureIdentityBinding' };
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
