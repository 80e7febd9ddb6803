/**
 * Real `kill -9` failover of controller processes (needs `dist/`; `make test` builds first): the
 * leader gets SIGKILL right after ARM accepted its first PATCH; the standby must take the Lease
 * and converge with no lost write, no forbidden removal and no write from a non-holder.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { identityDelta, type TappedWrite } from '../../hack/chaos/arm-tap.js';
import { duplicateAdds } from '../../hack/chaos/fixtures.js';
import { defaultMainPath, fencingViolations, measureProcessFailover } from '../../hack/chaos/process-failover.js';

const ID = (n: string): string => `/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/${n}`;
const VMSS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool';

function write(over: Partial<TappedWrite>): TappedWrite {
  return { replica: 'mic-a', at: 1000, path: VMSS, add: [], remove: [], holder: 'mic-a', leaseExpiresAt: 2000, status: 200, relayed: true, ...over };
}

describe('kill -9 bookkeeping', () => {
  it('reads the identity delta of a PATCH body', () => {
    const body = JSON.stringify({ identity: { type: 'UserAssigned', userAssignedIdentities: { [ID('A')]: {}, [ID('B')]: null } } });
    expect(identityDelta(body)).toEqual({ add: [ID('a')], remove: [ID('b')] });
    expect(identityDelta('not json')).toEqual({ add: [], remove: [] });
  });

  it('counts re-adds of identities already present, at start or from an earlier accepted PATCH', () => {
    const initial = new Map([[VMSS.toLowerCase(), [ID('kubelet')]]]);
    const writes = [
      { status: 202, target: VMSS, add: [ID('x')], remove: [] },
      { status: 429, target: VMSS, add: [ID('y')], remove: [] },
      { status: 200, target: `https://h${VMSS}?api-version=1`, add: [ID('x'), ID('y'), ID('kubelet')], remove: [] },
      { status: 200, target: VMSS, add: [], remove: [ID('x')] },
      { status: 200, target: VMSS, add: [ID('x')], remove: [] },
    ];
    expect(duplicateAdds(writes, initial)).toBe(2);
  });

  it('flags a PATCH from a replica that does not hold a live Lease', () => {
    expect(fencingViolations([write({})])).toEqual([]);
    expect(fencingViolations([write({ holder: 'mic-b' })])).toHaveLength(1);
    expect(fencingViolations([write({ at: 2000 })])).toHaveLength(1);
  });
});

describe('kill -9 of the leader between its ARM write and the AAI status update', () => {
  it('the standby takes over and converges with nothing lost and no forbidden write', async () => {
    expect(existsSync(defaultMainPath())).toBe(true); // `make test` builds dist/ first
    const f = await measureProcessFailover({ leaseDurationMs: 3000, burstPods: 16, identities: 6, timeoutMs: 20_000 });
    expect(f.killedWriteAdds).toBeGreaterThan(0);
    expect(f.assignedAtKill).toBe(0); // killed after the ARM write, before any status update
    expect(f.holderChanges.map((h) => h.holder)).toEqual(['mic-a', 'mic-b']);
    expect({ violations: f.violations, lost: f.lostWrites }).toEqual({ violations: [], lost: 0 });
  }, 40_000);
});
