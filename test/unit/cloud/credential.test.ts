import { describe, it, expect } from '@jest/globals';
import { ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential } from '@azure/identity';
import { armTokenScope, createCredential, isCredentialConfigError, selectAuthMode } from '../../../controller/cloud/credential.js';

const sp = { tenantId: 't', aadClientId: 'c', aadClientSecret: 'hunter2', activeDirectoryEndpoint: 'https://login.example.test/' };

describe('selectAuthMode', () => {
  it.each<[string, Parameters<typeof selectAuthMode>[0], NodeJS.ProcessEnv, string]>([
    ['service principal', sp, {}, 'service-principal'],
    ['MSI wins over SP fields (AKS writes msi/msi)', { ...sp, aadClientId: 'msi', aadClientSecret: 'msi', useManagedIdentityExtension: true }, {}, 'managed-identity'],
    ['MSI wins over workload identity', { useManagedIdentityExtension: true }, { AZURE_FEDERATED_TOKEN_FILE: '/t' }, 'managed-identity'],
    ['workload identity when the token file is set', sp, { AZURE_FEDERATED_TOKEN_FILE: '/var/run/token' }, 'workload-identity'],
  ])('%s', (_name, cfg, env, expected) => {
    expect(selectAuthMode(cfg, env)).toBe(expected);
  });

  it('names the missing SP fields without leaking the secret', () => {
    let error: unknown;
    try {
      selectAuthMode({ aadClientSecret: 'hunter2' }, {});
    } catch (e) {
      error = e;
    }
    expect(isCredentialConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('tenantId, aadClientId');
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('createCredential', () => {
  it('builds a ClientSecretCredential for a service principal', () => {
    expect(createCredential(sp, { env: {} })).toBeInstanceOf(ClientSecretCredential);
  });
  it('builds a ManagedIdentityCredential (system- or user-assigned)', () => {
    expect(createCredential({ useManagedIdentityExtension: true }, { env: {} })).toBeInstanceOf(ManagedIdentityCredential);
    expect(createCredential({ useManagedIdentityExtension: true, userAssignedIdentityID: 'client-id' }, { env: {} })).toBeInstanceOf(
      ManagedIdentityCredential,
    );
  });
  it('builds a WorkloadIdentityCredential from the federated token environment', () => {
    const env = { AZURE_FEDERATED_TOKEN_FILE: '/var/run/token', AZURE_CLIENT_ID: 'c', AZURE_TENANT_ID: 't' };
    expect(createCredential({}, { env })).toBeInstanceOf(WorkloadIdentityCredential);
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
