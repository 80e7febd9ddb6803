/**
 * The controller under exactly upstream MIC's ClusterRole (upstream-mic.md §6), bound to its
 * ServiceAccount, against a real kube-apiserver that enforces RBAC: it leads through the Endpoints
 * lock alone, assigns and unassigns, and reports what upstream's role lacks. Skipped without
 * KUBEBUILDER_ASSETS (see /work/shared/envtest).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import type { MicApp } from '../../../controller/app/mic-app.js';
import { GROUP, PLURALS, VERSION } from '../../../controller/api/types.js';
import { LEADER_ANNOTATION } from '../../../controller/kube/endpoints-lock.js';
import { readyVerdict } from '../../../controller/observability/probes.js';
import { startAzureEmulator, vmssInstanceProviderId, type AzureEmulator } from '../../../hack/emulators/azure/index.js';
import { envtestAssets, forceDeletePod, serviceAccountUser, startEnvtest, type Envtest } from '../../support/envtest.js';
import { createIdentityWithBinding, identitiesOn, startMicAs, waitForOneAssigned } from '../../support/envtest-mic.js';
import { waitFor } from '../../support/wait.js';

const SUB = '00000000-0000-0000-0000-0000000000e1';
const RG = 'mc_envtest';
const VMSS = 'aks-pool-vmss';
const NODES = [`${VMSS}000000`, `${VMSS}000001`];
const sa = serviceAccountUser('default', 'aad-pod-id-mic-service-account');

/** Upstream's ClusterRole `aad-pod-id-mic-role`, verbatim (including the non-verb `post`). */
const UPSTREAM_RULES: V1PolicyRule[] = [
  { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['*'] },
  { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update'] },
  { apiGroups: [''], resources: ['endpoints'], verbs: ['create', 'get', 'update'] },
  { apiGroups: ['aadpodidentity.k8s.io'], resources: ['azureidentitybindings', 'azureidentities'], verbs: ['get', 'list', 'watch', 'post', 'update'] },
  { apiGroups: ['aadpodidentity.k8s.io'], resources: ['azurepodidentityexceptions'], verbs: ['list', 'update'] },
  { apiGroups: ['aadpodidentity.k8s.io'], resources: ['azureassignedidentities'], verbs: ['*'] },
];

const assets = envtestAssets();

(assets ? describe : describe.skip)('under upstream MIC ClusterRole on a real kube-apiserver', () => {
  let env: Envtest;
  let azure: AzureEmulator;
  let mic: MicApp | undefined;
  const lines: string[] = [];

  beforeAll(async () => {
    env = await startEnvtest({ users: [sa], crdDir: path.resolve('crds') });
    azure = await startAzureEmulator({ lroLatencyMs: 50 });
    const rbac = env.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({ body: { metadata: { name: 'aad-pod-id-mic-role' }, rules: UPSTREAM_RULES } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'aad-pod-id-mic-binding' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'aad-pod-id-mic-role' },
        subjects: [{ kind: 'ServiceAccount', name: 'aad-pod-id-mic-service-account', namespace: 'default' }],
      },
    });
    const core = env.kc.makeApiClient(CoreV1Api);
    azure.controls.addVmss(SUB, RG, VMSS, { orchestration: 'Uniform' });
    for (const [i, name] of NODES.entries()) {
      await core.createNode({ body: { metadata: { name }, spec: { providerID: vmssInstanceProviderId(SUB, RG, VMSS, String(i)) } } });
    }
  }, 120_000);

  afterAll(async () => {
    await mic?.stop();
    await azure?.stop();
    await env?.stop();
  });

  it('leads on the Endpoints lock, assigns and unassigns, and names what the role lacks', async () => {
    const admin = env.kc.makeApiClient(CoreV1Api);
    const custom = env.kc.makeApiClient(CustomObjectsApi);
    const clientID = '00000000-0000-0000-0000-0000000000e2';
    const resourceID = azure.controls.addIdentity(SUB, RG, 'app-id', { clientId: clientID });
    await createIdentityWithBinding(custom, { namespace: 'default', name: 'app-id', resourceID, clientID, selector: 'app' });
    mic = await startMicAs({
      kc: env.kubeConfigFor(sa.name, sa.groups), azure, subscriptionId: SUB, resourceGroup: RG, lines,
      options: { micPodNamespace: 'default', leaderElectionNamespace: 'default' },
    });
    await waitFor(() => mic!.active, 'the controller to lead under upstream RBAC', 30_000);

    const ep = await admin.readNamespacedEndpoints({ name: 'aad-pod-identity-mic', namespace: 'default' });
    expect(JSON.parse(ep.metadata?.annotations?.[LEADER_ANNOTATION] ?? '{}')).toMatchObject({ holderIdentity: 'mic-0' });
    await expect(env.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'aad-pod-identity-mic', namespace: 'default' })).rejects.toMatchObject({ code: 404 });

    await admin.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'app-0', namespace: 'default', labels: { aadpodidbinding: 'app' } }, spec: { nodeName: NODES[0], containers: [{ name: 'app', image: 'busybox' }] } } });
    const vmssId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${VMSS}`;
    await waitForOneAssigned(custom);
    expect(identitiesOn(azure, vmssId)).toContain(resourceID.toLowerCase());

    await forceDeletePod(env.kc, 'default', 'app-0');
    await waitFor(() => !identitiesOn(azure, vmssId).includes(resourceID.toLowerCase()), 'the identity to be removed', 30_000);
    await waitFor(async () => {
      const list = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.AzureAssignedIdentity })) as { items: unknown[] };
      return list.items.length === 0;
    }, 'the AzureAssignedIdentity to be deleted', 30_000);

    expect(mic.permissions.summary().sort()).toEqual(['get leases.coordination.k8s.io in default', 'list configmaps in default']);
    expect(readyVerdict(mic.health(), Date.now()).status).toBe(200);
    const events = (await admin.listNamespacedEvent({ namespace: 'default' })).items;
    expect(events.filter((e) => e.reason === 'MissingPermission').map((e) => e.involvedObject.kind)).toEqual(['Endpoints', 'Endpoints']);
    expect(events.some((e) => e.reason === 'LeaderElection' && e.message === 'mic-0 became leader')).toBe(true);
    // Nothing failed for lack of a permission other than those reported.
    expect(lines.filter((l) => l.includes('"level":"error"') && !l.includes('Missing RBAC permission'))).toEqual([]);
  }, 120_000);
});
