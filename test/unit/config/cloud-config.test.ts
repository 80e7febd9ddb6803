import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clusterIdentityClientId,
  loadCloudConfig,
  redactClientId,
  redactCloudConfig,
  type CloudConfig,
} from '../../../controller/config/cloud-config.js';
import { isConfigError } from '../../../controller/config/errors.js';
import { serializeError } from '../../../controller/observability/logger.js';

const SECRET = 'Sup3r~Secret.Value_42';
const CLIENT_ID = '11111111-2222-3333-4444-555555555555';
const dir = mkdtempSync(join(tmpdir(), 'mic-cloud-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function file(content: string): string {
  const path = join(dir, `f${fileCounter++}.json`);
  writeFileSync(path, content);
  return path;
}
const json = (obj: Record<string, unknown>): string => file(JSON.stringify(obj, null, '\t'));

const SP_FILE = {
  cloud: 'AzurePublicCloud',
  tenantId: 'tenant-1',
  aadClientId: CLIENT_ID,
  aadClientSecret: SECRET,
  subscriptionId: 'sub-1',
  resourceGroup: 'MC_rg_aks_westeurope',
  location: 'westeurope',
  vmType: 'vmss',
  primaryScaleSetName: 'aks-nodepool1-vmss',
  cloudProviderBackoff: true,
  cloudProviderRateLimitQPS: 10,
  useManagedIdentityExtension: false,
  userAssignedIdentityID: '',
};

/** Loads and returns the ConfigError, asserting it is one line and never leaks the secret. */
function configError(path: string | undefined, env: NodeJS.ProcessEnv = {}): string {
  let caught: unknown;
  try {
    loadCloudConfig(path, env);
  } catch (e) {
    caught = e;
  }
  if (!isConfigError(caught)) throw new Error(`expected ConfigError, got ${String(caught)}`);
  expect(caught.message).not.toContain('\n');
  expect(JSON.stringify(serializeError(caught))).not.toContain(SECRET);
  expect(JSON.stringify(serializeError(caught))).not.toContain('Sup3r');
  return caught.message;
}

describe('loadCloudConfig from a file', () => {
  it('reads an AKS-style azure.json (tab-indented JSON, extra keys ignored) in service principal mode', () => {
    const config = loadCloudConfig(json(SP_FILE), {});
    expect(config).toMatchObject({
      source: 'file',
      cloud: 'AzurePublicCloud',
      environmentName: 'AzurePublicCloud',
      resourceManagerEndpoint: 'https://management.azure.com/',
      activeDirectoryEndpoint: 'https://login.microsoftonline.com/',
      tokenAudience: 'https://management.azure.com/',
      tenantId: 'tenant-1',
      aadClientId: CLIENT_ID,
      aadClientSecret: SECRET,
      subscriptionId: 'sub-1',
      resourceGroup: 'MC_rg_aks_westeurope',
      useManagedIdentityExtension: false,
      userAssignedIdentityID: '',
      vmType: 'vmss',
    } satisfies Partial<CloudConfig>);
    expect(clusterIdentityClientId(config)).toBe('');
  });

  it('reads YAML, and MSI mode needs no service principal (AKS writes msi/msi)', () => {
    const path = file(
      ['cloud: AzureChinaCloud', 'subscriptionId: sub-2', 'resourceGroup: rg', 'aadClientId: msi', 'aadClientSecret: msi',
        'useManagedIdentityExtension: true', `userAssignedIdentityID: ${CLIENT_ID}`].join('\n'),
    );
    const config = loadCloudConfig(path, {});
    expect(config).toMatchObject({
      environmentName: 'AzureChinaCloud',
      resourceManagerEndpoint: 'https://management.chinacloudapi.cn/',
      useManagedIdentityExtension: true,
      userAssignedIdentityID: CLIENT_ID,
    });
    expect(clusterIdentityClientId(config)).toBe(CLIENT_ID);
    const systemAssigned = loadCloudConfig(json({ cloud: 'AzurePublicCloud', subscriptionId: 's', resourceGroup: 'rg', useManagedIdentityExtension: true }), {});
    expect(clusterIdentityClientId(systemAssigned)).toBe('');
  });

  it('treats JSON with a trailing comma via the YAML fallback', () => {
    const path = file(`{"cloud": "AzurePublicCloud", "subscriptionId": "s", "resourceGroup": "rg", "useManagedIdentityExtension": true,}`);
    expect(loadCloudConfig(path, {}).subscriptionId).toBe('s');
  });

  it.each([
    ['AzurePublicCloud', 'https://management.azure.com/', 'https://login.microsoftonline.com/'],
    ['azurecloud', 'https://management.azure.com/', 'https://login.microsoftonline.com/'],
    ['AZURECHINACLOUD', 'https://management.chinacloudapi.cn/', 'https://login.chinacloudapi.cn/'],
    ['AzureUSGovernmentCloud', 'https://management.usgovcloudapi.net/', 'https://login.microsoftonline.us/'],
    ['AzureUSGovernment', 'https://management.usgovcloudapi.net/', 'https://login.microsoftonline.us/'],
    ['AzureGermanCloud', 'https://management.microsoftazure.de/', 'https://login.microsoftonline.de/'],
  ])('resolves cloud %s case-insensitively', (cloud, arm, aad) => {
    const config = loadCloudConfig(json({ ...SP_FILE, cloud }), {});
    expect(config).toMatchObject({ resourceManagerEndpoint: arm, activeDirectoryEndpoint: aad, tokenAudience: arm });
  });

  it('reads AzureStackCloud endpoints from AZURE_ENVIRONMENT_FILEPATH (the emulator path)', () => {
    const envFile = json({ name: 'AzureEmulator', resourceManagerEndpoint: 'https://127.0.0.1:8443', activeDirectoryEndpoint: 'https://127.0.0.1:8443/aad//' });
    const config = loadCloudConfig(json({ ...SP_FILE, cloud: 'AzureStackCloud' }), { AZURE_ENVIRONMENT_FILEPATH: envFile });
    expect(config).toMatchObject({
      cloud: 'AzureStackCloud',
      environmentName: 'AzureEmulator',
      resourceManagerEndpoint: 'https://127.0.0.1:8443/',
      activeDirectoryEndpoint: 'https://127.0.0.1:8443/aad/',
      tokenAudience: 'https://127.0.0.1:8443/',
    });
    const withAudience = json({ resourceManagerEndpoint: 'https://arm.stack.local/', activeDirectoryEndpoint: 'https://login.stack.local/', tokenAudience: 'https://audience.stack.local/' });
    expect(loadCloudConfig(json({ ...SP_FILE, cloud: 'azurestackcloud' }), { AZURE_ENVIRONMENT_FILEPATH: withAudience })).toMatchObject({
      environmentName: 'AzureStackCloud',
      tokenAudience: 'https://audience.stack.local/',
    });
  });

  it('allows plain http endpoints only on loopback hosts', () => {
    const loopback = json({ resourceManagerEndpoint: 'http://localhost:9000', activeDirectoryEndpoint: 'http://127.0.0.1:9001' });
    expect(loadCloudConfig(json({ ...SP_FILE, cloud: 'AzureStackCloud' }), { AZURE_ENVIRONMENT_FILEPATH: loopback }).resourceManagerEndpoint).toBe(
      'http://localhost:9000/',
    );
    const remote = json({ resourceManagerEndpoint: 'http://arm.example.com', activeDirectoryEndpoint: 'https://login.example.com' });
    expect(configError(json({ ...SP_FILE, cloud: 'AzureStackCloud' }), { AZURE_ENVIRONMENT_FILEPATH: remote })).toContain(
      'key "resourceManagerEndpoint" must use https',
    );
  });
});

describe('loadCloudConfig errors (never leaking the secret)', () => {
  it('names an unreadable file and its error code', () => {
    const missing = join(dir, 'nope.json');
    expect(configError(missing)).toBe(`cannot read cloud config file ${missing}: ENOENT`);
    expect(configError(dir)).toContain('EISDIR');
  });

  it.each([
    ['broken JSON that is not YAML either', `{"aadClientSecret": "${SECRET}", "cloud": [}`],
    ['YAML error on the secret line', `cloud: AzurePublicCloud\naadClientSecret: ${SECRET}: extra\n`],
    ['bad indentation', `cloud: x\n  aadClientSecret: ${SECRET}\n bad: [`],
    ['duplicate keys', `aadClientSecret: ${SECRET}\naadClientSecret: other\n`],
  ])('invalid syntax (%s) names the file and position, not the content', (_label, content) => {
    const path = file(content);
    expect(configError(path)).toMatch(new RegExp(`^cloud config ${path} is not valid JSON or YAML \\(line \\d+, column \\d+\\)$`, 'u'));
  });

  it('points at the line of a syntax error', () => {
    expect(configError(file(`cloud: AzurePublicCloud\naadClientSecret: ${SECRET}: extra\n`))).toContain('(line 2, column');
  });

  it('rejects an empty file and a non-object document', () => {
    expect(configError(file(''))).toContain('is empty');
    expect(configError(file('[1, 2]'))).toContain('must contain an object');
    expect(configError(file(SECRET))).toContain('must contain an object');
  });

  it('names keys with wrong types without quoting their values', () => {
    expect(configError(json({ ...SP_FILE, aadClientSecret: 12345 }))).toContain('key "aadClientSecret" must be a string');
    expect(configError(json({ ...SP_FILE, subscriptionId: ['x'] }))).toContain('key "subscriptionId" must be a string');
    expect(configError(json({ ...SP_FILE, useManagedIdentityExtension: 'true' }))).toContain('key "useManagedIdentityExtension" must be true or false');
  });

  it('requires a known cloud', () => {
    expect(configError(json({ ...SP_FILE, cloud: '' }))).toContain('key "cloud" is required');
    expect(configError(json({ ...SP_FILE, cloud: undefined }))).toContain('key "cloud" is required');
    expect(configError(json({ ...SP_FILE, cloud: 'MarsCloud' }))).toContain('unknown cloud "MarsCloud" in key "cloud" (expected one of AzurePublicCloud');
  });

  it('requires subscriptionId and resourceGroup', () => {
    expect(configError(json({ ...SP_FILE, subscriptionId: '', resourceGroup: ' ' }))).toContain('key "subscriptionId" and key "resourceGroup" required');
    expect(configError(json({ ...SP_FILE, resourceGroup: undefined }))).toContain('key "resourceGroup" required');
  });

  it('requires tenantId, aadClientId and aadClientSecret in service principal mode', () => {
    const message = configError(json({ ...SP_FILE, tenantId: '', aadClientSecret: '' }));
    expect(message).toContain('service principal authentication needs key "tenantId", key "aadClientSecret"');
    expect(message).toContain('useManagedIdentityExtension');
    expect(configError(json({ ...SP_FILE, aadClientId: undefined }))).toContain('key "aadClientId"');
  });

  it('accepts a workload-identity azure.json without aadClientSecret (cloud-provider-azure keys)', () => {
    const { aadClientSecret: _secret, ...noSecret } = SP_FILE;
    const config = loadCloudConfig(json({ ...noSecret, useFederatedWorkloadIdentityExtension: true, aadFederatedTokenFile: '/var/run/secrets/azure/tokens/azure-identity-token' }), {});
    expect(config).toMatchObject({
      useFederatedWorkloadIdentityExtension: true,
      aadFederatedTokenFile: '/var/run/secrets/azure/tokens/azure-identity-token',
      aadClientId: CLIENT_ID,
      tenantId: 'tenant-1',
      aadClientSecret: '',
    });
  });

  it('fills empty workload-identity values from the webhook variables; the file wins where set', () => {
    const env = { AZURE_CLIENT_ID: 'env-client', AZURE_TENANT_ID: 'env-tenant', AZURE_FEDERATED_TOKEN_FILE: '/env/token' };
    const filled = loadCloudConfig(json({ cloud: 'AzurePublicCloud', subscriptionId: 's', resourceGroup: 'rg', useFederatedWorkloadIdentityExtension: true }), env);
    expect(filled).toMatchObject({ aadClientId: 'env-client', tenantId: 'env-tenant', aadFederatedTokenFile: '/env/token' });
    const explicit = loadCloudConfig(json({ ...SP_FILE, useFederatedWorkloadIdentityExtension: true, aadFederatedTokenFile: '/file/token' }), env);
    expect(explicit).toMatchObject({ aadClientId: CLIENT_ID, tenantId: 'tenant-1', aadFederatedTokenFile: '/file/token' });
  });

  it('never switches a service-principal azure.json to workload identity because of injected variables', () => {
    const env = { AZURE_CLIENT_ID: 'env-client', AZURE_TENANT_ID: 'env-tenant', AZURE_FEDERATED_TOKEN_FILE: '/env/token' };
    const config = loadCloudConfig(json(SP_FILE), env);
    expect(config.useFederatedWorkloadIdentityExtension).toBe(false);
    expect(config).toMatchObject({ aadClientId: CLIENT_ID, tenantId: 'tenant-1', aadFederatedTokenFile: '' });
    // Without SP keys the file is rejected, and the message says which key selects workload identity.
    const { aadClientSecret: _secret, ...noSecret } = SP_FILE;
    expect(configError(json(noSecret), env)).toContain('key "useFederatedWorkloadIdentityExtension" to true for workload identity');
  });

  it('names what workload identity mode is missing, with the variable that could supply it', () => {
    const message = configError(json({ cloud: 'AzurePublicCloud', subscriptionId: 's', resourceGroup: 'rg', useFederatedWorkloadIdentityExtension: true }));
    expect(message).toContain('workload identity authentication needs key "tenantId" (or AZURE_TENANT_ID), key "aadClientId" (or AZURE_CLIENT_ID), key "aadFederatedTokenFile" (or AZURE_FEDERATED_TOKEN_FILE)');
    expect(configError(json({ ...SP_FILE, useFederatedWorkloadIdentityExtension: 'yes' }))).toContain('key "useFederatedWorkloadIdentityExtension" must be true or false');
  });

  it('reports AzureStackCloud environment-file problems', () => {
    const stack = json({ ...SP_FILE, cloud: 'AzureStackCloud' });
    expect(configError(stack, {})).toContain('needs environment variable AZURE_ENVIRONMENT_FILEPATH');
    expect(configError(stack, { AZURE_ENVIRONMENT_FILEPATH: join(dir, 'missing-env.json') })).toContain('ENOENT');
    expect(configError(stack, { AZURE_ENVIRONMENT_FILEPATH: file(`{"secret": "${SECRET}",`) })).toContain('is not valid JSON');
    expect(configError(stack, { AZURE_ENVIRONMENT_FILEPATH: json({ activeDirectoryEndpoint: 'https://a/' }) })).toContain(
      'key "resourceManagerEndpoint" is required',
    );
    expect(configError(stack, { AZURE_ENVIRONMENT_FILEPATH: json({ resourceManagerEndpoint: 'not a url', activeDirectoryEndpoint: 'https://a/' }) })).toContain(
      'is not an absolute URL',
    );
    expect(configError(stack, { AZURE_ENVIRONMENT_FILEPATH: json({ resourceManagerEndpoint: 'https://a/?x=1', activeDirectoryEndpoint: 'https://a/' }) })).toContain(
      'must not have a query or fragment',
    );
  });
});

describe('loadCloudConfig from the environment', () => {
  const ENV = {
    CLOUD: 'AzurePublicCloud',
    TENANT_ID: ' tenant-1 ',
    CLIENT_ID: CLIENT_ID,
    CLIENT_SECRET: ` ${SECRET}`,
    SUBSCRIPTION_ID: 'sub-1\n',
    RESOURCE_GROUP: 'rg',
    VM_TYPE: 'vmss',
  };

  it('reads every variable when the path is empty or undefined (secret kept byte-for-byte, IDs trimmed)', () => {
    for (const path of [undefined, '', '  ']) {
      expect(loadCloudConfig(path, ENV)).toMatchObject({
        source: 'env',
        tenantId: 'tenant-1',
        aadClientId: CLIENT_ID,
        aadClientSecret: ` ${SECRET}`,
        subscriptionId: 'sub-1',
        resourceGroup: 'rg',
        vmType: 'vmss',
        useManagedIdentityExtension: false,
        resourceManagerEndpoint: 'https://management.azure.com/',
      });
    }
  });

  it('USE_MSI=true (any case) selects managed identity with USER_ASSIGNED_MSI_CLIENT_ID', () => {
    const config = loadCloudConfig('', { CLOUD: 'AzureCloud', SUBSCRIPTION_ID: 's', RESOURCE_GROUP: 'rg', USE_MSI: 'True', USER_ASSIGNED_MSI_CLIENT_ID: CLIENT_ID });
    expect(config.useManagedIdentityExtension).toBe(true);
    expect(clusterIdentityClientId(config)).toBe(CLIENT_ID);
    expect(loadCloudConfig('', { ...ENV, USE_MSI: 'yes' }).useManagedIdentityExtension).toBe(false);
  });

  it('USE_FEDERATED_WORKLOAD_IDENTITY_EXTENSION=true selects workload identity without a secret', () => {
    const config = loadCloudConfig('', {
      CLOUD: 'AzurePublicCloud', SUBSCRIPTION_ID: 's', RESOURCE_GROUP: 'rg', TENANT_ID: 't', CLIENT_ID: CLIENT_ID,
      USE_FEDERATED_WORKLOAD_IDENTITY_EXTENSION: 'true', AZURE_FEDERATED_TOKEN_FILE: '/env/token',
    });
    expect(config).toMatchObject({ useFederatedWorkloadIdentityExtension: true, aadFederatedTokenFile: '/env/token', aadClientSecret: '' });
  });

  it('names environment variables in errors', () => {
    expect(configError('', { ...ENV, CLOUD: '' })).toBe('cloud config from environment: environment variable CLOUD is required');
    expect(configError('', { ...ENV, CLIENT_SECRET: '' })).toContain('environment variable CLIENT_SECRET');
    expect(configError('', { ...ENV, RESOURCE_GROUP: undefined })).toContain('environment variable RESOURCE_GROUP required');
  });
});

describe('redaction', () => {
  it('redacts the secret and partially redacts client IDs like upstream', () => {
    const redacted = redactCloudConfig(loadCloudConfig(json({ ...SP_FILE, useManagedIdentityExtension: true, userAssignedIdentityID: CLIENT_ID }), {}));
    const text = JSON.stringify(redacted);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(CLIENT_ID);
    expect(redacted.aadClientSecret).toBe('[REDACTED]');
    expect(redacted.aadClientId).toBe('1111##### REDACTED #####5555');
    expect(redacted.userAssignedIdentityID).toBe('1111##### REDACTED #####5555');
    expect(redacted.subscriptionId).toBe('sub-1');
  });

  it('keeps short client IDs (e.g. "msi") and an empty secret as is', () => {
    expect(redactClientId('msi')).toBe('msi');
    expect(redactClientId('')).toBe('');
    expect(redactClientId('abcdefgh')).toBe('abcd##### REDACTED #####efgh');
    const config = loadCloudConfig(json({ cloud: 'AzurePublicCloud', subscriptionId: 's', resourceGroup: 'rg', useManagedIdentityExtension: true }), {});
    expect(redactCloudConfig(config).aadClientSecret).toBe('');
  });
});
