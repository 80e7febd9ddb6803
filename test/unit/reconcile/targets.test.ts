/**
 * Node → target resolution and the per-target identity delta.
 */
import { describe, expect, it } from '@jest/globals';
import { computeTargetDelta, resolveNodeTarget, type TargetDelta } from '../../../controller/reconcile/targets.js';
import { node, RG, SUB, withProviderId, withVmProviderId, withVmssProviderId } from '../../support/builders.js';

const NOW = 1_700_000_000_000;
const GRACE = 60_000;

interface DeltaCase {
  name: string;
  desired?: string[];
  protectedIds?: string[];
  /** `null`: the target was never observed. */
  observed?: string[] | null;
  owned?: string[];
  quarantined?: string[];
  /** Milliseconds before NOW each id stopped being desired. */
  undesiredAgo?: Record<string, number>;
  graceMs?: number;
  expected: Partial<TargetDelta>;
}

const cases: DeltaCase[] = [
  { name: 'adds what is desired and not observed', desired: ['a', 'b'], observed: ['b'], expected: { add: ['a'], remove: [] } },
  { name: 'nothing to do when every desired identity is observed', desired: ['a'], observed: ['a', 'x'], expected: { add: [], remove: [], graceHeld: [], quarantined: [] } },
  { name: 'output is sorted', desired: ['c', 'a', 'b'], observed: [], owned: ['z', 'y'], expected: { add: ['a', 'b', 'c'] } },
  { name: 'quarantined identity is held back and reported', desired: ['a', 'bad'], observed: [], quarantined: ['bad'], expected: { add: ['a'], quarantined: ['bad'] } },
  { name: 'quarantined identity that is already present is neither added nor reported', desired: ['bad'], observed: ['bad'], quarantined: ['bad'], expected: { add: [], quarantined: [] } },
  { name: 'removes owned, observed, undesired identities', desired: ['a'], observed: ['a', 'b', 'c'], owned: ['a', 'b'], expected: { add: [], remove: ['b'] } },
  { name: 'foreign identity (present, not owned) is never removed', desired: [], observed: ['kubelet', 'manual'], owned: [], expected: { remove: [] } },
  { name: 'owned identity that is no longer present is not removed again', desired: [], observed: ['x'], owned: ['a'], expected: { remove: [] } },
  { name: 'protected identity is never removed', desired: [], protectedIds: ['a'], observed: ['a'], owned: ['a'], expected: { remove: [] } },
  { name: 'desired identity that is owned and present stays', desired: ['a'], observed: ['a'], owned: ['a'], expected: { remove: [] } },
  { name: 'never observed: add everything desired, remove nothing', desired: ['a'], observed: null, owned: ['b'], expected: { add: ['a'], remove: [] } },
  {
    name: 'grace period holds a removal and reports when it expires',
    observed: ['a'],
    owned: ['a'],
    undesiredAgo: { a: 10_000 },
    graceMs: GRACE,
    expected: { remove: [], graceHeld: ['a'], graceExpiresAt: NOW - 10_000 + GRACE },
  },
  {
    name: 'grace period over → removed',
    observed: ['a'],
    owned: ['a'],
    undesiredAgo: { a: GRACE },
    graceMs: GRACE,
    expected: { remove: ['a'], graceHeld: [], graceExpiresAt: undefined },
  },
  {
    name: 'grace period: earliest expiry is reported; expired ones go',
    observed: ['a', 'b', 'c'],
    owned: ['a', 'b', 'c'],
    undesiredAgo: { a: 5_000, b: 20_000, c: 90_000 },
    graceMs: GRACE,
    expected: { remove: ['c'], graceHeld: ['a', 'b'], graceExpiresAt: NOW - 20_000 + GRACE },
  },
  {
    name: 'grace period without a recorded start counts from now',
    observed: ['a'],
    owned: ['a'],
    graceMs: GRACE,
    expected: { remove: [], graceHeld: ['a'], graceExpiresAt: NOW + GRACE },
  },
  { name: 'no grace period → removed at once', observed: ['a'], owned: ['a'], undesiredAgo: { a: 0 }, graceMs: 0, expected: { remove: ['a'], graceHeld: [] } },
];

describe('computeTargetDelta', () => {
  it.each(cases)('$name', (c) => {
    const undesiredSince = new Map(Object.entries(c.undesiredAgo ?? {}).map(([id, ago]) => [id, NOW - ago]));
    const delta = computeTargetDelta(
      new Set(c.desired ?? []),
      new Set(c.protectedIds ?? []),
      {
        observed: c.observed === null ? undefined : new Set(c.observed ?? []),
        owned: new Set(c.owned ?? []),
        quarantined: new Set(c.quarantined ?? []),
        undesiredSince,
      },
      NOW,
      c.graceMs ?? 0,
    );
    const picked = Object.fromEntries(Object.keys(c.expected).map((k) => [k, delta[k as keyof TargetDelta]]));
    expect(picked).toEqual(c.expected);
  });
});

describe('resolveNodeTarget', () => {
  const defaults = { subscriptionId: 'default-sub', resourceGroup: 'default-rg' };

  it.each([
    ['VMSS instance → the scale set', node('n1', withVmssProviderId(SUB, RG, 'ss1', '3')), `vmss:${SUB}/${RG}/ss1`.toLowerCase()],
    ['standalone VM → the VM named in the providerID', node('n1', withVmProviderId(SUB, RG, 'vm-7')), `vm:${SUB}/${RG}/vm-7`.toLowerCase()],
    ['empty providerID → VM named after the node in the default location', node('n1'), 'vm:default-sub/default-rg/n1'],
  ])('%s', (_name, n, key) => {
    const r = resolveNodeTarget(n.name, n, defaults);
    expect(r.ok && r.key).toBe(key);
  });

  it('keeps the casing of names in the target', () => {
    const r = resolveNodeTarget('n1', node('n1', withVmssProviderId(SUB, RG, 'SS-Upper', '0')), defaults);
    expect(r.ok && r.target).toEqual({ kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name: 'SS-Upper' });
  });

  it('missing node → NodeNotFound', () => {
    const r = resolveNodeTarget('n1', undefined, defaults);
    expect(r.ok ? 'ok' : r.reason).toBe('NodeNotFound');
  });

  it.each(['virtual-kubelet://x', 'azure:///subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/disks/d'])('unsupported providerID %s → UnsupportedNode', (providerID) => {
    const r = resolveNodeTarget('n1', node('n1', withProviderId(providerID)), defaults);
    expect(r.ok ? 'ok' : r.reason).toBe('UnsupportedNode');
  });
});
