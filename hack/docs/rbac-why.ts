/**
 * Why MIC needs each RBAC verb, keyed `<apiGroup>|<resource>|<verb>` (core group: empty string).
 * The RBAC tables render this next to every rule of config/base; test/unit/docs/rbac.test.ts fails
 * when a granted verb has no entry here. Keep the reasons tied to the calls the controller makes.
 */
export const RBAC_WHY: Readonly<Record<string, string>> = {
  '|pods|list': 'pod informer (server-side `aadpodidbinding` label selector)',
  '|pods|watch': 'pod informer',
  '|nodes|list': 'node informer (providerID → VM/VMSS)',
  '|nodes|watch': 'node informer',
  '|pods/status|patch': 'identity-ready pod condition (readiness gate)',
  '|events|create': 'Events on bindings, assigned identities and pods',
  '|events|patch': 'aggregating repeated Events (count, lastTimestamp)',
  'aadpodidentity.k8s.io|azureassignedidentities|get': 'not called by the controller today (upstream granted it; harmless read)',
  'aadpodidentity.k8s.io|azureassignedidentities|list': 'informer',
  'aadpodidentity.k8s.io|azureassignedidentities|watch': 'informer',
  'aadpodidentity.k8s.io|azureassignedidentities|create': 'one per pod and identity',
  'aadpodidentity.k8s.io|azureassignedidentities|update': 'replacing an assignment when its identity or binding changed',
  'aadpodidentity.k8s.io|azureassignedidentities|patch': '`status.status` and finalizer changes (merge patches)',
  'aadpodidentity.k8s.io|azureassignedidentities|delete': 'when the pod, binding or identity is gone',
  'aadpodidentity.k8s.io|azureidentities|get': 'not called by the controller today (harmless read)',
  'aadpodidentity.k8s.io|azureidentities|list': 'informer; type upgrade',
  'aadpodidentity.k8s.io|azureidentities|watch': 'informer',
  'aadpodidentity.k8s.io|azureidentities|update': 'only the one-time type upgrade',
  'aadpodidentity.k8s.io|azureidentitybindings|get': 'not called by the controller today (harmless read)',
  'aadpodidentity.k8s.io|azureidentitybindings|list': 'informer; type upgrade',
  'aadpodidentity.k8s.io|azureidentitybindings|watch': 'informer',
  'aadpodidentity.k8s.io|azureidentitybindings|update': 'only the one-time type upgrade',
  'aadpodidentity.k8s.io|azurepodidentityexceptions|list': 'only the one-time type upgrade',
  'aadpodidentity.k8s.io|azurepodidentityexceptions|update': 'only the one-time type upgrade',
  'coordination.k8s.io|leases|get': 'leader election (read the lock)',
  'coordination.k8s.io|leases|create': 'leader election (first replica creates the lock)',
  'coordination.k8s.io|leases|update': 'leader election (renew, take over, release on shutdown)',
  '|endpoints|get': 'upstream-compatible Endpoints lock (mutual exclusion with an upstream MIC)',
  '|endpoints|create': 'upstream-compatible Endpoints lock',
  '|endpoints|update': 'upstream-compatible Endpoints lock',
  '|configmaps|get': 'type-upgrade marker; ownership records',
  '|configmaps|list': 'ownership records (by label); pause switch informer',
  '|configmaps|watch': 'pause switch informer',
  '|configmaps|create': 'type-upgrade marker; ownership records (written before an identity is added to a VM/VMSS)',
  '|configmaps|update': 'type-upgrade marker; ownership records',
  '|configmaps|delete': 'dropping the ownership record of a VM/VMSS that no longer exists',
  '|configmaps|patch': 'not called by the controller today (kept for compatibility; safe to remove)',
};

/** Key of {@link RBAC_WHY}. */
export function whyKey(apiGroup: string, resource: string, verb: string): string {
  return `${apiGroup}|${resource}|${verb}`;
}
