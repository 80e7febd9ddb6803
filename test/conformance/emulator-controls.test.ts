/**
 * Emulator-only controls (fault injection, latency, pause, request log, counters, direct store
 * access) and server printing (Table) details. Skipped against a real API server.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import type { KubeControls } from '../../hack/emulators/kube/index.js';
import type { ConformanceEnv } from '../support/kube-conformance-env.js';
import { ON_EMULATOR, rawRequest, startConformanceEnv, waitFor } from '../support/kube-conformance-env.js';

const suite = ON_EMULATOR ? describe : describe.skip;

let env: ConformanceEnv;
let core: CoreV1Api;
let controls: KubeControls;
let ns: string;

const pod = (name: string): V1Pod => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

beforeAll(async () => {
  if (!ON_EMULATOR) return;
  env = await startConformanceEnv('conf-ctl');
  core = env.kc.makeApiClient(CoreV1Api);
  controls = env.emulator!.controls;
  ns = env.namespace;
});

afterAll(async () => {
  await env?.stop();
});

suite('fault injection', () => {
  it('fails the next matching requests with the given Status, then recovers', async () => {
    controls.failNext({ verb: 'create', path: `/api/v1/namespaces/${ns}/pods`, status: 429, reason: 'TooManyRequests', message: 'slow down', count: 2 });
    for (let i = 0; i < 2; i++) {
      await expect(core.createNamespacedPod({ namespace: ns, body: pod('ff') })).rejects.toMatchObject({ code: 429 });
    }
    await core.createNamespacedPod({ namespace: ns, body: pod('ff') });
    controls.failNext({ path: /\/pods\/ff$/, status: 500 });
    const res = await env.raw('GET', `/api/v1/namespaces/${ns}/pods/ff`);
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    expect((await env.raw('GET', `/api/v1/namespaces/${ns}/pods/ff`)).status).toBe(200);
  });

  it('adds latency to matching requests only', async () => {
    controls.setLatency(300, { verb: 'list', path: `/api/v1/namespaces/${ns}/configmaps` });
    try {
      let t = Date.now();
      await core.listNamespacedConfigMap({ namespace: ns });
      expect(Date.now() - t).toBeGreaterThanOrEqual(290);
      t = Date.now();
      await core.listNamespacedPod({ namespace: ns });
      expect(Date.now() - t).toBeLessThan(250);
    } finally {
      controls.setLatency(0, { verb: 'list', path: `/api/v1/namespaces/${ns}/configmaps` });
    }
  });

  it('holds requests and watch events while paused', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    const seen: string[] = [];
    const ctrl = await new Watch(env.kc).watch(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: list.metadata?.resourceVersion }, (type, o: { metadata?: { name?: string } }) => seen.push(`${type}:${o.metadata?.name}`), () => undefined);
    await waitFor(() => controls.counters()['watch:open']! >= 1, 5000, 'watch open');
    controls.pause();
    let answered = false;
    const pending = core.listNamespacedPod({ namespace: ns }).then(() => (answered = true));
    controls.putObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'while-paused', namespace: ns } });
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    expect(seen).toEqual([]);
    controls.resume();
    await pending;
    await waitFor(() => seen.includes('ADDED:while-paused'), 5000, 'held event');
    ctrl.abort();
  });
});

suite('observation', () => {
  it('logs requests with verb, path and status, and counts them', async () => {
    controls.clearRequestLog();
    const before = controls.counters();
    await core.createNamespacedPod({ namespace: ns, body: pod('logged') });
    await core.readNamespacedPod({ name: 'logged', namespace: ns });
    await expect(core.readNamespacedPod({ name: 'absent', namespace: ns })).rejects.toMatchObject({ code: 404 });
    const log = controls.requestLog().map((r) => `${r.verb} ${r.path} ${r.status}`);
    expect(log).toEqual([
      `create /api/v1/namespaces/${ns}/pods 201`,
      `get /api/v1/namespaces/${ns}/pods/logged 200`,
      `get /api/v1/namespaces/${ns}/pods/absent 404`,
    ]);
    const after = controls.counters();
    expect((after['create:pods'] ?? 0) - (before['create:pods'] ?? 0)).toBe(1);
    expect((after['status:404'] ?? 0) - (before['status:404'] ?? 0)).toBe(1);
  });
});

suite('direct store access', () => {
  it('puts, reads, lists and deletes objects, notifying watchers and bumping resourceVersion', async () => {
    const list = await core.listNamespacedPod({ namespace: ns });
    const seen: string[] = [];
    const ctrl = await new Watch(env.kc).watch(`/api/v1/namespaces/${ns}/pods`, { resourceVersion: list.metadata?.resourceVersion }, (type, o: { metadata?: { name?: string } }) => seen.push(`${type}:${o.metadata?.name}`), () => undefined);
    const put = controls.putObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'direct', namespace: ns }, spec: { nodeName: 'n1', containers: [] } }) as { metadata: { resourceVersion: string; uid: string } };
    expect(Number(put.metadata.resourceVersion)).toBeGreaterThan(Number(list.metadata?.resourceVersion));
    expect(put.metadata.uid).toBeTruthy();
    expect((controls.getObject(`/api/v1/namespaces/${ns}/pods/direct`) as { spec: { nodeName: string } }).spec.nodeName).toBe('n1');
    expect(controls.listObjects('/api/v1/pods').map((p) => (p as { metadata: { name: string } }).metadata.name)).toContain('direct');
    controls.deleteObject(`/api/v1/namespaces/${ns}/pods/direct`);
    expect(controls.getObject(`/api/v1/namespaces/${ns}/pods/direct`)).toBeUndefined();
    await waitFor(() => seen.length >= 2, 5000, 'watch events');
    ctrl.abort();
    expect(seen).toEqual(['ADDED:direct', 'DELETED:direct']);
  });
});

suite('auth and printing', () => {
  it('lets anonymous requests read /version only and rejects the rest with 403', async () => {
    const res = await fetch(`${env.emulator!.url}/version`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { major: string }).major).toBe('1');
    const denied = await fetch(`${env.emulator!.url}/api/v1/pods`);
    expect(denied.status).toBe(403);
  });

  it('serves Tables with column definitions, cells and partial object metadata', async () => {
    await core.createNamespacedPod({ namespace: ns, body: pod('tab') });
    const res = await rawRequest(env.kc, 'GET', `/api/v1/namespaces/${ns}/pods/tab`, undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    expect(res.json).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    const table = res.json as { columnDefinitions: { name: string }[]; rows: { cells: unknown[]; object: { kind: string; metadata: { name: string } } }[] };
    expect(table.columnDefinitions.map((c) => c.name).slice(0, 5)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    expect(table.rows[0]?.cells.slice(0, 4)).toEqual(['tab', '0/1', 'Pending', 0]);
    expect(table.rows[0]?.object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'tab' } });
  });

  it('writes a kubeconfig that points kubectl at the TLS side of the same port', () => {
    const yaml = env.emulator!.kubeconfigYaml();
    expect(yaml).toContain(env.emulator!.httpsUrl as string);
    expect(yaml).toContain('certificate-authority-data');
    expect(yaml).toContain(env.emulator!.token);
  });
});
