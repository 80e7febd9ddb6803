/**
 * Diff of desired against existing AzureAssignedIdentities (upstream-mic.md §2.3.4). Pure.
 */
import type { AzureAssignedIdentity } from '../api/types.js';
import type { DesiredAssignment } from './desired.js';
import { objectKey } from './snapshot.js';

/** An existing AAI that must be rewritten because what it embeds changed. */
export interface AssignmentUpdate {
  existing: AzureAssignedIdentity;
  desired: DesiredAssignment;
}

/** Result of {@link diffAssignments}. */
export interface AssignmentDiff {
  /** Desired with no existing object. */
  create: DesiredAssignment[];
  /** Desired whose existing object embeds stale references (PUT). */
  update: AssignmentUpdate[];
  /** Desired whose existing object matches. */
  unchanged: { existing: AzureAssignedIdentity; desired: DesiredAssignment }[];
  /** Existing objects nobody wants any more (or that are being deleted). */
  remove: AzureAssignedIdentity[];
}

/**
 * True when the existing AAI embeds the same binding/identity revisions and pod/node as desired
 * (upstream's match rule: names and resourceVersions of both refs, pod, pod namespace, node).
 */
export function assignmentMatches(existing: AzureAssignedIdentity, desired: DesiredAssignment): boolean {
  const e = existing.spec;
  const d = desired.aai.spec;
  return (
    e.azureBindingRef?.metadata?.name === d.azureBindingRef.metadata.name &&
    e.azureBindingRef?.metadata?.resourceVersion === d.azureBindingRef.metadata.resourceVersion &&
    e.azureIdentityRef?.metadata?.name === d.azureIdentityRef.metadata.name &&
    e.azureIdentityRef?.metadata?.resourceVersion === d.azureIdentityRef.metadata.resourceVersion &&
    e.pod === d.pod &&
    e.podNamespace === d.podNamespace &&
    e.nodename === d.nodename &&
    existing.metadata.labels?.nodename === d.nodename
  );
}

/** Diffs desired assignments against existing objects. Terminating objects count as not existing. */
export function diffAssignments(
  desired: ReadonlyMap<string, DesiredAssignment>,
  existing: readonly AzureAssignedIdentity[],
): AssignmentDiff {
  const result: AssignmentDiff = { create: [], update: [], unchanged: [], remove: [] };
  const live = new Map<string, AzureAssignedIdentity>();
  const terminating = new Set<string>();
  for (const aai of existing) {
    const key = objectKey(aai.metadata.namespace, aai.metadata.name);
    if (aai.metadata.deletionTimestamp) terminating.add(key);
    if (aai.metadata.deletionTimestamp || !desired.has(key)) result.remove.push(aai);
    else live.set(key, aai);
  }
  for (const [key, want] of desired) {
    const have = live.get(key);
    if (!have) {
      // A terminating object with the same name blocks creation until it is gone.
      if (!terminating.has(key)) result.create.push(want);
    } else if (assignmentMatches(have, want)) {
      result.unchanged.push({ existing: have, desired: want });
    } else {
      result.update.push({ existing: have, desired: want });
    }
  }
  return result;
}
