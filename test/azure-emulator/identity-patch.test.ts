/** ARM identity PATCH semantics (pure function). */
import { describe, expect, it } from '@jest/globals';
import { applyIdentityPatch, identityTypeOf, type IdentityState } from '../../hack/emulators/azure/identity-patch.js';
import { isArmError } from '../../hack/emulators/azure/arm-errors.js';

const id = (n: string): string => `/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${n}`;
const lower = (n: string): string => id(n).toLowerCase();
const state = (systemAssigned: boolean, ...names: string[]): IdentityState => ({ systemAssigned, userAssigned: names.map(lower) });

function ok(current: IdentityState, patch: unknown): IdentityState {
  const out = applyIdentityPatch(current, patch);
  if (isArmError(out)) throw out;
  return out.state;
}

describe('applyIdentityPatch', () => {
  it.each([
    ['absent type adds as UserAssigned', state(false), { type: 'UserAssigned', userAssignedIdentities: { [id('a')]: {} } }, 'UserAssigned'],
    ['keeps SystemAssigned when adding', state(true), { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [id('a')]: {} } }, 'SystemAssigned, UserAssigned'],
    ['SystemAssigned drops user identities', state(true, 'a'), { type: 'SystemAssigned' }, 'SystemAssigned'],
    ['None clears everything', state(true, 'a'), { type: 'None' }, 'None'],
    ['type spelled loosely', state(false, 'a'), { type: 'systemassigned,userassigned' }, 'SystemAssigned, UserAssigned'],
    ['no type: keeps system, merges delta', state(true, 'a'), { userAssignedIdentities: { [id('b')]: {} } }, 'SystemAssigned, UserAssigned'],
  ])('%s', (_name, current, patch, type) => {
    expect(identityTypeOf(ok(current, patch))).toBe(type);
  });

  it('applies {} adds and null removes case-insensitively', () => {
    const next = ok(state(false, 'a', 'b'), { type: 'UserAssigned', userAssignedIdentities: { [id('A').toUpperCase()]: null, [id('c')]: {} } });
    expect(next.userAssigned.sort()).toEqual([lower('b'), lower('c')]);
  });

  it('reports requested, added and removed IDs', () => {
    const out = applyIdentityPatch(state(false, 'a'), { type: 'UserAssigned', userAssignedIdentities: { [id('a')]: {}, [id('b')]: {}, [id('z')]: null } });
    expect(isArmError(out)).toBe(false);
    if (isArmError(out)) return;
    expect(out.requested).toEqual([lower('a'), lower('b')]);
    expect(out.added).toEqual([lower('b')]);
    expect(out.removed).toEqual([]);
  });

  it.each([
    ['UserAssigned left empty', state(false, 'a'), { type: 'UserAssigned', userAssignedIdentities: { [id('a')]: null } }, 'InvalidParameter'],
    ['user identities with type None', state(false), { type: 'None', userAssignedIdentities: { [id('a')]: {} } }, 'InvalidParameter'],
    ['unknown type', state(false), { type: 'Managed' }, 'InvalidParameter'],
    ['malformed ID', state(false), { type: 'UserAssigned', userAssignedIdentities: { '/not/an/id': {} } }, 'InvalidParameter'],
    ['151 in one request', state(false), { type: 'UserAssigned', userAssignedIdentities: Object.fromEntries(Array.from({ length: 151 }, (_, i) => [id(`x${i}`), {}])) }, 'BadRequest'],
  ])('rejects %s', (_name, current, patch, code) => {
    const out = applyIdentityPatch(current, patch);
    expect(isArmError(out) && out.status === 400 && out.code).toBe(code);
  });

  it('accepts exactly 150 in one request', () => {
    const patch = { type: 'UserAssigned', userAssignedIdentities: Object.fromEntries(Array.from({ length: 150 }, (_, i) => [id(`x${i}`), {}])) };
    expect(ok(state(false), patch).userAssigned).toHaveLength(150);
  });
});
