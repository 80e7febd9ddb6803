import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { authModeFields, logAuthMode } from '../../../controller/app/cloud.js';
import type { CloudConfig } from '../../../controller/config/cloud-config.js';
import { createLogger } from '../../../controller/observability/logger.js';

const SECRET = 'Sup3r~Secret.Value_42';
const sp: CloudConfig = {
  source: 'file',
  path: '/etc/kubernetes/azure.json',
  cloud: 'AzurePublicCloud',
  environmentName: 'AzurePublicCloud',
  resourceManagerEndpoint: 'https://management.azure.com/',
  activeDirectoryEndpoint: 'https://login.microsoftonline.com/',
  tokenAudience: 'https://management.azure.com/',
  tenantId: 'tenant-1',
  aadClientId: '11111111-2222-3333-4444-555555555555',
  aadClientSecret: SECRET,
  subscriptionId: 'sub',
  resourceGroup: 'rg',
  useManagedIdentityExtension: false,
  userAssignedIdentityID: '',
  vmType: 'vmss',
};
const wiEnv = { AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token', AZURE_CLIENT_ID: 'other' };

function capture(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)));
  return { logger: createLogger({ stream }), lines };
}

describe('authModeFields / logAuthMode', () => {
  it('names the mode and redacted client ID, never the secret', () => {
    expect(authModeFields(sp, {})).toEqual({
      authMode: 'service-principal',
      cloud: 'AzurePublicCloud',
      tenantId: 'tenant-1',
      clientId: '1111##### REDACTED #####5555',
    });
    expect(authModeFields({ ...sp, useManagedIdentityExtension: true }, {})).toEqual({
      authMode: 'managed-identity',
      cloud: 'AzurePublicCloud',
      userAssignedIdentityID: '(system-assigned)',
    });
    expect(authModeFields({ ...sp, aadClientSecret: '', useFederatedWorkloadIdentityExtension: true, aadFederatedTokenFile: '/t' }, wiEnv).authMode).toBe(
      'workload-identity',
    );
  });

  it('logs the mode once and warns when injected workload-identity variables are ignored', async () => {
    const { logger, lines } = capture();
    logAuthMode(logger, sp, wiEnv);
    await new Promise<void>((resolve) => logger.on('finish', resolve).end());
    expect(lines.map((l) => l.message)).toEqual([
      'Azure authentication configured',
      'Workload identity environment variables are ignored: the cloud config does not set useFederatedWorkloadIdentityExtension',
    ]);
    expect(lines[0]).toMatchObject({ authMode: 'service-principal', workloadIdentityEnvIgnored: true });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });
});
