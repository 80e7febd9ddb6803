/**
 * Recovery from stale state: 100 AzureAssignedIdentities of pods long gone (Assigned, with
 * finalizers) and a drifted VMSS; the controller must delete them, unassign what only they needed,
 * assign what live pods need, and never touch the kubelet identity.
 */
import { describe, expect, it } from '@jest/globals';
import { measureStaleRecovery } from '../../hack/chaos/figures.js';

describe('stale-state recovery', () => {
  it('converges from 100 stale AzureAssignedIdentities with no violation', async () => {
    const s = await measureStaleRecovery({ count: 100, livePods: 8, clientQps: 200, timeoutMs: 25_000 });
    expect(s.staleAssigned).toBe(100);
    expect(s.violations).toEqual([]);
  }, 40_000);
});
