/**
 * Every Kubernetes Event reason and identity-ready condition reason the controller emits, with what
 * it means and what the operator should do. This is the single source of the reason tables in
 * docs/troubleshooting.md (`make docs` renders them); test/unit/docs/event-reasons.test.ts scans
 * controller/** for reason literals and fails when one is missing here.
 */

/** Where a reason shows up. */
export type ReasonSurface = 'event' | 'condition';

/** One reason with its documentation. */
export interface ReasonInfo {
  /** The reason string exactly as emitted. */
  readonly reason: string;
  /** Event type (conditions are always `False` for these, except `IdentityAssigned`). */
  readonly type: 'Normal' | 'Warning';
  /** Objects the Event is recorded on (or `pod condition`). */
  readonly on: string;
  /** `upstream`: same reason and message format as upstream MIC v1.8; `project`: new here. */
  readonly origin: 'upstream' | 'project';
  /** Event, identity-ready pod condition, or both. */
  readonly surfaces: readonly ReasonSurface[];
  /** When it is emitted (Markdown). */
  readonly meaning: string;
  /** What to do (Markdown). */
  readonly fix: string;
}

/** Every reason, keyed by a stable constant name. */
export const REASONS = {
  bindingApplied: {
    reason: 'binding applied',
    type: 'Normal',
    on: 'AzureIdentityBinding',
    origin: 'upstream',
    surfaces: ['event'],
    meaning: "A pod's AzureAssignedIdentity became `Assigned`: the identity is on the pod's VM/VMSS.",
    fix: 'Nothing.',
  },
  bindingApplyError: {
    reason: 'binding apply error',
    type: 'Warning',
    on: 'AzureIdentityBinding',
    origin: 'upstream',
    surfaces: ['event'],
    meaning:
      "Creating or replacing the pod's AzureAssignedIdentity failed, or ARM rejected this identity for the pod's VM/VMSS (then the pod also gets `IdentityForbidden`, `IdentityNotFound` or `IdentityInvalid`). A failure of the whole VM/VMSS write is reported on the pod only (`CloudAuthFailed`, `CloudError`, `Throttled`, ...).",
    fix: 'Follow the specific reason on the pod if there is one. Otherwise the message holds the API server error: conflicts are retried; a persistent error usually means RBAC or an admission webhook.',
  },
  bindingRemoved: {
    reason: 'binding removed',
    type: 'Normal',
    on: 'AzureIdentityBinding',
    origin: 'upstream',
    surfaces: ['event'],
    meaning: "A pod's node disappeared, so its AzureAssignedIdentity was deleted.",
    fix: 'Nothing.',
  },
  bindingRemoveError: {
    reason: 'binding remove error',
    type: 'Warning',
    on: 'AzureIdentityBinding',
    origin: 'upstream',
    surfaces: ['event'],
    meaning: 'Deleting an AzureAssignedIdentity failed (the message holds the API server error).',
    fix: 'Check the API server and RBAC (`delete` on `azureassignedidentities`). MIC retries.',
  },
  statusUpdateError: {
    reason: 'status update error',
    type: 'Warning',
    on: 'AzureAssignedIdentity',
    origin: 'upstream',
    surfaces: ['event'],
    meaning: 'Writing `status.status: Assigned` failed. NMI keeps waiting while the object says `Created`.',
    fix: 'Usually transient (conflict, API server overload); MIC retries. Persistent errors mean RBAC: MIC needs `update`/`patch` on `azureassignedidentities`.',
  },
  invalidObject: {
    reason: 'InvalidObject',
    type: 'Warning',
    on: 'the object (any watched kind)',
    origin: 'project',
    surfaces: ['event'],
    meaning: 'An object failed validation when read (wrong field types); MIC ignores it as if it did not exist. Recorded by the leader only.',
    fix: 'Fix the object; the message names the field.',
  },
  invalidIdentity: {
    reason: 'InvalidIdentity',
    type: 'Warning',
    on: 'AzureIdentity',
    origin: 'project',
    surfaces: ['event'],
    meaning:
      'A type 0 AzureIdentity has a malformed `spec.resourceID` (it must be `/subscriptions/<sub>/resourcegroups/<rg>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>`). MIC treats it as absent, so existing assignments for it are removed. A binding that names a missing identity gets no Event: it simply matches nothing.',
    fix: 'Fix `spec.resourceID`. A legacy object with capitalised fields (`ResourceID:`) shows up as an empty value: rewrite it with the current field names. Apply `config/policy` to reject such objects at admission.',
  },
  identityNameCollision: {
    reason: 'IdentityNameCollision',
    type: 'Warning',
    on: 'AzureIdentityBinding',
    origin: 'project',
    surfaces: ['event'],
    meaning: 'Two AzureIdentities with the same name in different namespaces match one pod; the AAI name `<pod>-<ns>-<identity>` can hold only one. The first by (namespace, name) wins.',
    fix: 'Rename one identity, or enable namespaced mode (`--forceNamespaced`).',
  },
  invalidAssignedIdentityName: {
    reason: 'InvalidAssignedIdentityName',
    type: 'Warning',
    on: 'Pod',
    origin: 'project',
    surfaces: ['event'],
    meaning: '`<pod>-<podNamespace>-<identity>` is not a valid object name (over 253 characters or invalid characters); no AzureAssignedIdentity is created.',
    fix: 'Shorten the pod, namespace or identity name.',
  },
  nodeNotFound: {
    reason: 'NodeNotFound',
    type: 'Warning',
    on: 'Pod',
    origin: 'project',
    surfaces: ['event'],
    meaning: "The pod is scheduled to a node that is not in MIC's cache (deleted, or not yet seen). Reported once per node. A node without `spec.providerID` is not an error: it is treated as a VM named after the node, as upstream does.",
    fix: 'Nothing for deleted nodes: the pod and its assignment go away with it. Otherwise check that MIC can `list`/`watch` nodes.',
  },
  unsupportedNode: {
    reason: 'UnsupportedNode',
    type: 'Warning',
    on: 'Pod',
    origin: 'project',
    surfaces: ['event'],
    meaning: "The pod's node has a `providerID` that is not an Azure VM or VMSS instance (for example a virtual node). No ARM call is made for it.",
    fix: "Don't bind identities to pods on such nodes.",
  },
  identityForbidden: {
    reason: 'IdentityForbidden',
    type: 'Warning',
    on: 'Pod',
    origin: 'project',
    surfaces: ['event', 'condition'],
    meaning:
      "ARM answered `LinkedAuthorizationFailed`: MIC's identity may not assign this user-assigned identity (`Microsoft.ManagedIdentity/userAssignedIdentities/assign/action`). Only this identity is quarantined with backoff; other identities on the same VM/VMSS keep flowing.",
    fix: "Grant **Managed Identity Operator** on the identity (or its resource group) to MIC's identity (`docs/deploy.md`, step 2). Role assignments take minutes to propagate; MIC retries after the backoff.",
  },
  identityNotFound: {
    reason: 'IdentityNotFound',
    type: 'Warning',
    on: 'Pod and AzureIdentity',
    origin: 'project',
    surfaces: ['event', 'condition'],
    meaning:
      "The `spec.resourceID` of the AzureIdentity does not exist: deleted, mistyped (also its resource group: ARM's `ResourceGroupNotFound` for an identity's group is this, not \"VMSS gone\"), or in another subscription. MIC reads each identity (`userAssignedIdentities.get`) before its first write and rechecks a missing one with backoff; ARM rejecting it (`FailedIdentityOperation` … not found, or 404) counts too. That identity alone is held back (quarantined); every other identity keeps flowing.",
    fix: 'Fix `spec.resourceID`, or recreate the identity. A recreated identity gets a **new client ID**: update `spec.clientID` too. It is picked up at the next recheck (≤ 10 min).',
  },
  identityClientIdMismatch: {
    reason: 'IdentityClientIDMismatch',
    type: 'Warning',
    on: 'Pod and AzureIdentity',
    origin: 'project',
    surfaces: ['event'],
    meaning: "The `clientId` Azure reports for `spec.resourceID` differs from the AzureIdentity's `spec.clientID`. The identity is assigned, but NMI's token requests for the pod would fail.",
    fix: 'Set `spec.clientID` to the client ID shown by `az identity show --ids <resourceID> --query clientId`.',
  },
  identityInvalid: {
    reason: 'IdentityInvalid',
    type: 'Warning',
    on: 'Pod',
    origin: 'project',
    surfaces: ['event', 'condition'],
    meaning: 'ARM rejected the identity as invalid (`FailedIdentityOperation`, neither forbidden nor missing). The identity is quarantined with backoff.',
    fix: 'Check `spec.resourceID`; the message holds ARM\'s text.',
  },
  identityLimitExceeded: {
    reason: 'IdentityLimitExceeded',
    type: 'Warning',
    on: 'Pod',
    origin: 'project',
    surfaces: ['event', 'condition'],
    meaning: 'The VM/VMSS would exceed the number of user-assigned identities ARM allows on one resource. The whole write for that VM/VMSS fails.',
    fix: 'Use fewer distinct identities per node pool: split workloads across node pools, or share identities. Remove stale identities from the VMSS.',
  },
  throttled: {
    reason: 'Throttled',
    type: 'Warning',
    on: 'Pod',
    origin: 'project',
    surfaces: ['event', 'condition'],
    meaning:
      "ARM answered 429 for the pod's VM/VMSS. MIC honours `Retry-After` for that VM/VMSS only; other targets continue. MIC's own client-side budget pacing its writes is normal operation and records no Event.",
    fix: 'Usually nothing: the work completes later. If it persists, look for other heavy ARM callers in the subscription (cluster autoscaler, other controllers, scripts), and reduce churn with `--unassign-grace-period`.',
  },
  targetBusy: {
    reason: 'TargetBusy',
    type: 'Warning',
    on: 'Pod',
    origin: 'project',
    surfaces: ['event', 'condition'],
    meaning: 'Another operation was in progress on the VM/VMSS (409). MIC retries after the wait ARM names.',
    fix: 'Nothing; a persistent `TargetBusy` means another tool keeps updating the scale set.',
  },
  targetDeleting: {
    reason: 'TargetDeleting',
    type: 'Warning',
    on: 'Pod',
    origin: 'project',
    surfaces: ['event', 'condition'],
    meaning: 'The VM/VMSS is being deleted. MIC retries after 30 s.',
    fix: 'Nothing; pods on it go away with it.',
  },
  cloudAuthFailed: {
    reason: 'CloudAuthFailed',
    type: 'Warning',
    on: 'Pod',
    origin: 'project',
    surfaces: ['event', 'condition'],
    meaning:
      "MIC's own credential failed (wrong client secret, no IMDS, 401), or ARM answered 403 `AuthorizationFailed` because MIC's identity may not read or write the VM/VMSS. This blocks **every** identity on that VM/VMSS, not one.",
    fix: "Grant **Virtual Machine Contributor** on the node resource group (`docs/deploy.md`, step 2); check `azure.json` or the `aadpodidentity-admin-secret`. MIC retries with backoff.",
  },
  cloudError: {
    reason: 'CloudError',
    type: 'Warning',
    on: 'Pod',
    origin: 'project',
    surfaces: ['event', 'condition'],
    meaning: 'Any other ARM failure (5xx, timeouts, unexpected answers) for the VM/VMSS. MIC reads the target again and retries with backoff.',
    fix: 'Check Azure status and `aadpodidentity_mic_arm_requests_total{result="error"}`.',
  },
  targetNotFound: {
    reason: 'TargetNotFound',
    type: 'Warning',
    on: 'pod condition',
    origin: 'project',
    surfaces: ['condition'],
    meaning: 'The VM/VMSS no longer exists in ARM; MIC forgets it (and its ownership record) and checks again after a backoff. No Event.',
    fix: 'Nothing if the node pool was deleted; otherwise check the node\'s `spec.providerID`.',
  },
  identityAssigned: {
    reason: 'IdentityAssigned',
    type: 'Normal',
    on: 'pod condition',
    origin: 'project',
    surfaces: ['condition'],
    meaning: "Condition `True`: every identity the pod is bound to is `Assigned`.",
    fix: 'Nothing.',
  },
  assignmentPending: {
    reason: 'AssignmentPending',
    type: 'Normal',
    on: 'pod condition',
    origin: 'project',
    surfaces: ['condition'],
    meaning: 'Condition `False`: an identity is not `Assigned` yet and no problem is known (write queued, batching window, pause switch on).',
    fix: 'Wait; if it lasts, check `aadpodidentity_mic_paused` and `aadpodidentity_mic_oldest_created_age_seconds`.',
  },
  noMatchingIdentity: {
    reason: 'NoMatchingIdentity',
    type: 'Normal',
    on: 'pod condition',
    origin: 'project',
    surfaces: ['condition'],
    meaning: 'Condition `False`: no AzureIdentityBinding with a valid AzureIdentity matches the pod\'s `aadpodidbinding` label.',
    fix: 'Check the label value against the bindings\' `spec.selector`, and that the binding\'s `spec.azureIdentity` names an existing identity in the binding\'s namespace.',
  },
} as const satisfies Record<string, ReasonInfo>;

/** Constant name of a reason. */
export type ReasonKey = keyof typeof REASONS;

/** Every reason string, in table order. */
export const ALL_REASONS: readonly ReasonInfo[] = Object.values(REASONS);
