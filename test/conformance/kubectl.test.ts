/**
 * Real kubectl against the server: CRDs from crds/, create, printer columns, -o yaml, describe
 * with Events, label, client-side and server-side apply, get -w, delete.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import YAML from 'yaml';
import type { ConformanceEnv } from '../support/kube-conformance-env.js';
import { crdDirectory, startConformanceEnv, waitFor } from '../support/kube-conformance-env.js';

let env: ConformanceEnv;
let ns: string;

const identity = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'aadpodidentity.k8s.io/v1',
    kind: 'AzureIdentity',
    metadata: { name, ...extra },
    spec: { type: 0, resourceID: `/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`, clientID: '00000000-0000-0000-0000-00000000000a' },
  });

/** Runs kubectl and fails the test with its stderr when it exits non-zero. */
async function ok(args: string[], stdin?: string): Promise<string> {
  const r = await env.kubectl(args, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  env = await startConformanceEnv('conf-kubectl');
  ns = env.namespace;
  await ok(['apply', ...env.validateFlags, '-f', crdDirectory()]);
  await waitFor(async () => (await env.kubectl(['get', 'azureidentities', '-n', ns])).code === 0, 15_000, 'CRDs served');
});

afterAll(async () => {
  await env?.stop();
});

describe('kubectl', () => {
  it('discovers kinds, short names and categories', async () => {
    const out = await ok(['api-resources', '--api-group=', '-o', 'wide']);
    expect(out).toMatch(/^pods\s+po\s+v1\s+true\s+Pod/m);
    expect(out).toMatch(/all/);
    const crds = await ok(['get', 'crd', '-o', 'name']);
    expect(crds).toContain('customresourcedefinition.apiextensions.k8s.io/azureidentities.aadpodidentity.k8s.io');
  });

  it('creates a custom resource and prints it with the CRD printer columns', async () => {
    expect(await ok(['create', ...env.validateFlags, '-n', ns, '-f', '-'], identity('id-cols'))).toContain('azureidentity.aadpodidentity.k8s.io/id-cols created');
    const table = await ok(['get', 'azureidentities', '-n', ns]);
    const [header, row] = table.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'TYPE', 'CLIENTID', 'AGE']);
    expect(row?.split(/\s+/).slice(0, 3)).toEqual(['id-cols', '0', '00000000-0000-0000-0000-00000000000a']);
  });

  it('prints objects as YAML with server-set metadata', async () => {
    const doc = YAML.parse(await ok(['get', 'azureidentity', 'id-cols', '-n', ns, '-o', 'yaml'])) as Record<string, Record<string, unknown>>;
    expect(doc.kind).toBe('AzureIdentity');
    expect(doc.metadata?.uid).toBeTruthy();
    expect(doc.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(doc.spec?.clientID).toBe('00000000-0000-0000-0000-00000000000a');
  });

  it('prints core kinds as tables and reports server errors', async () => {
    await ok(['create', ...env.validateFlags, '-n', ns, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kp' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }));
    const out = await ok(['get', 'pods', '-n', ns]);
    expect(out.split('\n')[0]?.split(/\s+/)).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(out).toMatch(/^kp\s+0\/1\s+Pending\s+0\s+/m);
    const missing = await env.kubectl(['get', 'pod', 'nope', '-n', ns]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('Error from server (NotFound): pods "nope" not found');
  });

  it('labels objects and selects them by label', async () => {
    await ok(['label', 'azureidentity', 'id-cols', '-n', ns, 'team=blue']);
    const out = await ok(['get', 'azureidentities', '-n', ns, '-l', 'team=blue', '-o', 'name']);
    expect(out.trim()).toBe('azureidentity.aadpodidentity.k8s.io/id-cols');
    await ok(['label', 'azureidentity', 'id-cols', '-n', ns, 'team-']);
    expect((await ok(['get', 'azureidentities', '-n', ns, '-l', 'team=blue', '-o', 'name'])).trim()).toBe('');
  });

  it('shows Events of an object in describe', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const p = await core.readNamespacedPod({ name: 'kp', namespace: ns });
    await core.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name: 'kp.conformance' },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'kp', namespace: ns, uid: p.metadata?.uid },
        reason: 'binding applied',
        message: 'identity assigned for the conformance suite',
        type: 'Normal',
        source: { component: 'aad-pod-identity' },
        count: 1,
        firstTimestamp: new Date(),
        lastTimestamp: new Date(),
      },
    });
    const out = await ok(['describe', 'pod', 'kp', '-n', ns]);
    expect(out).toMatch(/Events:/);
    expect(out).toMatch(/Normal\s+binding applied\s+\S+\s+aad-pod-identity\s+identity assigned for the conformance suite/);
  });

  it('applies client-side (create, then patch with last-applied) and server-side', async () => {
    const cm = (data: Record<string, string>) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied' }, data });
    expect(await ok(['apply', ...env.validateFlags, '-n', ns, '-f', '-'], cm({ a: '1', b: '2' }))).toContain('configmap/applied created');
    expect(await ok(['apply', ...env.validateFlags, '-n', ns, '-f', '-'], cm({ a: '1' }))).toContain('configmap/applied configured');
    const got = JSON.parse(await ok(['get', 'configmap', 'applied', '-n', ns, '-o', 'json'])) as { data: Record<string, string>; metadata: { annotations: Record<string, string> } };
    expect(got.data).toEqual({ a: '1' });
    expect(got.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('"a":"1"');
    expect(await ok(['apply', ...env.validateFlags, '--server-side', '-n', ns, '-f', '-'], identity('id-ssa'))).toContain('serverside-applied');
    expect(await ok(['apply', ...env.validateFlags, '--server-side', '-n', ns, '-f', '-'], identity('id-ssa', { labels: { via: 'ssa' } }))).toContain('serverside-applied');
    const ssa = JSON.parse(await ok(['get', 'azureidentity', 'id-ssa', '-n', ns, '-o', 'json'])) as { metadata: { labels: Record<string, string> } };
    expect(ssa.metadata.labels).toEqual({ via: 'ssa' });
  });

  it('streams changes with get -w', async () => {
    await ok(['create', ...env.validateFlags, '-n', ns, '-f', '-'], identity('id-sentinel', { labels: { w: 'yes' } }));
    const lines = await env.kubectlLines(['get', 'azureidentities', '-n', ns, '-l', 'w=yes', '-w', '--output-watch-events'], 3, async () => {
      await ok(['create', ...env.validateFlags, '-n', ns, '-f', '-'], identity('id-watch', { labels: { w: 'yes' } }));
    });
    expect(lines[0]?.split(/\s+/).slice(0, 2)).toEqual(['EVENT', 'NAME']);
    expect(lines[1]).toMatch(/^ADDED\s+id-sentinel\s/);
    expect(lines[2]).toMatch(/^ADDED\s+id-watch\s/);
  });

  it('deletes objects and waits for them to go', async () => {
    expect(await ok(['delete', 'azureidentity', 'id-cols', '-n', ns])).toContain('"id-cols" deleted');
    const after = await env.kubectl(['get', 'azureidentity', 'id-cols', '-n', ns]);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toContain('NotFound');
  });
});
