/**
 * The identity readiness gate: pods that declare `readinessGates: [{conditionType:
 * "aadpodidentity.k8s.io/identity-ready"}]` get that condition, `True` once every identity they are
 * bound to is `Assigned`, `False` with a reason while not. Services and rollouts then wait for the
 * identity instead of the workload failing its first token request. Pure.
 */
import { IDENTITY_READY_CONDITION, type AzureAssignedIdentity, type PodInfo } from '../api/types.js';
import type { DesiredAssignment } from './desired.js';
import type { Plan } from './plan.js';
import { objectKey } from './snapshot.js';

/** Reasons of a `False` condition. */
export const ReadinessReasons = {
  ready: 'IdentityAssigned',
  pending: 'AssignmentPending',
  noBinding: 'NoMatchingIdentity',
  throttled: 'Throttled',
} as const;

/** The condition a pod should carry. */
export interface PodReadiness {
  pod: PodInfo;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** What the controller knows about why an identity is not assigned yet. */
export interface ReadinessContext {
  /** Reason an identity is held back (quarantine), by canonical identity ID. */
  identityProblem(identityId: string): { reason: string; message: string } | undefined;
  /** Reason a target is held back (throttled, busy), by target key. */
  targetProblem(targetKey: string): { reason: string; message: string } | undefined;
}

/** True when the pod asked for the identity readiness gate. */
export function wantsReadinessGate(pod: PodInfo): boolean {
  return pod.readinessGates?.includes(IDENTITY_READY_CONDITION) ?? false;
}

/**
 * Conditions to write: one per gated pod whose current condition differs from what the plan says.
 * A pod counts as ready when each of its desired assignments is (or is being made) `Assigned`.
 */
export function computeReadiness(pods: readonly PodInfo[], plan: Plan, ctx: ReadinessContext): PodReadiness[] {
  // Most clusters gate no pod: then there is nothing to compute (this runs every pass).
  const gated = pods.filter((pod) => wantsReadinessGate(pod) && pod.nodeName);
  if (gated.length === 0) return [];
  const assignedNow = new Set<string>();
  const byPod = new Map<string, DesiredAssignment[]>();
  for (const d of plan.desired.desired.values()) {
    if (!wantsReadinessGate(d.pod)) continue;
    const key = objectKey(d.pod.namespace, d.pod.name);
    const list = byPod.get(key);
    if (list) list.push(d);
    else byPod.set(key, [d]);
  }
  const mark = (aai: AzureAssignedIdentity | undefined, d: DesiredAssignment): void => {
    const s = aai?.status?.status;
    if (s === 'Assigned' || s === '') assignedNow.add(d.key);
  };
  for (const w of [...plan.kube.create, ...plan.kube.update]) mark(w.body, w.desired);
  for (const a of plan.kube.assign) if (a.desired) assignedNow.add(a.desired.key);
  const pending = new Map<string, { targetKey?: string }>();
  for (const w of plan.kube.pendingAssignment) pending.set(w.desired.key, { targetKey: w.targetKey });
  const unchangedAssigned = new Set(plan.desired.desired.keys());
  for (const w of [...plan.kube.create, ...plan.kube.update, ...plan.kube.pendingAssignment]) unchangedAssigned.delete(w.desired.key);
  for (const a of plan.kube.assign) if (a.desired) unchangedAssigned.delete(a.desired.key);

  const out: PodReadiness[] = [];
  for (const pod of gated) {
    const assignments = byPod.get(objectKey(pod.namespace, pod.name)) ?? [];
    let next: Omit<PodReadiness, 'pod'>;
    if (assignments.length === 0) {
      next = { status: 'False', reason: ReadinessReasons.noBinding, message: 'no AzureIdentityBinding with a valid AzureIdentity matches the pod label aadpodidbinding' };
    } else {
      const waiting = assignments.filter((d) => !assignedNow.has(d.key) && !unchangedAssigned.has(d.key));
      if (waiting.length === 0) {
        next = { status: 'True', reason: ReadinessReasons.ready, message: `identities assigned: ${assignments.map((d) => d.identity.metadata.name).join(', ')}` };
      } else {
        const first = waiting[0]!;
        const problem =
          (first.identityId ? ctx.identityProblem(first.identityId) : undefined) ??
          (pending.get(first.key)?.targetKey ? ctx.targetProblem(pending.get(first.key)!.targetKey!) : undefined);
        next = {
          status: 'False',
          reason: problem?.reason ?? ReadinessReasons.pending,
          message: problem?.message ?? `waiting for identity ${first.identity.metadata.name} to be assigned to node ${first.nodeName}`,
        };
      }
    }
    if (pod.identityReady?.status === next.status && pod.identityReady.reason === next.reason) continue;
    out.push({ pod, ...next });
  }
  return out;
}
