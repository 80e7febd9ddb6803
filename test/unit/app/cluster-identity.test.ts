/**
 * The cluster identity (azure.json `userAssignedIdentityID`) is protected in every auth mode, as upstream
 * does, not only when MIC authenticates with it.
 */
import { describe, expect, it } from '@jest/globals';
import { protectedClusterIdentityClientId } from '../../../controller/app/cloud.js';

describe('protectedClusterIdentityClientId', () => {
  it('is userAssignedIdentityID whatever the auth mode, lower-cased', () => {
    expect(protectedClusterIdentityClientId({ userAssignedIdentityID: 'ABCD-1234' })).toBe('abcd-1234');
    expect(protectedClusterIdentityClientId({ userAssignedIdentityID: ' abcd ' })).toBe('abcd');
  });

  it('is empty when azure.json names none', () => {
    expect(protectedClusterIdentityClientId({ userAssignedIdentityID: '' })).toBe('');
  });
});
