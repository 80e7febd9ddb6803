/**
 * The controller under exactly the RBAC of config/base (ClusterRole, the ConfigMap Role in MIC's
 * namespace, the lock Role in `default`), bound as the manifests bind it, against a real kube-apiserver
 * that enforces RBAC: it takes both locks where upstream MIC keeps its lock (`default`), assigns an
 * identity, misses no permission, and the lock namespace grants nothing but the lock verbs.
 * Skipped without KUBEBUILDER_ASSETS (see /work/shared/envtest).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AuthorizationV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { MicApp } from '../../../controller/app/mic-app.js';
import { parseFlags } from '../../../controller/config/flags.js';
import { LEADER_ANNOTATION } from '../../../controller/kube/endpoints-lock.js';
import { OWNERSHIP_LABEL } from '../../../controller/reconcile/ownership.js';
import { readyVerdict } from '../../../controller/observability/probes.js';
import { startAzureEmulator, vmssInstanceProviderId, type AzureEmulator } from '../../../hack/emulators/azure/index.js';
import { envtestAssets, forceDeletePod, serviceAccountUser, startEnvtest, type Envtest } from '../../support/envtest.js';
import { createIdentityWithBinding, identitiesOn, startMicAs, waitForOneAssigned } from '../../support/envtest-mic.js';
import { waitFor } from '../../support/wait.js';

const SUB = '00000000-0000-0000-0000-0000000000f1';
const RG = 'mc_envtest_shipped';
const VMSS = 'aks-shipped-vmss';
const NODE = `${VMSS}000000`;
const BASE = path.resolve('config/base');
const RBAC_KINDS = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

type BaseObject = KubernetesObject & { spec?: { template?: { spec?: { containers?: { name: string; args?: string[] }[] } } } };

/** The objects of config/base in its kustomization's order (the base sets no kustomize namespace, so the files are final). */
function baseObjects(): BaseObject[] {
  const [k] = parseAllDocuments(readFileSync(path.join(BASE, 'kustomization.yaml'), 'utf8')).map((d) => d.toJS() as { resources: string[] });
  return (k?.resources ?? []).flatMap((file) => parseAllDocuments(readFileSync(path.join(BASE, file), 'utf8')).map((d) => d.toJS() as BaseObject));
}

const objects = baseObjects();
const serviceAccount = objects.find((o) => o.kind === 'ServiceAccount');
const micNamespace = serviceAccount?.metadata?.namespace ?? '';
const sa = serviceAccountUser(micNamespace, serviceAccount?.metadata?.name ?? '');
const micArgs = objects.find((o) => o.kind === 'Deployment')?.spec?.template?.spec?.containers?.find((c) => c.name === 'mic')?.args ?? [];
/** The Deployment's own flags, as the controller parses them. */
const deployed = parseFlags(micArgs.filter((a) => a.startsWith('--leader-election-')), { MIC_POD_NAMESPACE: micNamespace, HOSTNAME: 'mic-0' });

const assets = envtestAssets();

(assets ? describe : describe.skip)('under the RBAC of config/base on a real kube-apiserver', () => {
  let env: Envtest;
  let azure: AzureEmulator;
  let mic: MicApp | undefined;
  const lines: string[] = [];

  beforeAll(async () => {
    env = await startEnvtest({ users: [sa], crdDir: path.resolve('crds') });
    azure = await startAzureEmulator({ lroLatencyMs: 50 });
    const api = KubernetesObjectApi.makeApiClient(env.kc);
    for (const obj of objects.filter((o) => RBAC_KINDS.has(o.kind ?? ''))) await api.create(obj);
    azure.controls.addVmss(SUB, RG, VMSS, { orchestration: 'Uniform' });
    await env.kc.makeApiClient(CoreV1Api).createNode({ body: { metadata: { name: NODE }, spec: { providerID: vmssInstanceProviderId(SUB, RG, VMSS, '0') } } });
  }, 120_000);

  afterAll(async () => {
    await mic?.stop();
    await azure?.stop();
    await env?.stop();
  });

  it('ships the lock in upstream MIC\'s namespace, apart from MIC\'s own', () => {
    expect(deployed.leaderElectionNamespace).toBe('default');
    expect(deployed.leaderElectionName).toBe('aad-pod-identity-mic');
    expect(micNamespace).toBe('aad-pod-identity');
  });

  it('grants in the lock namespace only get/create/update on endpoints and leases', async () => {
    const authz = env.kc.makeApiClient(AuthorizationV1Api);
    const allowed = async (namespace: string, group: string, resource: string, verb: string): Promise<boolean> => {
      const review = await authz.createSubjectAccessReview({
        body: { spec: { user: sa.name, groups: sa.groups, resourceAttributes: { namespace, group, resource, verb } } },
      });
      return review.status?.allowed === true;
    };
    const lockNs = deployed.leaderElectionNamespace;
    const checks: [string, string, string, string, boolean][] = [
      [lockNs, '', 'endpoints', 'get', true],
      [lockNs, '', 'endpoints', 'create', true],
      [lockNs, '', 'endpoints', 'update', true],
      [lockNs, 'coordination.k8s.io', 'leases', 'get', true],
      [lockNs, 'coordination.k8s.io', 'leases', 'update', true],
      [lockNs, '', 'endpoints', 'list', false],
      [lockNs, '', 'endpoints', 'delete', false],
      [lockNs, 'coordination.k8s.io', 'leases', 'delete', false],
      [lockNs, '', 'configmaps', 'get', false],
      [lockNs, '', 'secrets', 'get', false],
      [lockNs, '', 'services', 'get', false],
      [micNamespace, '', 'configmaps', 'list', true],
      [micNamespace, '', 'endpoints', 'get', false],
      [micNamespace, 'coordination.k8s.io', 'leases', 'get', false],
      ['kube-system', '', 'endpoints', 'get', false],
    ];
    const got = await Promise.all(checks.map(async ([ns, g, r, v]) => [ns, g, r, v, await allowed(ns, g, r, v)] as const));
    expect(got).toEqual(checks);
  });

  it('leads on both locks in the lock namespace, assigns, and misses no permission', async () => {
    const admin = env.kc.makeApiClient(CoreV1Api);
    const custom = env.kc.makeApiClient(CustomObjectsApi);
    const clientID = '00000000-0000-0000-0000-0000000000f2';
    const resourceID = azure.controls.addIdentity(SUB, RG, 'shipped-id', { clientId: clientID });
    await createIdentityWithBinding(custom, { namespace: 'default', name: 'shipped-id', resourceID, clientID, selector: 'shipped' });
    mic = await startMicAs({
      kc: env.kubeConfigFor(sa.name, sa.groups), azure, subscriptionId: SUB, resourceGroup: RG, lines,
      options: { micPodNamespace: micNamespace, leaderElectionNamespace: deployed.leaderElectionNamespace, leaderElectionName: deployed.leaderElectionName },
    });
    await waitFor(() => mic!.active, 'the controller to lead under the shipped RBAC', 30_000);

    const lockNs = deployed.leaderElectionNamespace;
    const ep = await admin.readNamespacedEndpoints({ name: deployed.leaderElectionName, namespace: lockNs });
    expect(JSON.parse(ep.metadata?.annotations?.[LEADER_ANNOTATION] ?? '{}')).toMatchObject({ holderIdentity: 'mic-0' });
    const lease = await env.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: deployed.leaderElectionName, namespace: lockNs });
    expect(lease.spec?.holderIdentity).toBe('mic-0');

    await admin.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'shipped-0', namespace: 'default', labels: { aadpodidbinding: 'shipped' } }, spec: { nodeName: NODE, containers: [{ name: 'app', image: 'busybox' }] } } });
    const vmssId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${VMSS}`;
    await waitForOneAssigned(custom);
    expect(identitiesOn(azure, vmssId)).toContain(resourceID.toLowerCase());
    // The ownership record went to MIC's namespace (the ConfigMap Role), not to the lock namespace.
    const records = await admin.listNamespacedConfigMap({ namespace: micNamespace, labelSelector: OWNERSHIP_LABEL });
    expect(records.items.length).toBeGreaterThan(0);

    await forceDeletePod(env.kc, 'default', 'shipped-0');
    await waitFor(() => !identitiesOn(azure, vmssId).includes(resourceID.toLowerCase()), 'the identity to be removed', 30_000);

    expect(mic.permissions.summary()).toEqual([]);
    expect(readyVerdict(mic.health(), Date.now()).status).toBe(200);
    expect(lines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
  }, 120_000);
});
