import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isInvalidResourceIdError } from '../../../controller/api/errors.js';
import {
  canonicalIdentityId,
  extractIdentityIdsFromText,
  parseIdentityResourceId,
  tryParseIdentityResourceId,
} from '../../../controller/api/resource-id.js';

const SUB = '00000000-0000-0000-0000-000000000001';
const id = (rg: string, name: string, sub = SUB): string =>
  `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
const canonical = (rg: string, name: string, sub = SUB): string =>
  `/subscriptions/${sub}/resourcegroups/${rg}/providers/microsoft.managedidentity/userassignedidentities/${name}`.toLowerCase();

describe('parseIdentityResourceId', () => {
  it('parses segments keeping their casing and builds the lower-cased canonical form', () => {
    expect(parseIdentityResourceId(id('My-RG', 'Demo_ID'))).toEqual({
      subscriptionId: SUB,
      resourceGroup: 'My-RG',
      name: 'Demo_ID',
      canonical: canonical('my-rg', 'demo_id'),
    });
  });

  it('is case-insensitive on segment names', () => {
    const lower = id('rg', 'x').toLowerCase();
    const upper = id('rg', 'x').toUpperCase().replace('RG', 'rg').replace(/\/X$/u, '/x');
    expect(parseIdentityResourceId(lower).canonical).toBe(canonical('rg', 'x'));
    expect(parseIdentityResourceId(upper).canonical).toBe(canonical('rg', 'x'));
  });

  it.each([
    ['dots, parentheses, underscores, hyphens in the group', 'rg.with_(odd)-chars', 'id'],
    ['underscores and hyphens in the name', 'rg', 'my_id-1'],
    ['unicode letters in the group', 'grüppe', 'id'],
  ])('accepts %s', (_label, rg, name) => {
    expect(parseIdentityResourceId(id(rg, name)).canonical).toBe(canonical(rg, name));
  });

  it('ignores surrounding whitespace (e.g. a YAML block scalar newline)', () => {
    expect(canonicalIdentityId(`  ${id('rg', 'x')}\n`)).toBe(canonical('rg', 'x'));
  });

  it.each([
    ['empty', ''],
    ['missing leading slash', id('rg', 'x').slice(1)],
    ['empty subscription', id('rg', 'x', '')],
    ['empty group', id('', 'x')],
    ['empty name', id('rg', '')],
    ['trailing slash', `${id('rg', 'x')}/`],
    ['extra segment', `${id('rg', 'x')}/extra`],
    ['prefix before /subscriptions', `/foo${id('rg', 'x')}`],
    ['traversal in name', id('rg', '..')],
    ['traversal in group', id('..', 'x')],
    ['dot segment', id('rg', '.')],
    ['inner whitespace', id('r g', 'x')],
    ['query string', `${id('rg', 'x')}?api-version=1`],
    ['fragment', `${id('rg', 'x')}#frag`],
    ['percent-encoding', id('rg', '%2e%2e')],
    ['wrong provider', id('rg', 'x').replace('Microsoft.ManagedIdentity', 'Microsoft.Compute')],
    ['wrong type', id('rg', 'x').replace('userAssignedIdentities', 'virtualMachines')],
    ['double slash', id('rg', 'x').replace('/resourceGroups/', '//resourceGroups/')],
    ['system-assigned style ID', `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm`],
  ])('rejects %s', (_label, value) => {
    expect(tryParseIdentityResourceId(value)).toBeUndefined();
    let caught: unknown;
    try {
      parseIdentityResourceId(value);
    } catch (e) {
      caught = e;
    }
    expect(isInvalidResourceIdError(caught)).toBe(true);
  });

  it('error message quotes the value and names the expected shape like upstream', () => {
    expect(() => parseIdentityResourceId('bogus')).toThrow(
      'invalid resource id: "bogus", must match /subscriptions/<subid>/resourcegroups/<resourcegroup>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>',
    );
  });

  it('canonical form is idempotent and case-insensitive (property)', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.()-]{0,20}$/u).filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(segment, segment, segment, (sub, rg, name) => {
        const c = canonicalIdentityId(id(rg, name, sub));
        expect(canonicalIdentityId(c)).toBe(c);
        expect(canonicalIdentityId(id(rg.toUpperCase(), name.toUpperCase(), sub.toUpperCase()))).toBe(c);
      }),
    );
  });
});

describe('extractIdentityIdsFromText', () => {
  it('finds comma-separated IDs inside single quotes (LinkedAuthorizationFailed)', () => {
    const text =
      "The client 'abc' with object id 'def' has permission to perform action 'Microsoft.Compute/virtualMachineScaleSets/write' " +
      `on scope '/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss'; however, ` +
      "it does not have permission to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the " +
      `linked scope(s) '${id('RG', 'Id1')},${id('rg', 'id2')}' or the linked scope(s) are invalid.`;
    expect(extractIdentityIdsFromText(text)).toEqual([canonical('rg', 'id1'), canonical('rg', 'id2')]);
  });

  it('handles IDs at sentence end, in parentheses, in double quotes, and deduplicates case-insensitively', () => {
    const text =
      `Resource ${id('rg', 'a')}. Also (${id('rg', 'b')}) and "${id('rg', 'c')}"; again ${id('RG', 'A')} ` +
      `and ${id('rg', 'name(1)')}).`;
    expect(extractIdentityIdsFromText(text)).toEqual([
      canonical('rg', 'a'),
      canonical('rg', 'b'),
      canonical('rg', 'c'),
      canonical('rg', 'name(1)'),
    ]);
  });

  it('returns nothing for text without identity IDs', () => {
    expect(extractIdentityIdsFromText('')).toEqual([]);
    expect(extractIdentityIdsFromText('Too many requests. Retry after 30 seconds.')).toEqual([]);
    expect(extractIdentityIdsFromText(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm`)).toEqual([]);
  });
});
