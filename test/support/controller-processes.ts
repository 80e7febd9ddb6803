/**
 * Controller processes (`dist/controller/main.js`, built by `make test`) against a Kubernetes API
 * server (the emulator or a real kube-apiserver, see kube-target.ts) and an in-process Azure
 * emulator: writes azure.json / environment.json / the Azure CA, adds VMSS node pools with matching
 * Node objects, and starts replicas with the flags a Deployment would pass.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { startAzureEmulator, vmssInstanceProviderId, type AzureEmulator } from '../../hack/emulators/azure/index.js';
import { Replica, freePort } from '../../hack/demo/replicas.js';
import { GROUP, PLURALS, VERSION, type AzureAssignedIdentity } from '../../controller/api/types.js';
import { REPO_ROOT } from './kube-conformance-env.js';

/** Subscription and resource group of the test topology. */
export const E2E_SUB = '00000000-0000-0000-0000-0000000000e2';
export const E2E_RG = 'mc_e2e_rg';

/** `dist/controller/main.js` of this checkout. */
export const MIC_MAIN = join(REPO_ROOT, 'dist/controller/main.js');

/** The production bundle's entry point, which the image runs (`make build` makes it). */
export const MIC_BUNDLE_MAIN = join(REPO_ROOT, 'dist/bundle/controller/main.js');

/** True when the controller is built (`make build` / `make test`). */
export const MIC_BUILT = existsSync(MIC_MAIN);

/** Options of {@link startControllerEnv}. */
export interface ControllerEnvOptions {
  /** Admin access to the cluster (test setup and assertions). */
  kc: KubeConfig;
  /** The kubeconfig file the replicas use (default: written from `kc`). */
  replicaKubeconfig?: string;
  /** Emulated duration of an ARM identity PATCH (default 100 ms). */
  lroLatencyMs?: number;
}

/** Options of one replica. */
export interface ReplicaOptions {
  /** Lease name (default `aad-pod-identity-mic`); give each test its own to avoid waiting for a dead holder. */
  leaseName?: string;
  /** Lease duration (default 3s). */
  leaseDuration?: string;
  /** MIC's namespace: its ConfigMaps, and the lock unless `lockNamespace` is given (default `default`). */
  namespace?: string;
  /** Namespace of the leader locks (Endpoints record and Lease); default: `namespace`. */
  lockNamespace?: string;
  extraArgs?: string[];
  /** The controller's entry point (default {@link MIC_MAIN}; the image runs {@link MIC_BUNDLE_MAIN}). */
  mainPath?: string;
  /** Overrides of the replica's environment. */
  env?: Record<string, string>;
}

/** A running environment. */
export interface ControllerEnv {
  azure: AzureEmulator;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  dir: string;
  replicas: Replica[];
  /** Adds a VMSS with one Node per name (instance ids 0..n-1). */
  addVmss(name: string, nodes: string[]): Promise<void>;
  /** Adds an Azure identity plus an AzureIdentity and AzureIdentityBinding (selector = name) in `namespace`. */
  addIdentity(name: string, namespace: string, opts?: { assignable?: boolean }): Promise<{ resourceId: string }>;
  /** Adds a pod on `node` labelled for `selector` (optionally with the identity readiness gate). */
  addPod(name: string, namespace: string, node: string, selector: string, opts?: { readinessGate?: boolean }): Promise<void>;
  /** Deletes a pod at once (`gracePeriodSeconds: 0`, as a kubelet would confirm). */
  deletePod(name: string, namespace: string): Promise<void>;
  /** User-assigned identities on a VMSS (lower-case resource IDs as ARM returns them). */
  vmssIdentities(name: string): string[];
  /** AzureAssignedIdentities for pods of `podNamespace`. */
  assigned(podNamespace: string): Promise<AzureAssignedIdentity[]>;
  /** The Lease holder, if any. */
  leaseHolder(name: string, namespace?: string): Promise<string | undefined>;
  startReplica(name: string, o?: ReplicaOptions): Promise<Replica>;
  /** Every log line of `replica` so far. */
  logs(replica: Replica): Promise<string[]>;
  stop(): Promise<void>;
}

/** Starts the Azure emulator and writes the files the replicas read. */
export async function startControllerEnv(o: ControllerEnvOptions): Promise<ControllerEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'mic-e2e-'));
  const azure = await startAzureEmulator({ lroLatencyMs: o.lroLatencyMs ?? 100 });
  const files = { azureJson: join(dir, 'azure.json'), environment: join(dir, 'environment.json'), ca: join(dir, 'ca.pem'), kubeconfig: join(dir, 'kubeconfig') };
  await writeFile(files.azureJson, JSON.stringify({
    cloud: 'AzureStackCloud', tenantId: azure.tenantId, subscriptionId: E2E_SUB, resourceGroup: E2E_RG,
    aadClientId: azure.clientId, aadClientSecret: azure.clientSecret, useManagedIdentityExtension: false,
    userAssignedIdentityID: '', vmType: 'vmss', location: 'eastus',
  }), { mode: 0o600 });
  await writeFile(files.environment, JSON.stringify(azure.environmentJson()));
  await writeFile(files.ca, azure.caPem);
  const replicaKubeconfig = o.replicaKubeconfig ?? files.kubeconfig;
  if (!o.replicaKubeconfig) await writeFile(files.kubeconfig, o.kc.exportConfig(), { mode: 0o600 });
  const core = o.kc.makeApiClient(CoreV1Api);
  const custom = o.kc.makeApiClient(CustomObjectsApi);
  const leases = o.kc.makeApiClient(CoordinationV1Api);
  const replicas: Replica[] = [];
  const killAll = (): void => replicas.forEach((r) => r.killNow());
  process.once('exit', killAll);

  const env: ControllerEnv = {
    azure,
    core,
    custom,
    dir,
    replicas,
    async addVmss(name, nodes) {
      azure.controls.addVmss(E2E_SUB, E2E_RG, name, { orchestration: 'Uniform' });
      for (const [i, node] of nodes.entries()) {
        await core.createNode({ body: { metadata: { name: node }, spec: { providerID: vmssInstanceProviderId(E2E_SUB, E2E_RG, name, String(i)) } } });
      }
    },
    async addIdentity(name, namespace, io = {}) {
      const clientId = `c1d00000-0000-0000-0000-${Buffer.from(name).toString('hex').slice(0, 12).padEnd(12, '0')}`;
      const resourceId = azure.controls.addIdentity(E2E_SUB, E2E_RG, name, { clientId, assignable: io.assignable ?? true });
      const create = (plural: string, body: object) => custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, body });
      await create(PLURALS.AzureIdentity, { apiVersion: `${GROUP}/${VERSION}`, kind: 'AzureIdentity', metadata: { name, namespace }, spec: { type: 0, resourceID: resourceId, clientID: clientId } });
      await create(PLURALS.AzureIdentityBinding, { apiVersion: `${GROUP}/${VERSION}`, kind: 'AzureIdentityBinding', metadata: { name: `${name}-binding`, namespace }, spec: { azureIdentity: name, selector: name } });
      return { resourceId };
    },
    async addPod(name, namespace, node, selector, po = {}) {
      const gate = po.readinessGate ? { readinessGates: [{ conditionType: 'aadpodidentity.k8s.io/identity-ready' }] } : {};
      await core.createNamespacedPod({ namespace, body: { metadata: { name, namespace, labels: { aadpodidbinding: selector } }, spec: { nodeName: node, containers: [{ name: 'app', image: 'busybox' }], ...gate } } });
    },
    async deletePod(name, namespace) {
      await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
    },
    vmssIdentities(name) {
      return azure.controls.getResourceIdentities(`/subscriptions/${E2E_SUB}/resourceGroups/${E2E_RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`).userAssigned.map((id) => id.toLowerCase());
    },
    async assigned(podNamespace) {
      const list = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.AzureAssignedIdentity })) as { items: AzureAssignedIdentity[] };
      return list.items.filter((a) => a.spec.podNamespace === podNamespace);
    },
    async leaseHolder(name, namespace = 'default') {
      try {
        return (await leases.readNamespacedLease({ name, namespace })).spec?.holderIdentity || undefined;
      } catch {
        return undefined;
      }
    },
    async startReplica(name, ro = {}) {
      const probePort = await freePort();
      const args = [
        '--kubeconfig', replicaKubeconfig,
        '--cloudconfig', files.azureJson,
        '--leader-election-instance', name,
        '--leader-election-name', ro.leaseName ?? 'aad-pod-identity-mic',
        '--leader-election-namespace', ro.lockNamespace ?? ro.namespace ?? 'default',
        '--leader-election-duration', ro.leaseDuration ?? '3s',
        '--http-probe-port', String(probePort),
        '--prometheus-port', String(await freePort()),
        '--log-format', 'json',
        '--arm-batch-window', '100ms',
        '-v', '4',
        ...(ro.extraArgs ?? []),
      ];
      const replica = await Replica.start({
        name,
        nodePath: process.execPath,
        mainPath: ro.mainPath ?? MIC_MAIN,
        args,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? dir,
          NODE_EXTRA_CA_CERTS: files.ca,
          AZURE_ENVIRONMENT_FILEPATH: files.environment,
          AZURE_POD_IDENTITY_AUTHORITY_HOST: azure.imdsUrl,
          MIC_POD_NAMESPACE: ro.namespace ?? 'default',
          ...ro.env,
        },
        logFile: join(dir, `${name}.log`),
        probePort,
      });
      replicas.push(replica);
      return replica;
    },
    async logs(replica) {
      return replica.tail(1_000_000);
    },
    async stop() {
      process.removeListener('exit', killAll);
      await Promise.allSettled(replicas.map((r) => r.stop(3000)));
      await azure.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return env;
}
