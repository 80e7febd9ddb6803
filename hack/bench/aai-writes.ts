/** Counting the controller's AzureAssignedIdentity writes in the kube emulator's request log (issue #16). */

/**
 * AAI creates, updates and status patches in a request log. Each removal is a patch (`Unassigned`,
 * finalizer dropped) followed by a delete: one patch per delete is not counted.
 */
export function countAaiWrites(log: readonly { verb: string; path: string }[]): number {
  let writes = 0;
  let deletes = 0;
  for (const r of log) {
    if (!r.path.includes('/azureassignedidentities')) continue;
    if (r.verb === 'create' || r.verb === 'update' || r.verb === 'patch') writes++;
    else if (r.verb === 'delete') deletes++;
  }
  return Math.max(0, writes - deletes);
}
