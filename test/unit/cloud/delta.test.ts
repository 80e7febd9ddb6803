import { describe, it, expect } from '@jest/globals';
import { applyIdentityPatch, hasSystemAssigned, identityTypeFor, MAX_IDENTITIES_PER_PATCH, planIdentityPatch } from '../../../controller/cloud/delta.js';
import type { IdentityPatchBody } from '../../../controller/cloud/delta.js';
import type { TargetIdentities } from '../../../controller/cloud/provider.js';

const id = (name: string): string =>
  `/subscriptions/sub/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/${name}`;
const ID = (name: string): string =>
  `/subscriptions/sub/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name.toUpperCase()}`;

const state = (type: string, ...names: string[]): TargetIdentities => ({ type, userAssigned: new Set(names.map(id)) });

/** Applies every body in order (what ARM would end with). */
const applyAll = (current: TargetIdentities | undefined, bodies: IdentityPatchBody[]): TargetIdentities =>
  bodies.reduce<TargetIdentities | undefined>((s, b) => applyIdentityPatch(s, b), current) ?? state('');

describe('planIdentityPatch', () => {
  it.each<[string, TargetIdentities | undefined, string[], string[], IdentityPatchBody[]]>([
    ['add to a fresh resource (no identity block)', undefined, ['a'], [], [{ identity: { type: 'UserAssigned', userAssignedIdentities: { [id('a')]: {} } } }]],
    ['add to type ""', state(''), ['a'], [], [{ identity: { type: 'UserAssigned', userAssignedIdentities: { [id('a')]: {} } } }]],
    ['add to type None', state('None'), ['a'], [], [{ identity: { type: 'UserAssigned', userAssignedIdentities: { [id('a')]: {} } } }]],
    ['add to UserAssigned', state('UserAssigned', 'a'), ['b'], [], [{ identity: { type: 'UserAssigned', userAssignedIdentities: { [id('b')]: {} } } }]],
    ['add to SystemAssigned keeps it', state('SystemAssigned'), ['a'], [], [{ identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [id('a')]: {} } } }]],
    ['add to SystemAssigned, UserAssigned', state('SystemAssigned, UserAssigned', 'a'), ['b'], [], [{ identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [id('b')]: {} } } }]],
    ['odd casing of the type is understood', state('systemassigned,userassigned', 'a'), ['b'], [], [{ identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [id('b')]: {} } } }]],
    ['two distinct adds', state('UserAssigned', 'x'), ['a', 'b'], [], [{ identity: { type: 'UserAssigned', userAssignedIdentities: { [id('a')]: {}, [id('b')]: {} } } }]],
    ['remove one of two leaves the other', state('UserAssigned', 'a', 'b'), [], ['a'], [{ identity: { type: 'UserAssigned', userAssignedIdentities: { [id('a')]: null } } }]],
    ['remove the last → None, no map', state('UserAssigned', 'a'), [], ['a'], [{ identity: { type: 'None' } }]],
    ['remove the last with a system identity → SystemAssigned', state('SystemAssigned, UserAssigned', 'a'), [], ['a'], [{ identity: { type: 'SystemAssigned' } }]],
    ['add {1,2,3} + remove {0} (present)', state('UserAssigned', '0'), ['1', '2', '3'], ['0'], [{ identity: { type: 'UserAssigned', userAssignedIdentities: { [id('0')]: null, [id('1')]: {}, [id('2')]: {}, [id('3')]: {} } } }]],
    ['same ID added and removed is kept (added)', state('UserAssigned'), ['a'], ['a'], [{ identity: { type: 'UserAssigned', userAssignedIdentities: { [id('a')]: {} } } }]],
    ['same ID added and removed while present → no change', state('UserAssigned', 'a'), ['a'], ['a'], []],
    ['adds already present → no PATCH', state('UserAssigned', 'a'), ['a'], [], []],
    ['removes already absent → no PATCH', state('UserAssigned', 'a'), [], ['b'], []],
    ['empty add and remove → no PATCH', state('UserAssigned', 'a'), [], [], []],
    ['fixed quirk: SystemAssigned + removing an absent ID → no PATCH', state('SystemAssigned'), [], ['a'], []],
    ['UserAssigned with nothing left to remove → no PATCH', state('UserAssigned'), [], ['a'], []],
    ['IDs compared case-insensitively', state('UserAssigned', 'a'), [ID('a')], [ID('b')], []],
    ['IDs sent lower-cased', state('UserAssigned', 'a'), [ID('b')], [ID('a')], [{ identity: { type: 'UserAssigned', userAssignedIdentities: { [id('a')]: null, [id('b')]: {} } } }]],
  ])('%s', (_name, current, add, remove, expected) => {
    const full = (x: string): string => (x.startsWith('/') ? x : id(x));
    expect(planIdentityPatch(current, add.map(full), remove.map(full))).toEqual(expected);
  });

  it('accepts IDs with odd casing in the current state', () => {
    const current: TargetIdentities = { type: 'UserAssigned', userAssigned: new Set([ID('a')]) };
    expect(planIdentityPatch(current, [], [id('a')])).toEqual([{ identity: { type: 'None' } }]);
  });

  it('splits 200 additions into 150 + 50, disjoint and complete', () => {
    const names = Array.from({ length: 200 }, (_, i) => `n${i}`);
    const bodies = planIdentityPatch(state('UserAssigned'), names.map(id), []);
    expect(bodies.map((b) => Object.keys(b.identity.userAssignedIdentities ?? {}).length)).toEqual([150, 50]);
    const keys = bodies.flatMap((b) => Object.keys(b.identity.userAssignedIdentities ?? {}));
    expect(new Set(keys).size).toBe(200);
    expect(new Set(keys)).toEqual(new Set(names.map(id)));
    expect(bodies.every((b) => b.identity.type === 'UserAssigned')).toBe(true);
  });

  it('keeps ≤150 entries unchanged in one body', () => {
    const names = Array.from({ length: MAX_IDENTITIES_PER_PATCH }, (_, i) => id(`n${i}`));
    expect(planIdentityPatch(state('SystemAssigned'), names, [])).toHaveLength(1);
  });

  it('puts removals first so a near-full resource frees space before adding', () => {
    const present = Array.from({ length: 160 }, (_, i) => `old${i}`);
    const bodies = planIdentityPatch(state('UserAssigned', ...present), Array.from({ length: 100 }, (_, i) => id(`new${i}`)), present.slice(0, 140).map(id));
    expect(bodies).toHaveLength(2);
    const first = Object.values(bodies[0]?.identity.userAssignedIdentities ?? {});
    expect(first.slice(0, 140).every((v) => v === null)).toBe(true);
    expect(first).toHaveLength(150);
    const end = applyAll(state('UserAssigned', ...present), bodies);
    expect(end.userAssigned.size).toBe(120);
  });

  it('never empties the resource between chunks while additions remain', () => {
    const present = Array.from({ length: 150 }, (_, i) => `old${i}`);
    const adds = ['x', 'y'].map(id);
    const bodies = planIdentityPatch(state('UserAssigned', ...present), adds, present.map(id));
    expect(bodies.length).toBe(2);
    let s: TargetIdentities = state('UserAssigned', ...present);
    for (const body of bodies) {
      expect(Object.keys(body.identity.userAssignedIdentities ?? {}).length).toBeLessThanOrEqual(150);
      s = applyIdentityPatch(s, body);
      expect(s.userAssigned.size).toBeGreaterThan(0);
    }
    expect(s.userAssigned).toEqual(new Set(adds));
  });

  it('removing more than 150 with nothing left is one body without a map', () => {
    const present = Array.from({ length: 300 }, (_, i) => `old${i}`);
    expect(planIdentityPatch(state('SystemAssigned, UserAssigned', ...present), [], present.map(id))).toEqual([
      { identity: { type: 'SystemAssigned' } },
    ]);
  });

  it('reaches current ∪ add − remove for random inputs', () => {
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let round = 0; round < 200; round++) {
      const pool = Array.from({ length: 400 }, (_, i) => `p${i}`);
      const present = pool.filter(() => rnd(3) === 0);
      const add = pool.filter(() => rnd(4) === 0).map(ID);
      const remove = pool.filter(() => rnd(4) === 0).map(ID);
      const type = ['', 'UserAssigned', 'SystemAssigned', 'SystemAssigned, UserAssigned', 'None'][rnd(5)] as string;
      const current = state(type, ...present);
      const bodies = planIdentityPatch(current, add, remove);
      const addSet = new Set(add.map((x) => x.toLowerCase()));
      const expected = new Set([...current.userAssigned, ...addSet].filter((x) => addSet.has(x) || !remove.some((r) => r.toLowerCase() === x)));
      const end = applyAll(current, bodies);
      expect(end.userAssigned).toEqual(expected);
      for (const b of bodies) expect(Object.keys(b.identity.userAssignedIdentities ?? {}).length).toBeLessThanOrEqual(150);
      if (bodies.length > 0) expect(hasSystemAssigned(end.type)).toBe(hasSystemAssigned(type));
    }
  });
});

describe('identity type helpers', () => {
  it.each([
    ['', false],
    ['None', false],
    ['UserAssigned', false],
    ['SystemAssigned', true],
    ['SystemAssigned, UserAssigned', true],
    ['userassigned,systemassigned', true],
  ])('hasSystemAssigned(%j) = %j', (type, expected) => {
    expect(hasSystemAssigned(type)).toBe(expected);
  });

  it('identityTypeFor covers the four combinations', () => {
    expect([identityTypeFor(false, true), identityTypeFor(true, true), identityTypeFor(false, false), identityTypeFor(true, false)]).toEqual([
      'UserAssigned',
      'SystemAssigned, UserAssigned',
      'None',
      'SystemAssigned',
    ]);
  });
});

describe('applyIdentityPatch', () => {
  it('applies adds and removals and keeps provisioningState', () => {
    const current: TargetIdentities = { type: 'UserAssigned', userAssigned: new Set([id('a'), id('b')]), provisioningState: 'Succeeded' };
    const after = applyIdentityPatch(current, { identity: { type: 'UserAssigned', userAssignedIdentities: { [ID('a')]: null, [id('c')]: {} } } });
    expect(after).toEqual({ type: 'UserAssigned', userAssigned: new Set([id('b'), id('c')]), provisioningState: 'Succeeded' });
  });

  it('a body without a map clears user identities', () => {
    expect(applyIdentityPatch(state('SystemAssigned, UserAssigned', 'a'), { identity: { type: 'SystemAssigned' } })).toEqual({
      type: 'SystemAssigned',
      userAssigned: new Set(),
    });
  });
});
