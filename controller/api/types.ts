/**
 * Types of the `aadpodidentity.k8s.io/v1` kinds, wire-compatible with upstream MIC v1.8.
 * Field names are the current (v1.6+) camel-cased names; legacy names are understood by the guards.
 */

/** API group of every kind. */
export const GROUP = 'aadpodidentity.k8s.io';
/** The only served version. */
export const VERSION = 'v1';
/** `apiVersion` written into objects and embedded references. */
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Plural resource names, as used in URLs. */
export const PLURALS = {
  AzureIdentity: 'azureidentities',
  AzureIdentityBinding: 'azureidentitybindings',
  AzureAssignedIdentity: 'azureassignedidentities',
  AzurePodIdentityException: 'azurepodidentityexceptions',
} as const;

/** Pod label whose value is matched against `AzureIdentityBinding.spec.selector`. */
export const BINDING_LABEL = 'aadpodidbinding';
/** AzureIdentity annotation that makes an identity namespaced (capital B, as upstream). */
export const BEHAVIOR_ANNOTATION = 'aadpodidentity.k8s.io/Behavior';
/** Value of {@link BEHAVIOR_ANNOTATION} that enables namespaced matching. */
export const BEHAVIOR_NAMESPACED = 'namespaced';
/** Label on every AzureAssignedIdentity naming the node (NMI filters on it). */
export const NODENAME_LABEL = 'nodename';
/** Finalizer MIC puts on every AzureAssignedIdentity. */
export const AAI_FINALIZER = 'azureassignedidentity.finalizers.aadpodidentity.k8s.io';

/** Subset of ObjectMeta the controller reads and writes. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [key: string]: unknown;
}

/** `AzureIdentity.spec.type`. */
export enum IdentityType {
  /** User-assigned managed identity: assigned on the VM/VMSS through ARM. */
  UserAssignedMSI = 0,
  /** Service principal with a client secret: no ARM call. */
  ServicePrincipal = 1,
  /** Service principal with a certificate: no ARM call. */
  ServicePrincipalCertificate = 2,
}

/** Secret reference used by service-principal identities. */
export interface SecretReference {
  name?: string;
  namespace?: string;
}

/** Spec of an AzureIdentity. */
export interface AzureIdentitySpec {
  type?: number;
  resourceID?: string;
  clientID?: string;
  clientPassword?: SecretReference;
  tenantID?: string;
  auxiliaryTenantIDs?: string[] | null;
  adResourceID?: string;
  adEndpoint?: string;
  replicas?: number | null;
  metadata?: Record<string, unknown>;
}

/** An `AzureIdentity` object. */
export interface AzureIdentity {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: AzureIdentitySpec;
  status?: { availableReplicas?: number; metadata?: Record<string, unknown> };
}

/** Spec of an AzureIdentityBinding. */
export interface AzureIdentityBindingSpec {
  azureIdentity: string;
  selector: string;
  weight?: number;
  metadata?: Record<string, unknown>;
}

/** An `AzureIdentityBinding` object. */
export interface AzureIdentityBinding {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: AzureIdentityBindingSpec;
  status?: { availableReplicas?: number; metadata?: Record<string, unknown> };
}

/** Values of `AzureAssignedIdentity.status.status`. `""` comes from pre-1.5 MICs. */
export type AssignedIdentityState = 'Created' | 'Assigned' | 'Unassigned' | '';

/** Spec of an AzureAssignedIdentity. */
export interface AzureAssignedIdentitySpec {
  azureIdentityRef: AzureIdentity;
  azureBindingRef: AzureIdentityBinding;
  pod: string;
  podNamespace: string;
  nodename: string;
  replicas?: number | null;
  metadata?: Record<string, unknown>;
}

/** Status of an AzureAssignedIdentity (on the main resource: there is no status subresource). */
export interface AzureAssignedIdentityStatus {
  status?: AssignedIdentityState;
  availableReplicas?: number;
  metadata?: Record<string, unknown>;
}

/** An `AzureAssignedIdentity` object (written only by MIC, read by NMI). */
export interface AzureAssignedIdentity {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: AzureAssignedIdentitySpec;
  status?: AzureAssignedIdentityStatus;
}

/** An `AzurePodIdentityException` object (read by NMI only). */
export interface AzurePodIdentityException {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: { podLabels?: Record<string, string> };
  status?: { status?: string };
}

/** Pod readiness-gate condition type the controller maintains for pods that declare it. */
export const IDENTITY_READY_CONDITION = 'aadpodidentity.k8s.io/identity-ready';

/** The parts of a Pod the controller reads. */
export interface PodInfo {
  name: string;
  namespace: string;
  uid?: string;
  nodeName?: string;
  labels: Record<string, string>;
  phase?: string;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  /** Condition types listed in `spec.readinessGates`. */
  readinessGates?: string[];
  /** Current `aadpodidentity.k8s.io/identity-ready` condition, if set. */
  identityReady?: { status: string; reason?: string };
}

/** The parts of a Node the controller reads. */
export interface NodeInfo {
  name: string;
  providerID?: string;
}
