/**
 * The independent oracle of the chaos suite: what the cluster should look like, computed from the
 * raw Kubernetes objects and the Azure emulator's audit, without any controller code. Pure functions.
 */
import type { IdentityChange } from '../emulators/azure/index.js';
import { isControllerWrite, writerName } from './writers.js';

/** The subset of a Kubernetes object the oracle reads. */
export interface RawObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string; resourceVersion?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  type?: string;
  reason?: string;
  involvedObject?: { kind?: string; name?: string; namespace?: string };
}

/** Everything the oracle needs about the cluster at one instant. */
export interface ClusterView {
  pods: RawObject[];
  nodes: RawObject[];
  identities: RawObject[];
  bindings: RawObject[];
  assigned: RawObject[];
  events: RawObject[];
  /** Namespaced mode of the running replicas. */
  namespaced: boolean;
}

/** One desired AzureAssignedIdentity. */
export interface Expected {
  /** `<namespace>/<name>` of the AAI. */
  key: string;
  pod: string;
  podNamespace: string;
  node: string;
  bindingName: string;
  bindingNamespace: string;
  identityName: string;
  /** Lower-cased identity resource ID. */
  identityId: string;
  /** Lower-cased ARM ID of the VM/VMSS the node belongs to. */
  target: string;
}

const NAMESPACED_ANNOTATION = 'aadpodidentity.k8s.io/Behavior';

/** ARM ID (lower-cased) of the VM or VMSS behind a node's providerID, or undefined. */
export function targetOfProviderId(providerId: string | undefined): string | undefined {
  if (!providerId) return undefined;
  const id = providerId.replace(/^azure:\/\//i, '').toLowerCase();
  const vmss = /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.compute\/virtualmachinescalesets\/[^/]+)\/virtualmachines\/[^/]+$/.exec(id);
  if (vmss) return vmss[1];
  return /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.compute\/virtualmachines\/[^/]+$/.test(id) ? id : undefined;
}

const ns = (o: RawObject): string => o.metadata?.namespace ?? '';
const name = (o: RawObject): string => o.metadata?.name ?? '';

/** The desired AAIs of a cluster view, following upstream's pod × binding × identity rules. */
export function expectedAssignments(v: ClusterView): Map<string, Expected> {
  const nodes = new Map(v.nodes.map((n) => [name(n), targetOfProviderId(n.spec?.providerID as string | undefined)]));
  const identities = new Map(v.identities.map((i) => [`${ns(i)}/${name(i)}`, i]));
  const bindings = [...v.bindings].sort((a, b) => ns(a).localeCompare(ns(b)) || name(a).localeCompare(name(b)));
  const out = new Map<string, Expected>();
  for (const pod of v.pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const node = pod.spec?.nodeName as string | undefined;
    const selector = pod.metadata?.labels?.aadpodidbinding;
    if (!node || !selector) continue;
    const target = nodes.get(node);
    if (!target) continue;
    for (const b of bindings) {
      if (b.spec?.selector !== selector) continue;
      const identity = identities.get(`${ns(b)}/${String(b.spec?.azureIdentity)}`);
      if (!identity) continue;
      const namespacedIdentity = identity.metadata?.annotations?.[NAMESPACED_ANNOTATION] === 'namespaced';
      if ((v.namespaced || namespacedIdentity) && !(ns(identity) === ns(b) && ns(b) === ns(pod))) continue;
      const resourceId = String(identity.spec?.resourceID ?? '').toLowerCase();
      if (identity.spec?.type !== 0 || !resourceId.includes('/providers/microsoft.managedidentity/userassignedidentities/')) continue;
      const aaiNs = v.namespaced || namespacedIdentity ? ns(identity) : 'default';
      const key = `${aaiNs}/${name(pod)}-${ns(pod)}-${name(identity)}`;
      if (out.has(key)) continue;
      out.set(key, { key, pod: name(pod), podNamespace: ns(pod), node, bindingName: name(b), bindingNamespace: ns(b), identityName: name(identity), identityId: resourceId, target });
    }
  }
  return out;
}

/** Per target: identities whose latest change was an addition by someone other than the controller. */
export function foreignIdentities(changes: readonly IdentityChange[]): Map<string, Set<string>> {
  const last = new Map<string, IdentityChange>();
  for (const c of changes) last.set(`${c.resource.toLowerCase()}|${c.identity.toLowerCase()}`, c);
  const out = new Map<string, Set<string>>();
  for (const c of last.values()) {
    if (c.op !== 'add' || isControllerWrite(c)) continue;
    const set = out.get(c.resource.toLowerCase()) ?? new Set<string>();
    set.add(c.identity.toLowerCase());
    out.set(c.resource.toLowerCase(), set);
  }
  return out;
}

/**
 * Violations of "the controller never removes an identity it did not add, nor an immutable one":
 * every removal by the controller (a REST write not sent by an out-of-band actor) must follow an
 * addition by the controller of the same identity on the same resource. Scans the whole audit; `immutable` are lower-cased resource IDs.
 */
export function forbiddenRemovals(changes: readonly IdentityChange[], immutable: ReadonlySet<string>): string[] {
  const lastAddBy = new Map<string, string>();
  const out: string[] = [];
  for (const c of changes) {
    const key = `${c.resource.toLowerCase()}|${c.identity.toLowerCase()}`;
    if (c.op === 'add') {
      lastAddBy.set(key, writerName(c));
      continue;
    }
    if (!isControllerWrite(c)) continue;
    if (immutable.has(c.identity.toLowerCase())) out.push(`controller removed immutable identity ${c.identity} from ${c.resource}`);
    else if (lastAddBy.get(key) !== 'mic') out.push(`controller removed identity ${c.identity} from ${c.resource}, which it never added (added by ${lastAddBy.get(key) ?? 'nobody seen'})`);
  }
  return out;
}

/** Inputs of {@link quiescenceProblems} besides the cluster view. */
export interface AzureView {
  /** Lower-cased target ARM ID → lower-cased identities now on it. */
  targets: Map<string, string[]>;
  changes: readonly IdentityChange[];
  /** Identities that cannot be assigned now (revoked permission or deleted in Azure), lower-cased. */
  broken: ReadonlySet<string>;
}

/**
 * What differs from the converged state: every target holds desired ∪ foreign ∪ immutable (broken
 * identities may be missing), AAIs match the desired set exactly and are Assigned (or Created with a
 * Warning Event when their identity is broken), no AAI refers to a missing pod. Empty = converged.
 * AAIs are matched by name, as upstream MIC matches them: after a namespaced-mode toggle an existing
 * AAI keeps its namespace (it is neither deleted nor recreated).
 */
export function quiescenceProblems(v: ClusterView, az: AzureView): string[] {
  const problems: string[] = [];
  const expected = expectedAssignments(v);
  const foreign = foreignIdentities(az.changes);
  for (const [target, actualList] of az.targets) {
    const actual = new Set(actualList);
    const desired = new Set([...expected.values()].filter((e) => e.target === target).map((e) => e.identityId));
    const protectedIds = foreign.get(target) ?? new Set<string>();
    for (const id of desired) if (!actual.has(id) && !az.broken.has(id)) problems.push(`${target}: desired identity ${id} missing`);
    for (const id of protectedIds) if (!actual.has(id)) problems.push(`${target}: foreign/immutable identity ${id} missing`);
    for (const id of actual) {
      if (!desired.has(id) && !protectedIds.has(id)) problems.push(`${target}: identity ${id} present but neither desired nor foreign`);
    }
  }
  const podKeys = new Set(v.pods.map((p) => `${ns(p)}/${name(p)}`));
  const warned = new Set(v.events.filter((e) => e.type === 'Warning').map((e) => `${e.involvedObject?.kind ?? ''}/${e.involvedObject?.namespace ?? ''}/${e.involvedObject?.name ?? ''}`));
  const expectedByName = new Map([...expected.values()].map((e) => [e.key.slice(e.key.indexOf('/') + 1), e]));
  const seen = new Set<string>();
  for (const aai of v.assigned) {
    const key = `${ns(aai)}/${name(aai)}`;
    seen.add(name(aai));
    const spec = aai.spec ?? {};
    const podKey = `${String(spec.podNamespace)}/${String(spec.pod)}`;
    if (!podKeys.has(podKey)) problems.push(`AAI ${key} refers to missing pod ${podKey}`);
    const want = expectedByName.get(name(aai));
    if (!want) {
      problems.push(`AAI ${key} is not desired`);
      continue;
    }
    const ref = (spec.azureIdentityRef as { spec?: { resourceID?: string } } | undefined)?.spec?.resourceID?.toLowerCase();
    if (ref !== want.identityId) problems.push(`AAI ${key} refers to ${ref ?? '(none)'} instead of ${want.identityId}`);
    const status = (aai.status as { status?: string } | undefined)?.status;
    if (status === 'Assigned') continue;
    if (status === 'Created' && az.broken.has(want.identityId)) {
      const explained = warned.has(`Pod/${want.podNamespace}/${want.pod}`) || warned.has(`AzureIdentityBinding/${want.bindingNamespace}/${want.bindingName}`) || warned.has(`AzureAssignedIdentity/${key}`);
      if (!explained) problems.push(`AAI ${key} stuck in Created without a Warning Event`);
      continue;
    }
    problems.push(`AAI ${key} has status ${status ?? '(none)'}`);
  }
  for (const [aaiName, e] of expectedByName) if (!seen.has(aaiName)) problems.push(`desired AAI ${e.key} missing`);
  return problems;
}
