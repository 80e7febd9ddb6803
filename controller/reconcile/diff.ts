/**
 * Diff of desired against existing AzureAssignedIdentities (upstream-mic.md §2.3.4). Pure.
 */
import type { AzureAssignedIdentity } from '../api/types.js';
import type { DesiredAssignment } from './desired.js';

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

/**
 * Diffs desired assignments against existing objects. Terminating objects count as not existing.
 *
 * Existing objects are matched by **name**, as upstream does: the namespace an AAI lives in (the
 * identity's with `--forceNamespaced` or the `namespaced` Behavior, else `default`) is not part of
 * the match, so toggling either keeps the existing object (updated in place, in its namespace)
 * instead of deleting and re-creating it. Should two live objects share a name, the one in the
 * desired namespace wins and the other is removed.
 */
export function diffAssignments(
  desired: ReadonlyMap<string, DesiredAssignment>,
  existing: readonly AzureAssignedIdentity[],
): AssignmentDiff {
  const result: AssignmentDiff = { create: [], update: [], unchanged: [], remove: [] };
  // Live objects by name: almost always one per name, so a second object makes an array only then.
  const liveByName = new Map<string, AzureAssignedIdentity | AzureAssignedIdentity[]>();
  const terminatingNames = new Set<string>();
  for (const aai of existing) {
    const name = aai.metadata.name;
    if (aai.metadata.deletionTimestamp) {
      terminatingNames.add(name);
      continue;
    }
    const seen = liveByName.get(name);
    if (seen === undefined) liveByName.set(name, aai);
    else if (Array.isArray(seen)) seen.push(aai);
    else liveByName.set(name, [seen, aai]);
  }
  const claimed = new Set<AzureAssignedIdentity>();
  for (const want of desired.values()) {
    const name = want.aai.metadata.name;
    const live = liveByName.get(name);
    const have = Array.isArray(live) ? (live.find((c) => c.metadata.namespace === want.aai.metadata.namespace) ?? live[0]) : live;
    if (!have) {
      // A terminating object with the same name blocks creation until it is gone.
      if (!terminatingNames.has(name)) result.create.push(want);
      continue;
    }
    claimed.add(have);
    if (assignmentMatches(have, want)) result.unchanged.push({ existing: have, desired: want });
    else result.update.push({ existing: have, desired: want });
  }
  for (const aai of existing) if (!claimed.has(aai)) result.remove.push(aai);
  return result;
}
