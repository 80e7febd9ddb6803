/** The controller's cloud configuration pointing at a running Azure emulator (tests, chaos, tools). */
import type { CloudConfig } from '../../../controller/config/cloud-config.js';
import type { AzureEmulator } from './index.js';

/** A service-principal `CloudConfig` for `subscriptionId`/`resourceGroup` on the emulator's endpoints. */
export function emulatorCloudConfig(azure: AzureEmulator, subscriptionId: string, resourceGroup: string): CloudConfig {
  const env = azure.environmentJson() as { resourceManagerEndpoint: string; activeDirectoryEndpoint: string; tokenAudience: string };
  return {
    source: 'file',
    cloud: 'AzureStackCloud',
    environmentName: 'AzureStackCloud',
    resourceManagerEndpoint: env.resourceManagerEndpoint,
    activeDirectoryEndpoint: env.activeDirectoryEndpoint,
    tokenAudience: env.tokenAudience,
    tenantId: azure.tenantId,
    aadClientId: azure.clientId,
    aadClientSecret: azure.clientSecret,
    subscriptionId,
    resourceGroup,
    useManagedIdentityExtension: false,
    userAssignedIdentityID: '',
    vmType: 'vmss',
  };
}
