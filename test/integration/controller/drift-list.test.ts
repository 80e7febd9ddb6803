/**
 * Issue 12 item 3 against both emulators: the periodic drift check of scale sets with live
 * assignments costs one LIST of their resource group per interval (not one GET per scale set), and an
 * identity an upgrade drops from one of them is still repaired within the interval.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { startHarness, type Harness, SUB, RG } from '../../support/harness.js';
import { waitFor } from '../../support/wait.js';

const INTERVAL_MS = 1_500;
const SETS = ['ss-a', 'ss-b', 'ss-c'];
const armId = (name: string): string => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`;
const LIST_PATH = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets`.toLowerCase();

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** ARM reads so far: LISTs of the resource group's scale sets, and GETs of each scale set. */
function reads(harness: Harness): { lists: number; gets: number } {
  const entries = harness.azure.controls.auditLog().filter((e) => e.kind === 'read');
  const lists = entries.filter((e) => e.path.toLowerCase().split('?')[0] === LIST_PATH).length;
  const gets = entries.filter((e) => SETS.some((n) => e.resource === armId(n).toLowerCase())).length;
  return { lists, gets };
}

describe('drift checks by resource-group LIST (issue 12 item 3)', () => {
  it('three scale sets with live assignments cost one LIST per interval, and an out-of-band removal is repaired within the interval', async () => {
    h = await startHarness({ vmss: Object.fromEntries(SETS.map((n) => [n, [`${n}-node0`]])) });
    const { resourceId } = await h.addIdentity('id');
    const id = resourceId.toLowerCase();
    await h.addBinding('b', 'id', 'sel');
    await h.startMic({ identityAssignmentReconcileIntervalMs: INTERVAL_MS });
    for (const n of SETS) await h.addPod(`p-${n}`, `${n}-node0`, 'sel');
    await h.waitForAssigned(SETS.length);

    // Four drift checks' worth of time: no scale set is read on its own, and the LISTs are at most one
    // per interval (a controller running late makes fewer, never more).
    const before = reads(h);
    const started = Date.now();
    await waitFor(() => reads(h!).lists >= before.lists + 4, 'four drift LISTs', 30_000);
    const after = reads(h);
    expect(after.gets - before.gets).toBe(0);
    expect(after.lists - before.lists).toBeLessThanOrEqual(Math.floor((Date.now() - started) / INTERVAL_MS) + 1);

    // An upgrade drops the identity from one scale set: the next LIST sees it and the set is repaired.
    h.azure.controls.setResourceIdentities(armId('ss-b'), [], 'upgrade');
    await waitFor(() => h!.vmssIdentities('ss-b').includes(id) || undefined, 'ss-b repaired', INTERVAL_MS + 10_000);
    expect(h.vmssIdentities('ss-a')).toContain(id);
    expect(h.vmssIdentities('ss-c')).toContain(id);
    await h.waitForAssigned(SETS.length);
  }, 60_000);
});
