/**
 * The admission policy's resource-ID check and the controller's parser (controller/api/resource-id.ts)
 * accept and reject the same IDs: one table, both checks. The policy's CEL expression is
 * `size(id) <= 512 && id.trim().matches(r'<RE2 pattern>')`; the test reads the pattern out of the
 * policy, asserts that exact expression shape, and runs the pattern with JavaScript's Unicode
 * regexps (the pattern uses only syntax RE2 and JavaScript read alike: classes, \p{L}/\p{N},
 * counted repetition, anchors, a leading (?i)).
 */
import { describe, expect, it } from '@jest/globals';
import { tryParseIdentityResourceId } from '../../../controller/api/resource-id.js';
import { at, objectsOf, only } from './load.js';

const policy = only(objectsOf('policy/azureidentity-resourceid-policy.yaml'), 'ValidatingAdmissionPolicy');
const expression = String(at(policy, 'spec.validations.0.expression'));
const CEL_CHECK = /size\(object\.spec\.resourceID\) <= (\d+) &&\s*object\.spec\.resourceID\.trim\(\)\.matches\(r'\(\?i\)([^']+)'\)\s*$/;

/** The policy's verdict on a type-0 AzureIdentity with this resourceID, as the CEL expression computes it. */
function policyAccepts(id: string): boolean {
  const m = CEL_CHECK.exec(expression);
  if (!m) throw new Error(`unexpected policy expression: ${expression}`);
  const maxSize = Number(m[1]);
  const pattern = new RegExp(m[2] ?? '', 'iu');
  return [...id].length <= maxSize && pattern.test(id.trim());
}

const P = '/providers/Microsoft.ManagedIdentity/userAssignedIdentities/';
const ok = (sub: string, rg: string, name: string): string => `/subscriptions/${sub}/resourceGroups/${rg}${P}${name}`;

/** [description, resource ID, accepted]. */
const TABLE: [string, string, boolean][] = [
  ['canonical casing', ok('00000000-0000-0000-0000-000000000000', 'rg', 'id1'), true],
  ['lower-case segment names', '/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/id', true],
  ['upper-case segment names', '/SUBSCRIPTIONS/s/RESOURCEGROUPS/rg/PROVIDERS/MICROSOFT.MANAGEDIDENTITY/USERASSIGNEDIDENTITIES/id', true],
  ['name with _ . ( ) -', ok('s', 'rg', 'a_b.c(d)-e'), true],
  ['Unicode letters and digits', ok('s', 'grüppe', 'идентичность٣'), true],
  ['three dots is a name', ok('s', '...', 'id'), true],
  ['dots around letters', ok('s', '.rg.', '..id'), true],
  ['surrounding whitespace', `  ${ok('s', 'rg', 'id')}\t\n`, true],
  ['empty', '', false],
  ['only whitespace', '   ', false],
  ['no leading slash', ok('s', 'rg', 'id').slice(1), false],
  ['empty subscription', ok('', 'rg', 'id'), false],
  ['empty group', ok('s', '', 'id'), false],
  ['empty name', ok('s', 'rg', ''), false],
  ['"." as subscription', ok('.', 'rg', 'id'), false],
  ['".." as group', ok('s', '..', 'id'), false],
  ['"." as name', ok('s', 'rg', '.'), false],
  ['".." as name', ok('s', 'rg', '..'), false],
  ['trailing slash', `${ok('s', 'rg', 'id')}/`, false],
  ['extra segment', `${ok('s', 'rg', 'id')}/extra`, false],
  ['other resource type', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm', false],
  ['similar resource type', `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentitiesX/id`, false],
  ['dot in provider not a wildcard', '/subscriptions/s/resourceGroups/rg/providers/MicrosoftXManagedIdentity/userAssignedIdentities/id', false],
  ['inner space', ok('s', 'rg', 'my id'), false],
  ['query string', `${ok('s', 'rg', 'id')}?api-version=2023-01-31`, false],
  ['fragment', `${ok('s', 'rg', 'id')}#x`, false],
  ['percent-encoding', ok('s', 'rg', 'a%2Fb'), false],
  ['slash in name via double slash', `/subscriptions/s/resourceGroups/rg${P}a//b`, false],
  ['missing resourceGroups segment', `/subscriptions/s${P}id`, false],
  ['colon in name', ok('s', 'rg', 'a:b'), false],
];

describe('resource-ID grammar: admission policy = controller parser', () => {
  it('reads the check out of the policy', () => {
    expect(expression).toMatch(CEL_CHECK);
    expect(expression).toContain('object.spec.type != 0');
  });

  it.each(TABLE)('%s', (_what, id, accepted) => {
    expect({ parser: tryParseIdentityResourceId(id) !== undefined, policy: policyAccepts(id) }).toEqual({ parser: accepted, policy: accepted });
  });

  it('differs only in the length cap, which real Azure IDs never reach', () => {
    const long = ok('s', 'rg', 'a'.repeat(600));
    expect(tryParseIdentityResourceId(long)).toBeDefined();
    expect(policyAccepts(long)).toBe(false);
    // Subscription GUID (36) + resource group (<= 90) + identity name (<= 128) + fixed text.
    expect(ok('0'.repeat(36), 'g'.repeat(90), 'n'.repeat(128)).length).toBeLessThan(512);
  });
});
