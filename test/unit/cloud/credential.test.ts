import { describe, it, expect } from '@jest/globals';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential } from '@azure/identity';
import {
  aadCredentialOptions,
  armTokenScope,
  createCredential,
  isCredentialConfigError,
  selectAuthMode,
  SwappableCredential,
} from '../../../controller/cloud/credential.js';

const sp = { tenantId: 't', aadClientId: 'c', aadClientSecret: 'hunter2', activeDirectoryEndpoint: 'https://login.example.test/' };
const wi = { tenantId: 't', aadClientId: 'c', aadFederatedTokenFile: '/var/run/token', useFederatedWorkloadIdentityExtension: true };

describe('selectAuthMode (explicit keys only, cloud-provider-azure precedence)', () => {
  it.each<[string, Parameters<typeof selectAuthMode>[0], string]>([
    ['service principal by default', {}, 'service-principal'],
    ['managed identity', { useManagedIdentityExtension: true }, 'managed-identity'],
    ['workload identity', { useFederatedWorkloadIdentityExtension: true }, 'workload-identity'],
    ['workload identity wins over managed identity', { useFederatedWorkloadIdentityExtension: true, useManagedIdentityExtension: true }, 'workload-identity'],
  ])('%s', (_name, cfg, expected) => {
    expect(selectAuthMode(cfg)).toBe(expected);
  });
});

describe('createCredential', () => {
  it('builds a ClientSecretCredential for a service principal', () => {
    expect(createCredential(sp)).toBeInstanceOf(ClientSecretCredential);
  });
  it('builds a ManagedIdentityCredential (system- or user-assigned)', () => {
    expect(createCredential({ ...sp, useManagedIdentityExtension: true })).toBeInstanceOf(ManagedIdentityCredential);
    expect(createCredential({ useManagedIdentityExtension: true, userAssignedIdentityID: 'client-id' })).toBeInstanceOf(ManagedIdentityCredential);
  });
  it('builds a WorkloadIdentityCredential from the cloud config keys alone (no secret needed)', () => {
    expect(createCredential(wi)).toBeInstanceOf(WorkloadIdentityCredential);
  });
  it('names what a mode is missing, without leaking the secret', () => {
    const failure = (cfg: Parameters<typeof createCredential>[0]): Error => {
      try {
        createCredential(cfg);
      } catch (e) {
        expect(isCredentialConfigError(e)).toBe(true);
        return e as Error;
      }
      throw new Error('expected a CredentialConfigError');
    };
    const spError = failure({ aadClientSecret: 'hunter2' });
    expect(spError.message).toBe('service-principal authentication needs tenantId, aadClientId in the cloud config');
    expect(spError.message).not.toContain('hunter2');
    expect(failure({ ...wi, aadFederatedTokenFile: '' }).message).toContain('workload-identity authentication needs aadFederatedTokenFile');
  });
});

describe('aadCredentialOptions', () => {
  it('passes the user agent and authority; skips instance discovery only for AzureStackCloud', () => {
    expect(aadCredentialOptions({ ...sp, environmentName: 'AzurePublicCloud' }, 'aad-pod-identity/MIC/1.0/abc/today extra')).toEqual({
      userAgentOptions: { userAgentPrefix: 'aad-pod-identity/MIC/1.0/abc/today extra' },
      authorityHost: 'https://login.example.test',
    });
    expect(aadCredentialOptions({ ...sp, environmentName: 'AzureStackCloud' })).toEqual({
      authorityHost: 'https://login.example.test',
      disableInstanceDiscovery: true,
    });
  });
});

describe('SwappableCredential', () => {
  const fixed = (token: string): TokenCredential => ({
    getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 60_000 }),
  });
  it('sends token requests to the current delegate', async () => {
    const swappable = new SwappableCredential(fixed('old'));
    expect((await swappable.getToken('scope/.default'))?.token).toBe('old');
    swappable.swap(fixed('new'));
    expect((await swappable.getToken('scope/.default'))?.token).toBe('new');
  });
});

describe('armTokenScope', () => {
  it.each([
    [{}, 'https://management.azure.com/.default'],
    [{ resourceManagerEndpoint: 'https://management.chinacloudapi.cn/' }, 'https://management.chinacloudapi.cn/.default'],
    [{ resourceManagerEndpoint: 'https://arm.local', tokenAudience: 'https://management.core.windows.net/' }, 'https://management.core.windows.net/.default'],
  ])('%j → %s', (cfg, expected) => {
    expect(armTokenScope(cfg)).toBe(expected);
  });
});
