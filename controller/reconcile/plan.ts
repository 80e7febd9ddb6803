/**
 * The planner: snapshot + per-target knowledge → the Kubernetes writes to make now and the desired
 * identity set of every target. Pure; the sync loop executes the plan and the target workers turn
 * target plans into ARM writes.
 */
import { tryParseIdentityResourceId } from '../api/resource-id.js';
import { NODENAME_LABEL, type AssignedIdentityState, type AzureAssignedIdentity } from '../api/types.js';
import type { Target } from '../cloud/provider.js';
import { computeDesired, isUserAssigned, type DesiredAssignment, type DesiredState, type Problem } from './desired.js';
import { diffAssignments } from './diff.js';
import { objectKey, type Snapshot } from './snapshot.js';
import { resolveNodeTarget, type DefaultLocation, type TargetState } from './targets.js';

/** Static inputs of the planner. */
export interface PlanConfig {
  forceNamespaced: boolean;
  /** Lower-cased client IDs whose identities are never removed (`--immutable-user-msis` + cluster identity). */
  immutableClientIds: ReadonlySet<string>;
  defaults: DefaultLocation;
  unassignGraceMs: number;
  /**
   * A new assignment is reported `Assigned` only if its target was confirmed by ARM (read or write
   * answer) at most this long ago; otherwise it stays `Created` until the worker reads the target
   * again. Undefined: any confirmed observation counts.
   */
  confirmMaxAgeMs?: number;
}

/** What the planner needs to know about the moment and this controller's own recent writes. */
export interface PlanContext {
  /** Now, on the clock of `TargetState.confirmedAt` (freshness of confirmations); omitted: not checked. */
  now?: number;
  /**
   * AzureAssignedIdentities (`namespace/name`) this controller created or rewrote in this leadership
   * term: a `Created` one is no evidence that a previous controller added its identity.
   */
  writtenThisTerm?: ReadonlySet<string>;
}

/** Desired identities of one target. */
export interface TargetPlan {
  key: string;
  target: Target;
  /** Identities pods on this target need. */
  desired: Set<string>;
  /** Number of AzureAssignedIdentities waiting on this target (to add or to remove). */
  waiting: number;
  /** Identities existing `Assigned`/`Created` AAIs on this target refer to (adopted on first contact of each leadership term). */
  adoptable: Set<string>;
  /** True when a new assignment waits only for a fresh read of the target (its last read is too old). */
  confirm: boolean;
}

/** A create or update with the body to send. */
export interface KubeWrite {
  body: AzureAssignedIdentity;
  desired: DesiredAssignment;
  /** Present for updates: the object being replaced. */
  existing?: AzureAssignedIdentity;
  /**
   * Target of a write planned `Created` (its identity not yet confirmed present): the sync loop checks
   * the target again right before sending and sends `Assigned` instead when the confirmation arrived
   * meanwhile (one write instead of a create and a status update).
   */
  targetKey?: string;
}

/** Whether an identity may be reported `Assigned` on a target, per {@link presence}. */
export type Presence = 'present' | 'stale' | 'absent';

/**
 * The "Assigned means present" rule for one identity on one target: `present` when ARM's last answer
 * shows it, no write in flight removes it and the answer is younger than `confirmMaxAgeMs` (checked
 * only when both `now` and the bound are given); `stale` when only the age stands in the way.
 */
export function presence(st: Pick<TargetState, 'observed' | 'removing' | 'confirmedAt'> | undefined, id: string, now: number | undefined, confirmMaxAgeMs: number | undefined): Presence {
  if (!(st?.observed?.has(id) ?? false) || (st?.removing?.has(id) ?? false)) return 'absent';
  if (now === undefined || confirmMaxAgeMs === undefined) return 'present';
  const at = st?.confirmedAt;
  return at !== undefined && now - at < confirmMaxAgeMs ? 'present' : 'stale';
}

/** The Kubernetes side of a plan. */
export interface KubePlan {
  create: KubeWrite[];
  update: KubeWrite[];
  /** Existing objects to mark `Assigned`. */
  assign: { aai: AzureAssignedIdentity; desired?: DesiredAssignment }[];
  /** Undesired objects to mark `Unassigned` and delete now (ARM side done or not needed). */
  remove: { aai: AzureAssignedIdentity; nodeGone: boolean }[];
  /** Undesired objects kept until their identity is removed from the target. */
  pendingRemoval: AzureAssignedIdentity[];
  /** Desired objects still waiting for their identity to appear on the target (demoted ones included). */
  pendingAssignment: { aai: AzureAssignedIdentity; desired: DesiredAssignment; targetKey?: string }[];
  /**
   * `Assigned` objects whose identity ARM no longer shows on the target (`missing`), or whose identity
   * is being removed right now (`removing`): set back to `Created` until the identity is present again.
   */
  demote: { aai: AzureAssignedIdentity; desired: DesiredAssignment; targetKey: string; why: 'missing' | 'removing' }[];
}

/** The complete plan of one pass. */
export interface Plan {
  desired: DesiredState;
  kube: KubePlan;
  targets: Map<string, TargetPlan>;
  /** Canonical IDs of identities that must never be removed anywhere. */
  protectedIds: Set<string>;
  problems: Problem[];
}

const EMPTY_STATE: TargetState = { owned: new Set(), adopted: false, quarantined: new Set(), undesiredSince: new Map() };

// Cached assignments share one embedded identity reference per identity revision (the cache's
// interner), so the parse is done once per revision instead of several times per object and pass.
const embeddedIds = new WeakMap<object, string | null>();

/** Canonical identity ID embedded in an existing AAI, if it is a user-assigned identity with a valid ID. */
export function embeddedIdentityId(aai: AzureAssignedIdentity): string | undefined {
  const ref = aai.spec.azureIdentityRef;
  if (!ref) return undefined;
  let id = embeddedIds.get(ref);
  if (id === undefined) {
    id = ref.spec && isUserAssigned(ref) ? (tryParseIdentityResourceId(ref.spec.resourceID ?? '')?.canonical ?? null) : null;
    // Only frozen references (the cache's shared ones) are remembered: others could still change.
    if (Object.isFrozen(ref) && Object.isFrozen(ref.spec ?? {})) embeddedIds.set(ref, id);
  }
  return id ?? undefined;
}

function statusOf(aai: AzureAssignedIdentity): AssignedIdentityState {
  return aai.status?.status ?? '';
}

/**
 * Plans one pass. `states` holds what is known per target key (observed identities, ownership,
 * quarantine, grace); targets not in it are treated as unknown and unowned.
 */
export function plan(snapshot: Snapshot, states: ReadonlyMap<string, TargetState>, config: PlanConfig, context: PlanContext = {}): Plan {
  const now = context.now;
  const ours = (aai: AzureAssignedIdentity): boolean => context.writtenThisTerm?.has(objectKey(aai.metadata.namespace, aai.metadata.name)) ?? false;
  const desiredState = computeDesired(snapshot, config.forceNamespaced);
  const problems = [...desiredState.problems];
  const targets = new Map<string, TargetPlan>();
  const nodeTargets = new Map<string, ReturnType<typeof resolveNodeTarget>>();
  const reportedNodes = new Set<string>();

  const resolve = (nodeName: string): ReturnType<typeof resolveNodeTarget> => {
    let r = nodeTargets.get(nodeName);
    if (!r) {
      r = resolveNodeTarget(nodeName, snapshot.nodes.get(nodeName), config.defaults);
      nodeTargets.set(nodeName, r);
    }
    return r;
  };
  const targetPlan = (nodeName: string): TargetPlan | undefined => {
    const r = resolve(nodeName);
    if (!r.ok) return undefined;
    let tp = targets.get(r.key);
    if (!tp) {
      tp = { key: r.key, target: r.target, desired: new Set(), waiting: 0, adoptable: new Set(), confirm: false };
      targets.set(r.key, tp);
    }
    return tp;
  };

  // Protected identities: immutable client IDs, matched case-insensitively (fixes upstream's quirk).
  const protectedIds = new Set<string>();
  const considerProtected = (clientId: string | undefined, resourceId: string | undefined): void => {
    if (!clientId || !config.immutableClientIds.has(clientId.toLowerCase())) return;
    const id = tryParseIdentityResourceId(resourceId ?? '')?.canonical;
    if (id) protectedIds.add(id);
  };
  if (config.immutableClientIds.size > 0) {
    for (const identity of snapshot.identities) considerProtected(identity.spec.clientID, identity.spec.resourceID);
    for (const aai of snapshot.assigned) {
      considerProtected(aai.spec.azureIdentityRef?.spec?.clientID, aai.spec.azureIdentityRef?.spec?.resourceID);
    }
  }

  // Desired identities per target.
  for (const d of desiredState.desired.values()) {
    const tp = targetPlan(d.nodeName);
    if (!tp) {
      const r = resolve(d.nodeName);
      if (!d.identityId && !r.ok && r.reason === 'UnsupportedNode') continue; // SP types need no VM (upstream)
      if (!r.ok && !reportedNodes.has(d.nodeName)) {
        reportedNodes.add(d.nodeName);
        problems.push({ object: { kind: 'Pod', namespace: d.pod.namespace, name: d.pod.name, uid: d.pod.uid }, reason: r.reason, message: r.message });
      }
      continue;
    }
    if (d.identityId) tp.desired.add(d.identityId);
  }
  // Targets only known from existing objects or from the caller (ownership records) still need plans.
  for (const aai of snapshot.assigned) {
    const tp = targetPlan(aai.spec.nodename ?? aai.metadata.labels?.[NODENAME_LABEL] ?? '');
    const id = embeddedIdentityId(aai);
    const status = statusOf(aai);
    // Evidence that a previous controller added the identity: an Assigned object, or a Created one it
    // left behind (it may have crashed between the ARM write and the status update).
    if (tp && id && (status === 'Assigned' || status === '' || (status === 'Created' && !ours(aai)))) tp.adoptable.add(id);
  }
  const stateOf = (key: string): TargetState => states.get(key) ?? EMPTY_STATE;
  /** Present as last confirmed by ARM and not being removed. */
  const isPresent = (key: string, id: string): boolean => presence(states.get(key), id, undefined, undefined) === 'present';
  const pendingRemoval = (key: string, id: string, aai: AzureAssignedIdentity): boolean => {
    const tp = targets.get(key);
    const st = stateOf(key);
    if (protectedIds.has(id) || tp?.desired.has(id)) return false;
    const status = statusOf(aai);
    if (st.adopted === false && (status === 'Assigned' || status === '' || (status === 'Created' && !ours(aai)))) return true; // wait for adoption
    if (!st.owned.has(id)) return false;
    if (st.observed && !st.observed.has(id)) return false;
    if (config.unassignGraceMs > 0) return false; // AAIs go at once; the identity stays for the grace period
    return true;
  };

  const diff = diffAssignments(desiredState.desired, snapshot.assigned);
  // An `Assigned` AAI that is no longer wanted goes before its identity leaves the target: the target
  // keeps the identity until the AAI is gone (deleted now, below). So NMI stops serving it first, and a
  // leader killed between an ARM removal and the AAI deletion never leaves an `Assigned` AAI whose
  // identity is gone (which, matched by name, could be wanted again before the next leader acts).
  // Targets not adopted yet keep upstream's order: the AAI waits for adoption (see pendingRemoval).
  for (const aai of diff.remove) {
    if (statusOf(aai) !== 'Assigned') continue;
    const id = embeddedIdentityId(aai);
    const tp = targetPlan(aai.spec.nodename ?? aai.metadata.labels?.[NODENAME_LABEL] ?? '');
    if (!id || !tp || stateOf(tp.key).adopted === false) continue;
    tp.desired.add(id);
  }
  const kube: KubePlan = { create: [], update: [], assign: [], remove: [], pendingRemoval: [], pendingAssignment: [], demote: [] };

  /** Whether a new assignment may be reported `Assigned` now; asks for a fresh read when only age stands in the way. */
  const readyNow = (d: DesiredAssignment): { ready: boolean; key?: string } => {
    if (!d.identityId) return { ready: true };
    const r = resolve(d.nodeName);
    if (!r.ok) return { ready: false };
    const p = presence(states.get(r.key), d.identityId, now, config.confirmMaxAgeMs);
    if (p === 'absent') return { ready: false, key: r.key };
    if (p === 'present') return { ready: true, key: r.key };
    const tp = targets.get(r.key);
    if (tp) tp.confirm = true;
    return { ready: false, key: r.key };
  };
  const bump = (key: string | undefined): void => {
    const tp = key ? targets.get(key) : undefined;
    if (tp) tp.waiting++;
  };

  for (const d of diff.create) {
    const r = resolve(d.nodeName);
    // Node unknown: nothing to write until it resolves (reported above). Service-principal types need
    // no VM, so a node whose providerID is not Azure (virtual node, other cloud) still gets them.
    if (!r.ok && (d.identityId || r.reason !== 'UnsupportedNode')) continue;
    const { ready, key } = readyNow(d);
    const body: AzureAssignedIdentity = { ...d.aai, status: { ...d.aai.status, status: ready ? 'Assigned' : 'Created' } };
    kube.create.push({ body, desired: d, ...(ready ? {} : { targetKey: key }) });
    if (!ready) bump(key);
  }
  for (const { existing, desired: d } of diff.update) {
    // An update that moves or changes an identity first waits until the old target was adopted, so
    // the evidence that a previous controller added the old identity is not lost.
    const oldId = embeddedIdentityId(existing);
    const oldTarget = resolve(existing.spec.nodename ?? existing.metadata.labels?.[NODENAME_LABEL] ?? '');
    const oldStatus = statusOf(existing);
    const newTarget = resolve(d.nodeName);
    const moves = !newTarget.ok || (oldTarget.ok && newTarget.key !== oldTarget.key) || oldId !== d.identityId;
    if (moves && oldId && oldTarget.ok && (oldStatus === 'Assigned' || oldStatus === '') && stateOf(oldTarget.key).adopted === false) {
      bump(oldTarget.key);
      continue;
    }
    // An Assigned object that stays on its target keeps its status while ARM still shows the identity
    // (only a new assignment waits for a fresh read).
    const stays = !moves && (oldStatus === 'Assigned' || oldStatus === '') && newTarget.ok && d.identityId !== undefined && isPresent(newTarget.key, d.identityId);
    const { ready, key } = stays ? { ready: true, key: undefined } : readyNow(d);
    const body: AzureAssignedIdentity = {
      ...d.aai,
      metadata: {
        ...existing.metadata,
        labels: { ...(existing.metadata.labels ?? {}), [NODENAME_LABEL]: d.nodeName },
      },
      status: { ...(existing.status ?? {}), ...d.aai.status, status: ready ? 'Assigned' : 'Created' },
    };
    kube.update.push({ body, desired: d, existing, ...(ready ? {} : { targetKey: key }) });
    if (!ready) bump(key);
  }
  for (const { existing, desired: d } of diff.unchanged) {
    const status = statusOf(existing);
    if (status === 'Assigned' || status === '') {
      // Assigned means present: demote when ARM's last word says the identity is gone or going.
      const r = d.identityId ? resolve(d.nodeName) : undefined;
      const st = r?.ok ? stateOf(r.key) : undefined;
      if (r?.ok && st?.observed && !isPresent(r.key, d.identityId!)) {
        const why = st.removing?.has(d.identityId!) ? 'removing' : 'missing';
        kube.demote.push({ aai: existing, desired: d, targetKey: r.key, why });
        kube.pendingAssignment.push({ aai: existing, desired: d, targetKey: r.key });
        bump(r.key);
      }
      continue;
    }
    const { ready, key } = readyNow(d);
    if (ready) kube.assign.push({ aai: existing, desired: d });
    else {
      kube.pendingAssignment.push({ aai: existing, desired: d, targetKey: key });
      bump(key);
    }
  }
  for (const aai of diff.remove) {
    const nodeName = aai.spec.nodename ?? aai.metadata.labels?.[NODENAME_LABEL] ?? '';
    const r = resolve(nodeName);
    const id = embeddedIdentityId(aai);
    if (!r.ok || !id) {
      kube.remove.push({ aai, nodeGone: !r.ok && r.reason === 'NodeNotFound' });
      continue;
    }
    if (pendingRemoval(r.key, id, aai)) {
      kube.pendingRemoval.push(aai);
      bump(r.key);
    } else {
      kube.remove.push({ aai, nodeGone: false });
    }
  }
  // Terminating objects that are still desired are re-created once gone; nothing else to do here.
  for (const key of states.keys()) {
    if (!targets.has(key)) {
      const st = states.get(key);
      if (st && st.owned.size > 0) {
        // Known only from ownership: keep a plan so owned identities nobody needs get removed.
        targets.set(key, { key, target: st.target ?? parseTargetKey(key), desired: new Set(), waiting: 0, adoptable: new Set(), confirm: false });
      }
    }
  }
  return { desired: desiredState, kube, targets, protectedIds, problems };
}

/** Inverse of `targetKey` (`kind:sub/rg/name`, lower-cased). */
export function parseTargetKey(key: string): Target {
  const m = /^(vmss|vm):([^/]+)\/([^/]+)\/(.+)$/.exec(key);
  if (!m) throw new Error(`malformed target key ${key}`);
  return { kind: m[1] as Target['kind'], subscriptionId: m[2]!, resourceGroup: m[3]!, name: m[4]! };
}
