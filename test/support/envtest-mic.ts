/**
 * One in-process controller against a real kube-apiserver and the Azure emulator, and the objects the
 * RBAC scenarios create: what the shipped-RBAC and upstream-RBAC suites share.
 */
import { PassThrough } from 'node:stream';
import type { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createAzureCloudProvider } from '../../controller/app/cloud.js';
import { MicApp } from '../../controller/app/mic-app.js';
import { GROUP, PLURALS, VERSION, type AzureAssignedIdentity } from '../../controller/api/types.js';
import { defaultMicOptions, type MicOptions } from '../../controller/config/options.js';
import { createLogger } from '../../controller/observability/logger.js';
import { emulatorCloudConfig } from '../../hack/emulators/azure/cloud-config.js';
import type { AzureEmulator } from '../../hack/emulators/azure/index.js';
import { waitFor } from './wait.js';

/** Creates an AzureIdentity `name` for `resourceID`/`clientID` and a binding `${name}-binding` with `selector`, in `namespace`. */
export async function createIdentityWithBinding(custom: CustomObjectsApi, o: { namespace: string; name: string; resourceID: string; clientID: string; selector: string }): Promise<void> {
  const { namespace, name } = o;
  await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.AzureIdentity,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AzureIdentity', metadata: { name, namespace }, spec: { type: 0, resourceID: o.resourceID, clientID: o.clientID } } });
  await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.AzureIdentityBinding,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AzureIdentityBinding', metadata: { name: `${name}-binding`, namespace }, spec: { azureIdentity: name, selector: o.selector } } });
}

/** Starts one replica (`mic-0`, 3 s lease, no probe servers) as `kc`'s user; its log lines go to `lines`. */
export async function startMicAs(o: { kc: KubeConfig; azure: AzureEmulator; subscriptionId: string; resourceGroup: string; options: Partial<MicOptions>; lines: string[] }): Promise<MicApp> {
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => o.lines.push(...c.toString().split('\n').filter(Boolean)));
  const logger = createLogger({ stream, level: 'info' });
  const mic = new MicApp({
    options: { ...defaultMicOptions({}), leaderElectionInstance: 'mic-0', leaderElectionDurationMs: 3000, httpProbePort: 0, prometheusPort: 0, armBatchWindowMs: 100, ...o.options },
    subscriptionId: o.subscriptionId, resourceGroup: o.resourceGroup, clusterIdentityClientId: '',
    cloud: createAzureCloudProvider(emulatorCloudConfig(o.azure, o.subscriptionId, o.resourceGroup), { logger, updateIntervalInMs: 100 }),
    kc: o.kc, logger, serveProbes: false,
  });
  await mic.start();
  return mic;
}

/** Waits until the cluster holds exactly one AzureAssignedIdentity and it is `Assigned`. */
export async function waitForOneAssigned(custom: CustomObjectsApi): Promise<void> {
  await waitFor(async () => {
    const list = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.AzureAssignedIdentity })) as { items: AzureAssignedIdentity[] };
    return list.items.length === 1 && list.items[0]?.status?.status === 'Assigned';
  }, 'the AzureAssignedIdentity to be Assigned', 30_000);
}

/** Lower-cased user-assigned identity IDs on a VM/VMSS of the emulator. */
export function identitiesOn(azure: AzureEmulator, targetId: string): string[] {
  return azure.controls.getResourceIdentities(targetId).userAssigned.map((s) => s.toLowerCase());
}
