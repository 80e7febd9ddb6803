/**
 * Functional-option builders for the objects the reconcile core reads, so a test states only what
 * matters to it: `pod('p1', withNode('n1'), withBindingLabel('sel'))`,
 * `identity('id1', withResourceId(uaiId('id1')))`, `binding('b1', withIdentityName('id1'), withSelector('sel'))`,
 * `node('n1', withVmssProviderId(SUB, RG, 'ss1', '0'))`, `assigned(pod, identity, binding, withStatus('Assigned'))`.
 * Every builder returns a fresh object; options mutate that object only.
 */
import { newAssignedIdentity } from '../../controller/api/assigned-identity.js';
import {
  BEHAVIOR_ANNOTATION,
  BEHAVIOR_NAMESPACED,
  BINDING_LABEL,
  IdentityType,
  NODENAME_LABEL,
  type AssignedIdentityState,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type NodeInfo,
  type ObjectMeta,
  type PodInfo,
} from '../../controller/api/types.js';
import type { Snapshot } from '../../controller/reconcile/snapshot.js';

/** A change applied to a freshly built object. */
export type Option<T> = (obj: T) => void;

/** Default subscription used by the builders (mixed case on purpose: IDs are compared lower-cased). */
export const SUB = 'Sub-1';
/** Default resource group used by the builders. */
export const RG = 'RG-1';
/** Namespace objects land in unless an option says otherwise. */
export const DEFAULT_NAMESPACE = 'default';

/** ARM resource ID of a user-assigned identity, in the mixed casing users write in AzureIdentities. */
export function uaiId(name: string, subscriptionId = SUB, resourceGroup = RG): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

/** The canonical (lower-cased) form of {@link uaiId}: what the planner, worker and cloud use. */
export function canonicalUaiId(name: string, subscriptionId = SUB, resourceGroup = RG): string {
  return uaiId(name, subscriptionId, resourceGroup).toLowerCase();
}

/** Objects that carry Kubernetes metadata. */
type WithMetadata = { metadata: ObjectMeta };
/** Anything a namespace can be set on. */
type Namespaced = WithMetadata | PodInfo;

function isPodInfo(obj: Namespaced): obj is PodInfo {
  return !('metadata' in obj);
}

// ---------------------------------------------------------------------------------------------
// Options shared by several kinds

/** Puts the object in a namespace (pods, identities, bindings, assigned identities). */
export function inNamespace(namespace: string): Option<Namespaced> {
  return (obj) => {
    if (isPodInfo(obj)) obj.namespace = namespace;
    else obj.metadata.namespace = namespace;
  };
}

/** Sets `metadata.resourceVersion`. */
export function withResourceVersion(resourceVersion: string): Option<WithMetadata> {
  return (obj) => {
    obj.metadata.resourceVersion = resourceVersion;
  };
}

/** Adds an annotation. */
export function withAnnotation(key: string, value: string): Option<WithMetadata> {
  return (obj) => {
    obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), [key]: value };
  };
}

/** Marks the object as being deleted (pods and objects with metadata). */
export function terminating(at = '2024-01-01T00:00:00Z'): Option<Namespaced> {
  return (obj) => {
    if (isPodInfo(obj)) obj.deletionTimestamp = at;
    else obj.metadata.deletionTimestamp = at;
  };
}

// ---------------------------------------------------------------------------------------------
// Pods

/** A scheduled-or-not pod in `default`, without labels unless options add them. */
export function pod(name: string, ...options: Option<PodInfo>[]): PodInfo {
  const obj: PodInfo = { name, namespace: DEFAULT_NAMESPACE, uid: `uid-pod-${name}`, labels: {}, phase: 'Running' };
  for (const o of options) o(obj);
  return obj;
}

/** Schedules the pod on a node. */
export function withNode(nodeName: string): Option<PodInfo> {
  return (p) => {
    p.nodeName = nodeName;
  };
}

/** Sets the `aadpodidbinding` label. */
export function withBindingLabel(selector: string): Option<PodInfo> {
  return (p) => {
    p.labels = { ...p.labels, [BINDING_LABEL]: selector };
  };
}

/** Sets the pod phase (the planner must ignore it). */
export function withPhase(phase: string): Option<PodInfo> {
  return (p) => {
    p.phase = phase;
  };
}

// ---------------------------------------------------------------------------------------------
// AzureIdentities

/**
 * A user-assigned (type 0) AzureIdentity in `default`, resourceVersion `1`, whose resource ID is
 * {@link uaiId}`(name)` and client ID `client-<name>`.
 */
export function identity(name: string, ...options: Option<AzureIdentity>[]): AzureIdentity {
  const obj: AzureIdentity = {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: { name, namespace: DEFAULT_NAMESPACE, uid: `uid-identity-${name}`, resourceVersion: '1' },
    spec: { type: IdentityType.UserAssignedMSI, resourceID: uaiId(name), clientID: `client-${name}` },
  };
  for (const o of options) o(obj);
  return obj;
}

/** Sets `spec.resourceID`. */
export function withResourceId(resourceID: string): Option<AzureIdentity> {
  return (i) => {
    i.spec.resourceID = resourceID;
  };
}

/** Sets `spec.clientID`. */
export function withClientId(clientID: string): Option<AzureIdentity> {
  return (i) => {
    i.spec.clientID = clientID;
  };
}

/** Sets `spec.type` (`undefined` removes it, which means type 0). */
export function withType(type: IdentityType | undefined): Option<AzureIdentity> {
  return (i) => {
    if (type === undefined) delete i.spec.type;
    else i.spec.type = type;
  };
}

/** A service-principal identity (type 1): no resource ID, never assigned through ARM. */
export function servicePrincipal(): Option<AzureIdentity> {
  return (i) => {
    i.spec.type = IdentityType.ServicePrincipal;
    delete i.spec.resourceID;
    i.spec.tenantID = 'tenant';
    i.spec.clientPassword = { name: 'sp-secret', namespace: i.metadata.namespace ?? DEFAULT_NAMESPACE };
  };
}

/** Adds the `aadpodidentity.k8s.io/Behavior: namespaced` annotation. */
export function namespacedBehavior(): Option<AzureIdentity> {
  return withAnnotation(BEHAVIOR_ANNOTATION, BEHAVIOR_NAMESPACED);
}

// ---------------------------------------------------------------------------------------------
// AzureIdentityBindings

/** An AzureIdentityBinding in `default`, resourceVersion `1`; set identity and selector with options. */
export function binding(name: string, ...options: Option<AzureIdentityBinding>[]): AzureIdentityBinding {
  const obj: AzureIdentityBinding = {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentityBinding',
    metadata: { name, namespace: DEFAULT_NAMESPACE, uid: `uid-binding-${name}`, resourceVersion: '1' },
    spec: { azureIdentity: '', selector: '' },
  };
  for (const o of options) o(obj);
  return obj;
}

/** Sets `spec.azureIdentity` (the identity's name, looked up in the binding's namespace). */
export function withIdentityName(identityName: string): Option<AzureIdentityBinding> {
  return (b) => {
    b.spec.azureIdentity = identityName;
  };
}

/** Sets `spec.selector`. */
export function withSelector(selector: string): Option<AzureIdentityBinding> {
  return (b) => {
    b.spec.selector = selector;
  };
}

// ---------------------------------------------------------------------------------------------
// Nodes

/** A node without a providerID unless options set one. */
export function node(name: string, ...options: Option<NodeInfo>[]): NodeInfo {
  const obj: NodeInfo = { name };
  for (const o of options) o(obj);
  return obj;
}

/** Sets `spec.providerID` verbatim. */
export function withProviderId(providerID: string): Option<NodeInfo> {
  return (n) => {
    n.providerID = providerID;
  };
}

/** providerID of a uniform VMSS instance. */
export function withVmssProviderId(subscriptionId: string, resourceGroup: string, vmss: string, instance: string): Option<NodeInfo> {
  return withProviderId(
    `azure:///subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmss}/virtualMachines/${instance}`,
  );
}

/** providerID of a standalone (or VMSS-flex) VM. */
export function withVmProviderId(subscriptionId: string, resourceGroup: string, vm: string): Option<NodeInfo> {
  return withProviderId(`azure:///subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vm}`);
}

// ---------------------------------------------------------------------------------------------
// AzureAssignedIdentities

/**
 * An existing AzureAssignedIdentity exactly as this controller would have written it for
 * (pod, identity, binding) on the pod's node, status `Assigned` and resourceVersion `10` unless
 * options change them. Options run after construction, so `withAssignedNode` etc. describe drift.
 */
export function assigned(
  forPod: PodInfo,
  forIdentity: AzureIdentity,
  forBinding: AzureIdentityBinding,
  ...options: Option<AzureAssignedIdentity>[]
): AzureAssignedIdentity {
  const obj = newAssignedIdentity({
    podName: forPod.name,
    podNamespace: forPod.namespace,
    nodeName: forPod.nodeName ?? '',
    identity: forIdentity,
    binding: forBinding,
    forceNamespaced: false,
    status: 'Assigned',
  });
  obj.metadata.resourceVersion = '10';
  obj.metadata.uid = `uid-aai-${obj.metadata.name}`;
  for (const o of options) o(obj);
  return obj;
}

/** Sets `status.status` (`undefined` removes the status block, as pre-1.5 MICs left it). */
export function withStatus(status: AssignedIdentityState | undefined): Option<AzureAssignedIdentity> {
  return (a) => {
    if (status === undefined) delete a.status;
    else a.status = { ...(a.status ?? {}), status };
  };
}

/** Places the AAI on another node (spec and `nodename` label), as if the pod had been there. */
export function withAssignedNode(nodeName: string): Option<AzureAssignedIdentity> {
  return (a) => {
    a.spec.nodename = nodeName;
    a.metadata.labels = { ...(a.metadata.labels ?? {}), [NODENAME_LABEL]: nodeName };
  };
}

/** Changes only the `nodename` label (drift between label and spec). */
export function withNodenameLabel(nodeName: string): Option<AzureAssignedIdentity> {
  return (a) => {
    a.metadata.labels = { ...(a.metadata.labels ?? {}), [NODENAME_LABEL]: nodeName };
  };
}

/** Puts the AAI in the namespace namespaced mode would use. */
export function assignedInNamespace(namespace: string): Option<AzureAssignedIdentity> {
  return (a) => {
    a.metadata.namespace = namespace;
  };
}

// ---------------------------------------------------------------------------------------------
// Snapshots

/** Seed objects of a snapshot; every list defaults to empty. */
export interface SnapshotSeed {
  pods?: PodInfo[];
  nodes?: NodeInfo[];
  identities?: AzureIdentity[];
  bindings?: AzureIdentityBinding[];
  assigned?: AzureAssignedIdentity[];
}

/** A {@link Snapshot} from seed lists (nodes keyed by name). */
export function snapshotOf(seed: SnapshotSeed): Snapshot {
  return {
    pods: seed.pods ?? [],
    nodes: new Map((seed.nodes ?? []).map((n) => [n.name, n])),
    identities: seed.identities ?? [],
    bindings: seed.bindings ?? [],
    assigned: seed.assigned ?? [],
  };
}
