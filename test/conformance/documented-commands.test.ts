/**
 * Every kind of kubectl command that README.md, docs/ and the demo (hack/demo) show, run with the
 * real kubectl against the server (the emulator, or a real kube-apiserver in the jest project
 * `kube-apiserver`). kubectl's `create` generators send protobuf bodies (Namespace, Secret,
 * ConfigMap, ServiceAccount), so these cases also pin the emulator's protobuf decoding.
 *
 * Not runnable on either server (they need a kubelet): `kubectl logs` and `kubectl port-forward`.
 * `kubectl apply -k config/policy` needs ValidatingAdmissionPolicy v1 (Kubernetes 1.30+), which
 * neither the emulator nor the v1.25 envtest server serves.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import type { ConformanceEnv } from '../support/kube-conformance-env.js';
import { REPO_ROOT, SERVER_KIND, crdDirectory, startConformanceEnv, waitFor } from '../support/kube-conformance-env.js';

/** The install namespace the manifests and docs use. */
const MIC_NS = 'aad-pod-identity';
/** Installing manifests into a cluster someone else owns (KUBE_CONFORMANCE_KUBECONFIG) is not done. */
const ownCluster = SERVER_KIND === 'kubeconfig' ? it.skip : it;

let env: ConformanceEnv;
let ns: string;
let dir: string;

/** Runs kubectl and fails the test with its stderr when it exits non-zero. */
async function ok(args: string[], stdin?: string): Promise<string> {
  const r = await env.kubectl(args, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function getJson(args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse(await ok([...args, '-o', 'json'])) as Record<string, unknown>;
}

beforeAll(async () => {
  env = await startConformanceEnv('conf-docs');
  ns = env.namespace;
  dir = await mkdtemp(join(tmpdir(), 'conf-docs-'));
});

afterAll(async () => {
  await env?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kubectl create generators (protobuf bodies)', () => {
  it('kubectl create namespace <name>', async () => {
    const name = `${ns}-created`;
    expect(await ok(['create', 'namespace', name])).toContain(`namespace/${name} created`);
    const got = await getJson(['get', 'namespace', name]);
    expect(got).toMatchObject({ kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } }, status: { phase: 'Active' } });
  });

  it('kubectl -n <ns> create secret generic mic-azure-config --from-file=azure.json', async () => {
    const file = join(dir, 'azure.json');
    const content = JSON.stringify({ cloud: 'AzurePublicCloud', tenantId: 't', subscriptionId: 's', resourceGroup: 'rg', useManagedIdentityExtension: true }, null, 2) + '\n';
    await writeFile(file, content);
    await ok(['-n', ns, 'create', 'secret', 'generic', 'mic-azure-config', `--from-file=${file}`]);
    const got = await getJson(['-n', ns, 'get', 'secret', 'mic-azure-config']);
    expect(got.type).toBe('Opaque');
    expect(Buffer.from((got.data as Record<string, string>)['azure.json'] as string, 'base64').toString('utf8')).toBe(content);
    expect((got.metadata as Record<string, unknown>).generateName).toBeUndefined();
  });

  it('kubectl -n <ns> create secret generic with labels and binary data keeps every byte', async () => {
    const bin = join(dir, 'blob.bin');
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x0a]);
    await writeFile(bin, bytes);
    await ok(['-n', ns, 'create', 'secret', 'generic', 'blob', `--from-file=${bin}`, '--from-literal=user=ä☃', '--type=example.com/custom']);
    await ok(['-n', ns, 'label', 'secret', 'blob', 'tier=docs']);
    const got = await getJson(['-n', ns, 'get', 'secret', 'blob']);
    const data = got.data as Record<string, string>;
    expect(Buffer.from(data['blob.bin'] as string, 'base64').equals(bytes)).toBe(true);
    expect(Buffer.from(data.user as string, 'base64').toString('utf8')).toBe('ä☃');
    expect(got.type).toBe('example.com/custom');
  });

  it('kubectl -n <ns> create configmap aad-pod-identity-mic-pause --from-literal=reason=upgrade, then delete it', async () => {
    await ok(['-n', ns, 'create', 'configmap', 'aad-pod-identity-mic-pause', '--from-literal=reason=upgrade']);
    const got = await getJson(['-n', ns, 'get', 'configmap', 'aad-pod-identity-mic-pause']);
    expect(got.data).toEqual({ reason: 'upgrade' });
    expect(await ok(['-n', ns, 'delete', 'configmap', 'aad-pod-identity-mic-pause'])).toContain('deleted');
    const after = await env.kubectl(['-n', ns, 'get', 'configmap', 'aad-pod-identity-mic-pause']);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toContain('NotFound');
  });

  it('kubectl -n <ns> create serviceaccount <name>', async () => {
    await ok(['-n', ns, 'create', 'serviceaccount', 'docs-sa']);
    const got = await getJson(['-n', ns, 'get', 'serviceaccount', 'docs-sa']);
    expect(got).toMatchObject({ kind: 'ServiceAccount', metadata: { name: 'docs-sa', namespace: ns } });
  });
});

describe('install commands', () => {
  it('kubectl apply --server-side -f crds/ (and again with --force-conflicts)', async () => {
    expect(await ok(['apply', '--server-side', ...env.validateFlags, '-f', crdDirectory()])).toContain('serverside-applied');
    expect(await ok(['apply', '--server-side', '--force-conflicts', ...env.validateFlags, '-f', crdDirectory()])).toContain('serverside-applied');
    await waitFor(async () => (await env.kubectl(['get', 'azureassignedidentities', '-A'])).code === 0, 15_000, 'CRDs served');
  });

  ownCluster('kubectl apply -k config/base, then -k config/overlays/secret-config', async () => {
    await waitFor(async () => (await env.kubectl(['get', 'azurepodidentityexceptions', '-A'])).code === 0, 15_000, 'CRDs served');
    const out = await ok(['apply', ...env.validateFlags, '-k', join(REPO_ROOT, 'config/base')]);
    for (const kind of ['namespace', 'serviceaccount', 'clusterrole', 'clusterrolebinding', 'role', 'rolebinding', 'deployment', 'poddisruptionbudget', 'azurepodidentityexception']) {
      expect(out).toMatch(new RegExp(`^${kind}[./]`, 'm'));
    }
    await ok(['apply', ...env.validateFlags, '-k', join(REPO_ROOT, 'config/overlays/secret-config')]);
    const deploy = await getJson(['-n', MIC_NS, 'get', 'deployment', 'mic']);
    expect(deploy).toMatchObject({ kind: 'Deployment', metadata: { name: 'mic', namespace: MIC_NS } });
  });

  ownCluster('kubectl -n aad-pod-identity scale deployment mic --replicas=0', async () => {
    await waitFor(async () => (await env.kubectl(['-n', MIC_NS, 'get', 'deployment', 'mic'])).code === 0, 15_000, 'deployment from config/base');
    expect(await ok(['-n', MIC_NS, 'scale', 'deployment', 'mic', '--replicas=0'])).toContain('scaled');
    expect(await ok(['-n', MIC_NS, 'get', 'deployment', 'mic', '-o', 'jsonpath={.spec.replicas}'])).toBe('0');
  });

  ownCluster('kubectl -n <mic namespace> set image deployment/mic mic=<image>', async () => {
    await waitFor(async () => (await env.kubectl(['-n', MIC_NS, 'get', 'deployment', 'mic'])).code === 0, 15_000, 'deployment from config/base');
    const image = 'myregistry.azurecr.io/aad-pod-identity-mic-ts:0.1.0';
    expect(await ok(['-n', MIC_NS, 'set', 'image', 'deployment/mic', `mic=${image}`])).toContain('image updated');
    expect(await ok(['-n', MIC_NS, 'get', 'deployment', 'mic', '-o', 'jsonpath={.spec.template.spec.containers[?(@.name=="mic")].image}'])).toBe(image);
  });
});

describe('looking around', () => {
  const identity = (name: string) => ({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: { name, namespace: ns },
    spec: { type: 0, resourceID: `/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`, clientID: '00000000-0000-0000-0000-00000000000a' },
  });

  beforeAll(async () => {
    await ok(['apply', ...env.validateFlags, '-f', crdDirectory()]);
    await waitFor(async () => (await env.kubectl(['get', 'azureidentitybindings', '-n', ns])).code === 0, 15_000, 'CRDs served');
    await ok(['create', ...env.validateFlags, '-f', '-'], JSON.stringify(identity('docs-id')));
    await ok(['create', ...env.validateFlags, '-f', '-'], JSON.stringify({
      apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureIdentityBinding', metadata: { name: 'docs-binding', namespace: ns }, spec: { azureIdentity: 'docs-id', selector: 'docs' },
    }));
    // describe finds Events by the object's uid, as the controller's EventRecorder sets it.
    const uid = await ok(['-n', ns, 'get', 'azureidentitybinding', 'docs-binding', '-o', 'jsonpath={.metadata.uid}']);
    await ok(['create', ...env.validateFlags, '-f', '-'], YAML.stringify({
      apiVersion: 'v1', kind: 'Event', metadata: { name: 'docs-binding.warn', namespace: ns },
      involvedObject: { apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureIdentityBinding', name: 'docs-binding', namespace: ns, uid },
      reason: 'binding apply error', message: 'failed to apply binding', type: 'Warning', source: { component: 'aadpodidentity.k8s.io' },
      firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), count: 1,
    }));
    await ok(['create', ...env.validateFlags, '-f', '-'], JSON.stringify({
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'aad-pod-identity-mic', namespace: ns },
      spec: { holderIdentity: 'mic-0', leaseDurationSeconds: 15 },
    }));
    await ok(['create', ...env.validateFlags, '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'mic-pod', namespace: ns, labels: { app: 'mic', component: 'mic' } },
      spec: { containers: [{ name: 'mic', image: 'mic' }] },
    }));
  });

  it('kubectl get nodes; kubectl get pods,nodes -o wide', async () => {
    expect((await env.kubectl(['get', 'nodes'])).code).toBe(0);
    const wide = await ok(['-n', ns, 'get', 'pods,nodes', '-o', 'wide']);
    expect(wide).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/m);
    expect(wide).toContain('pod/mic-pod');
  });

  it('kubectl get azureassignedidentities -A', async () => {
    const r = await env.kubectl(['get', 'azureassignedidentities', '-A']);
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/No resources found|NAMESPACE\s+NAME/);
  });

  it('kubectl describe azureidentitybinding <name> (with its Events); kubectl describe azureidentity <name>', async () => {
    const out = await ok(['-n', ns, 'describe', 'azureidentitybinding', 'docs-binding']);
    expect(out).toMatch(/^Name:\s+docs-binding$/m);
    expect(out).toMatch(/Selector:\s+docs/);
    expect(out).toMatch(/Warning\s+binding apply error/);
    expect(await ok(['-n', ns, 'describe', 'azureidentity', 'docs-id'])).toMatch(/Resource ID:\s+\/subscriptions\/s\//);
  });

  it('kubectl get events -A [--field-selector type=Warning | reason=<reason> --sort-by=.lastTimestamp]', async () => {
    expect(await ok(['get', 'events', '-A'])).toContain('binding apply error');
    const warnings = await ok(['get', 'events', '-A', '--field-selector', 'type=Warning']);
    expect(warnings).toContain('docs-binding');
    expect(await ok(['get', 'events', '-n', ns, '--field-selector', 'reason=binding apply error', '--sort-by=.lastTimestamp'])).toContain('docs-binding');
    const none = await env.kubectl(['get', 'events', '-A', '--field-selector', 'reason=MissingPermission']);
    expect(none.code).toBe(0);
    expect(none.stdout).not.toContain('docs-binding');
  });

  it('kubectl -n <ns> get endpoints,lease <name> [-o custom-columns=...]; kubectl get endpoints -A --field-selector metadata.name=<name>', async () => {
    await ok(['create', ...env.validateFlags, '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'aad-pod-identity-mic', namespace: ns, annotations: { 'control-plane.alpha.kubernetes.io/leader': '{"holderIdentity":"mic-0"}' } },
    }));
    const both = await ok(['-n', ns, 'get', 'endpoints,lease', 'aad-pod-identity-mic']);
    expect(both).toContain('endpoints/aad-pod-identity-mic');
    expect(both).toContain('lease.coordination.k8s.io/aad-pod-identity-mic');
    const cols = await ok(['-n', ns, 'get', 'endpoints,lease', 'aad-pod-identity-mic', '-o', 'custom-columns=KIND:.kind,HOLDER:.metadata.annotations.control-plane\\.alpha\\.kubernetes\\.io/leader,LEASE:.spec.holderIdentity']);
    expect(cols).toMatch(/^Endpoints\s+\{"holderIdentity":"mic-0"\}\s+<none>$/m);
    expect(cols).toMatch(/^Lease\s+<none>\s+mic-0$/m);
    expect(await ok(['get', 'endpoints', '-A', '--field-selector', 'metadata.name=aad-pod-identity-mic'])).toContain(ns);
  });

  it("kubectl -n <ns> get lease aad-pod-identity-mic -o yaml / -o jsonpath='{.spec.holderIdentity}{\"\\n\"}'", async () => {
    const yaml = YAML.parse(await ok(['-n', ns, 'get', 'lease', 'aad-pod-identity-mic', '-o', 'yaml'])) as { spec: { holderIdentity: string } };
    expect(yaml.spec.holderIdentity).toBe('mic-0');
    expect(await ok(['-n', ns, 'get', 'lease', 'aad-pod-identity-mic', '-o', 'jsonpath={.spec.holderIdentity}{"\\n"}'])).toBe('mic-0\n');
  });

  it('kubectl -n <ns> get pods -l app=mic,component=mic; kubectl wait --for=delete pod -l component=mic', async () => {
    expect(await ok(['-n', ns, 'get', 'pods', '-l', 'app=mic,component=mic', '-o', 'name'])).toBe('pod/mic-pod\n');
    const waiting = env.kubectl(['-n', ns, 'wait', '--for=delete', 'pod', '-l', 'component=mic', '--timeout=20s']);
    await ok(['-n', ns, 'delete', 'pod', 'mic-pod', '--wait=false']);
    const r = await waiting;
    expect(r.code).toBe(0);
  });
});
