/**
 * Every shell command in README.md, docs/*.md and the chart's NOTES.txt either runs against the
 * emulators (real kubectl from PATH) or is listed below as not run, with the reason. A new
 * documented command fails this test until it is one or the other.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchEmulators, type LaunchedEmulators } from '../../hack/emulators/launch.js';
import { documentedCommands } from '../../hack/docs/commands.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const AZURE = 'needs a real Azure subscription (az CLI)';
const IMAGE = 'builds or pushes a container image (docker, a registry)';
const HELM = 'needs the helm binary, which the test machine does not have';
const PROCESS = 'starts long-running processes of the README quick start; the same flow runs in test/e2e/demo.test.ts';
const NO_PODS = 'needs running MIC pods; the emulators run no kubelet (the probe answers are covered by test/unit/observability/probes.test.ts)';
const PLACEHOLDER = 'contains a placeholder (<old namespace>) the reader fills in';
const WATCH = 'watches (-w) until the reader interrupts it; the same objects are read once by the commands run below';

/** Documented commands not run here, with why. */
const NOT_RUN: Readonly<Record<string, string>> = {
  'make test': 'the whole suite; this test is part of it',
  'make demo': PROCESS,
  'make emulators STATE_DIR=.state/dev &': PROCESS,
  '. .state/dev/env': PROCESS,
  'npm start -- --kubeconfig .state/dev/kubeconfig --cloudconfig .state/dev/azure.json --log-format json': PROCESS,
  'curl -sk "$(node -p "require(\'./.state/dev/environment.json\').resourceManagerEndpoint")_emulator/state"': PROCESS,
  'make image': IMAGE,
  'make image IMAGE=myregistry.azurecr.io/aad-pod-identity-mic-ts:0.1.0': IMAGE,
  'docker push myregistry.azurecr.io/aad-pod-identity-mic-ts:0.1.0': IMAGE,
  'RG=my-aks-rg; CLUSTER=my-aks': AZURE,
  'SUB=$(az account show --query id -o tsv)': AZURE,
  'NODE_RG=$(az aks show -g "$RG" -n "$CLUSTER" --query nodeResourceGroup -o tsv)': AZURE,
  'MIC_CLIENT_ID=$(az aks show -g "$RG" -n "$CLUSTER" --query identityProfile.kubeletidentity.clientId -o tsv)': AZURE,
  'az role assignment create --role "Virtual Machine Contributor" --assignee "$MIC_CLIENT_ID" --scope "/subscriptions/$SUB/resourceGroups/$NODE_RG"': AZURE,
  'az role assignment create --role "Managed Identity Operator" --assignee "$MIC_CLIENT_ID" --scope "$IDENTITY_RESOURCE_ID"': AZURE,
  'kubectl describe azureidentitybinding <name>': 'contains a placeholder (<name>) the reader fills in',
  'kubectl -n aad-pod-identity create secret generic mic-azure-config --from-file=azure.json': 'needs the operator\'s azure.json in the working directory (the same protobuf Secret body runs in test/conformance/documented-commands.test.ts)',
  'cd config/overlays/secret-config': 'needs the kustomize binary for the next command (kustomize edit), which the test machine does not have',
  'kustomize edit set image aad-pod-identity-mic-ts=myregistry.azurecr.io/aad-pod-identity-mic-ts:0.1.0': 'needs the kustomize binary, which the test machine does not have',
  'kubectl apply -k .': 'applies the overlay after kustomize edit (see above)',
  'helm install mic config/helm/aad-pod-identity-mic -n aad-pod-identity --create-namespace --set image.repository=myregistry.azurecr.io/aad-pod-identity-mic-ts --set image.tag=0.1.0 --set mic.cloudConfigSource=secret --set mic.cloudConfig=/etc/mic/azure.json': HELM,
  'kubectl apply -k config/policy': 'ValidatingAdmissionPolicy needs Kubernetes >= 1.30; the kube emulator does not serve admissionregistration.k8s.io',
  'kubectl -n aad-pod-identity port-forward "pod/$LEADER" 8080 8888 &': NO_PODS,
  'curl -s localhost:8080/healthz; echo': NO_PODS,
  'curl -s localhost:8080/readyz;  echo': NO_PODS,
  "curl -s localhost:8888/metrics | grep '^aadpodidentity_mic_is_leader'": NO_PODS,
  'kubectl -n <old namespace> scale deployment mic --replicas=0': PLACEHOLDER,
  'kubectl -n <mic namespace> set image deployment/mic mic=myregistry.azurecr.io/aad-pod-identity-mic-ts:0.1.0': 'contains a placeholder (<mic namespace>) the reader fills in',
  'kubectl -n default get endpoints,lease aad-pod-identity-mic -w': WATCH,
  'kubectl -n {{ .Release.Namespace }} port-forward "pod/$(kubectl -n {{ include "mic.leaseNamespace" . }} get lease {{ .Values.mic.leaderElection.name }} -o jsonpath=\'{.spec.holderIdentity}\')" {{ .Values.mic.probePort }} {{ .Values.mic.prometheusPort }}': NO_PODS,
  'curl -s localhost:{{ .Values.mic.probePort }}/healthz': NO_PODS,
  'kubectl apply -f config/monitoring/service.yaml -f config/monitoring/servicemonitor.yaml -f config/monitoring/prometheusrule.yaml': 'needs the Prometheus Operator CRDs (monitoring.coreos.com)',
};

/** Documented commands run against the emulators, in this order (after the setup below). */
const RUN: readonly string[] = [
  'kubectl create namespace aad-pod-identity',
  'kubectl apply --server-side -f crds/',
  'kubectl apply --server-side --force-conflicts -f crds/',
  'kubectl get nodes',
  'kubectl apply -k config/base',
  'kubectl get azureassignedidentities -A',
  'kubectl -n aad-pod-identity get pods -l app=mic,component=mic',
  'kubectl -n default get endpoints,lease aad-pod-identity-mic',
  'kubectl -n default get lease aad-pod-identity-mic -o jsonpath=\'{.spec.holderIdentity}{"\\n"}\'',
  'kubectl -n default get lease aad-pod-identity-mic -o yaml',
  'kubectl get endpoints -A --field-selector metadata.name=aad-pod-identity-mic',
  "kubectl -n default get endpoints,lease aad-pod-identity-mic -o custom-columns='KIND:.kind,HOLDER:.metadata.annotations.control-plane\\.alpha\\.kubernetes\\.io/leader,LEASE:.spec.holderIdentity'",
  'kubectl get events -n default --field-selector reason=LeaderElection --sort-by=.lastTimestamp',
  'kubectl get events -A --field-selector reason=MissingPermission',
  'kubectl get events -A --field-selector type=Warning',
  'kubectl describe azureidentitybindings -A',
  'kubectl -n aad-pod-identity create configmap aad-pod-identity-mic-pause --from-literal=reason=upgrade',
  'kubectl -n aad-pod-identity delete configmap aad-pod-identity-mic-pause',
  'kubectl -n aad-pod-identity scale deployment mic --replicas=0',
  'kubectl -n aad-pod-identity wait --for=delete pod -l app=mic,component=mic --timeout=120s',
  "LEADER=$(kubectl -n default get lease aad-pod-identity-mic -o jsonpath='{.spec.holderIdentity}')",
  'kubectl get azureassignedidentities -A -o jsonpath=\'{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{"\\n"}{end}\' | while read -r ns name; do kubectl -n "$ns" patch azureassignedidentity "$name" --type=merge -p \'{"metadata":{"finalizers":null}}\'; done',
];

/** NOTES.txt commands with their Helm template expressions filled in as `helm install` would. */
const NOTES_RUN: Readonly<Record<string, string>> = {
  'kubectl -n {{ include "mic.leaseNamespace" . }} get lease {{ .Values.mic.leaderElection.name }} -o jsonpath=\'{.spec.holderIdentity}\'':
    "kubectl -n default get lease aad-pod-identity-mic -o jsonpath='{.spec.holderIdentity}'",
};

/**
 * Objects the commands above expect: both lock objects held by a MIC pod in the lock
 *  namespace of the manifests (`default`, upstream's), an assignment.
 */
const SETUP: readonly object[] = [
  {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'aad-pod-identity-mic', namespace: 'default' },
    spec: { holderIdentity: 'mic-5d9c7b-abcde', leaseDurationSeconds: 15 },
  },
  {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: 'aad-pod-identity-mic',
      namespace: 'default',
      annotations: {
        'control-plane.alpha.kubernetes.io/leader':
          '{"holderIdentity":"mic-5d9c7b-abcde","leaseDurationSeconds":15,"acquireTime":"2026-01-01T00:00:00Z","renewTime":"2026-01-01T00:00:10Z","leaderTransitions":0}',
      },
    },
  },
  {
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureAssignedIdentity',
    metadata: { name: 'web-default-id', namespace: 'default', finalizers: ['azureassignedidentity.finalizers.aadpodidentity.k8s.io'] },
    spec: { pod: 'web', podNamespace: 'default', nodename: 'aks-nodepool1-12345678-vmss000000' },
  },
];

function sh(command: string, env: NodeJS.ProcessEnv, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile('bash', ['-o', 'pipefail', '-c', command], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

describe('commands in the docs', () => {
  const documented = documentedCommands(ROOT);

  it('are each run here or listed as not run with a reason', () => {
    const accounted = new Set([...RUN, ...Object.keys(NOT_RUN), ...Object.keys(NOTES_RUN)]);
    expect(documented.filter((c) => !accounted.has(c.command)).map((c) => `${c.file}: ${c.command}`)).toEqual([]);
  });

  it('lists no command the docs no longer contain', () => {
    const present = new Set(documented.map((c) => c.command));
    expect([...RUN, ...Object.keys(NOT_RUN), ...Object.keys(NOTES_RUN)].filter((c) => !present.has(c))).toEqual([]);
  });

  describe('against the emulators', () => {
    let emulators: LaunchedEmulators;
    let stateDir: string;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      stateDir = mkdtempSync(join(tmpdir(), 'doc-commands-'));
      emulators = await launchEmulators({ stateDir });
      env = { ...process.env, KUBECONFIG: emulators.files.kubeconfig };
      for (const obj of SETUP) {
        const setup = await sh('kubectl create -f -', env, JSON.stringify(obj));
        if (setup.code !== 0) throw new Error(`setup failed: ${setup.stderr}`);
      }
      const before = await sh("kubectl -n default get azureassignedidentity web-default-id -o jsonpath='{.metadata.finalizers}'", env);
      if (!before.stdout.includes('azureassignedidentity.finalizers')) throw new Error(`setup: finalizer not stored: ${before.stdout}`);
    });

    afterAll(async () => {
      await emulators?.stop();
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    });

    it.each([...RUN, ...Object.values(NOTES_RUN)])('%s', async (command) => {
      const r = await sh(command, env);
      expect({ command, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ command, code: 0, stderr: '' });
    });

    it('left no finalizer after the uninstall loop', async () => {
      const r = await sh("kubectl -n default get azureassignedidentity web-default-id -o jsonpath='{.metadata.finalizers}'", env);
      expect({ code: r.code, finalizers: r.stdout }).toEqual({ code: 0, finalizers: '' });
    });

    it('shows the lease holder the docs tell the reader to port-forward to', async () => {
      const r = await sh("kubectl -n default get lease aad-pod-identity-mic -o jsonpath='{.spec.holderIdentity}'", env);
      expect(r.stdout).toBe('mic-5d9c7b-abcde');
    });

    it('shows both lock objects in the lock namespace of the manifests, naming the same holder', async () => {
      const r = await sh("kubectl get endpoints -A --field-selector metadata.name=aad-pod-identity-mic -o jsonpath='{range .items[*]}{.metadata.namespace}{\"\\n\"}{end}'", env);
      expect(r.stdout).toBe('default\n');
      const both = await sh(
        "kubectl -n default get endpoints,lease aad-pod-identity-mic -o custom-columns='KIND:.kind,HOLDER:.metadata.annotations.control-plane\\.alpha\\.kubernetes\\.io/leader,LEASE:.spec.holderIdentity' --no-headers",
        env,
      );
      const lines = both.stdout.trim().split('\n');
      expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['Endpoints', 'Lease']);
      expect(lines[0]).toContain('"holderIdentity":"mic-5d9c7b-abcde"');
      expect(lines[1]).toMatch(/\smic-5d9c7b-abcde$/);
    });
  });
});
