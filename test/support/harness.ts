/**
 * Integration harness: both emulators, the CRDs, a small Azure topology with matching Nodes, and
 * controller replicas run in-process with the real client-node and Azure SDK clients over HTTP(S).
 */
import { emulatorCloudConfig } from '../../hack/emulators/azure/cloud-config.js';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import { startAzureEmulator, vmssInstanceProviderId, vmProviderId, type AzureEmulator } from '../../hack/emulators/azure/index.js';
import { startKubeEmulator, type KubeEmulator } from '../../hack/emulators/kube/index.js';
import { createAzureCloudProvider, createIdentityReader } from '../../controller/app/cloud.js';
import { MicApp } from '../../controller/app/mic-app.js';
import type { CloudConfig } from '../../controller/config/cloud-config.js';
import { defaultMicOptions, type MicOptions } from '../../controller/config/options.js';
import { GROUP, PLURALS, VERSION, type AzureAssignedIdentity } from '../../controller/api/types.js';
import { createLogger, type Logger } from '../../controller/observability/logger.js';
import type { CloudProvider } from '../../controller/cloud/provider.js';
import { waitFor } from './wait.js';

/** Subscription and resource group of the test topology. */
export const SUB = '00000000-0000-0000-0000-000000000001';
export const RG = 'mc_rg_cluster_eastus';
export const VMSS = 'aks-nodepool1-12345678-vmss';

/** Options of {@link startHarness}. */
export interface HarnessOptions {
  /** VMSS name → node names (instance ids 0..n-1). */
  vmss?: Record<string, string[]>;
  /** Standalone VM node names. */
  vms?: string[];
  lroLatencyMs?: number;
  timeScale?: number;
  throttling?: boolean;
}

/** A started environment. */
export interface Harness {
  kube: KubeEmulator;
  azure: AzureEmulator;
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  cloudConfig: CloudConfig;
  /** Every log line of every replica started here (for secret scans). */
  logLines: string[];
  apps: MicApp[];
  startMic(overrides?: Partial<MicOptions> & { name?: string; cloud?: CloudProvider; stopGraceMs?: number; clusterIdentityClientId?: string; identityValidation?: boolean; targetConcurrency?: number }): Promise<MicApp>;
  addIdentity(name: string, opts?: { assignable?: boolean; namespace?: string; type?: number; create?: boolean; clientId?: string }): Promise<{ resourceId: string; clientId: string }>;
  addBinding(name: string, identity: string, selector: string, namespace?: string): Promise<void>;
  addPod(name: string, node: string, selector: string, namespace?: string, opts?: { readinessGate?: boolean }): Promise<void>;
  deletePod(name: string, namespace?: string): Promise<void>;
  listAssigned(): Promise<AzureAssignedIdentity[]>;
  vmssIdentities(name?: string): string[];
  vmIdentities(name: string): string[];
  waitForAssigned(count: number, what?: string, timeoutMs?: number): Promise<AzureAssignedIdentity[]>;
  stop(): Promise<void>;
}

/** Starts both emulators and the topology. */
export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const kube = await startKubeEmulator({ crdDir: path.resolve('crds') });
  const azure = await startAzureEmulator({ lroLatencyMs: o.lroLatencyMs ?? 100, timeScale: o.timeScale, throttling: o.throttling });
  const kc = kube.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const vmss = o.vmss ?? { [VMSS]: ['aks-nodepool1-12345678-vmss000000', 'aks-nodepool1-12345678-vmss000001'] };
  for (const [name, nodes] of Object.entries(vmss)) {
    azure.controls.addVmss(SUB, RG, name, { orchestration: 'Uniform' });
    for (const [i, node] of nodes.entries()) {
      await core.createNode({ body: { metadata: { name: node }, spec: { providerID: vmssInstanceProviderId(SUB, RG, name, String(i)) } } });
    }
  }
  for (const vm of o.vms ?? []) {
    azure.controls.addVm(SUB, RG, vm);
    await core.createNode({ body: { metadata: { name: vm }, spec: { providerID: vmProviderId(SUB, RG, vm) } } });
  }
  const cloudConfig: CloudConfig = emulatorCloudConfig(azure, SUB, RG);
  const logLines: string[] = [];
  const apps: MicApp[] = [];
  let replica = 0;

  const h: Harness = {
    kube,
    azure,
    kc,
    core,
    custom,
    cloudConfig,
    logLines,
    apps,
    async startMic(overrides = {}) {
      const { name, cloud, stopGraceMs, clusterIdentityClientId, identityValidation, targetConcurrency, ...opts } = overrides;
      const identity = name ?? `mic-${replica++}`;
      const stream = new PassThrough();
      stream.on('data', (c: Buffer) => logLines.push(...c.toString().split('\n').filter(Boolean)));
      const logger: Logger = createLogger({ stream, level: 'debug', defaultMeta: { replica: identity } });
      const options: MicOptions = {
        ...defaultMicOptions({}),
        micPodNamespace: 'default',
        leaderElectionInstance: identity,
        leaderElectionDurationMs: 3000,
        httpProbePort: 0,
        prometheusPort: 0,
        armBatchWindowMs: 100,
        ...opts,
      };
      const app = new MicApp({
        options,
        subscriptionId: SUB,
        resourceGroup: RG,
        clusterIdentityClientId: clusterIdentityClientId ?? '',
        cloud: cloud ?? createAzureCloudProvider(cloudConfig, { logger, updateIntervalInMs: 100 }),
        kc,
        logger,
        serveProbes: false,
        stopGraceMs,
        targetConcurrency,
        ...(identityValidation ? { identityReader: createIdentityReader(cloudConfig) } : {}),
      });
      apps.push(app);
      await app.start();
      return app;
    },
    async addIdentity(name, io = {}) {
      const clientId = io.clientId ?? `c1d0${String(name.length).padStart(4, '0')}-0000-0000-0000-${Buffer.from(name).toString('hex').slice(0, 12).padEnd(12, '0')}`;
      const resourceId = io.create === false
        ? `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`
        : azure.controls.addIdentity(SUB, RG, name, { clientId, assignable: io.assignable ?? true });
      await custom.createNamespacedCustomObject({
        group: GROUP, version: VERSION, namespace: io.namespace ?? 'default', plural: PLURALS.AzureIdentity,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AzureIdentity', metadata: { name, namespace: io.namespace ?? 'default' }, spec: { type: io.type ?? 0, resourceID: resourceId, clientID: clientId } },
      });
      return { resourceId, clientId };
    },
    async addBinding(name, identity, selector, namespace = 'default') {
      await custom.createNamespacedCustomObject({
        group: GROUP, version: VERSION, namespace, plural: PLURALS.AzureIdentityBinding,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AzureIdentityBinding', metadata: { name, namespace }, spec: { azureIdentity: identity, selector } },
      });
    },
    async addPod(name, node, selector, namespace = 'default', po = {}) {
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name, namespace, labels: { aadpodidbinding: selector } },
          spec: {
            nodeName: node,
            containers: [{ name: 'app', image: 'busybox' }],
            ...(po.readinessGate ? { readinessGates: [{ conditionType: 'aadpodidentity.k8s.io/identity-ready' }] } : {}),
          },
        },
      });
    },
    async deletePod(name, namespace = 'default') {
      await core.deleteNamespacedPod({ name, namespace });
    },
    async listAssigned() {
      const list = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.AzureAssignedIdentity })) as { items: AzureAssignedIdentity[] };
      return list.items;
    },
    vmssIdentities(name = VMSS) {
      return azure.controls.getResourceIdentities(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`).userAssigned;
    },
    vmIdentities(name) {
      return azure.controls.getResourceIdentities(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${name}`).userAssigned;
    },
    async waitForAssigned(count, what = `${count} Assigned AzureAssignedIdentities`, timeoutMs = 20_000) {
      return waitFor(async () => {
        const items = await h.listAssigned();
        return items.length === count && items.every((a) => a.status?.status === 'Assigned') ? items : undefined;
      }, what, timeoutMs);
    },
    async stop() {
      await Promise.allSettled(apps.map((a) => a.stop()));
      await Promise.allSettled([kube.stop(), azure.stop()]);
    },
  };
  return h;
}
