/**
 * Watch semantics through client-node's Watch and makeInformer: event order, synthetic ADDED,
 * resume, 410 Expired, selector transitions, bookmarks, timeoutSeconds, informer recovery.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { CoreV1Api, PatchStrategy, Watch, makeInformer, setHeaderOptions } from '@kubernetes/client-node';
import type { ConformanceEnv } from '../support/kube-conformance-env.js';
import { ON_EMULATOR, startConformanceEnv, waitFor } from '../support/kube-conformance-env.js';

const emulatorOnly = ON_EMULATOR ? it : it.skip;

interface Seen {
  type: string;
  name: string | undefined;
  obj: Record<string, unknown>;
}

let env: ConformanceEnv;
let core: CoreV1Api;
let ns: string;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Starts a watch and collects its events until stopped. */
async function collect(path: string, params: Record<string, string | number | boolean | undefined>): Promise<{ events: Seen[]; done: Promise<unknown>; stop: () => void }> {
  const events: Seen[] = [];
  let finish: (v: unknown) => void = () => undefined;
  const done = new Promise((resolve) => (finish = resolve));
  const ctrl = await new Watch(env.kc).watch(
    path,
    params,
    (type, obj: Record<string, unknown>) => events.push({ type, name: (obj.metadata as { name?: string } | undefined)?.name, obj }),
    (err) => finish(err ?? 'closed'),
  );
  return { events, done, stop: () => ctrl.abort() };
}

beforeAll(async () => {
  env = await startConformanceEnv('conf-watch');
  core = env.kc.makeApiClient(CoreV1Api);
  ns = env.namespace;
});

afterAll(async () => {
  await env?.stop();
});

describe('watch', () => {
  it('streams ADDED, MODIFIED and DELETED from a list resourceVersion, in order', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: list.metadata?.resourceVersion });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'w1' } } });
    await core.patchNamespacedConfigMap({ name: 'w1', namespace: ns, body: { data: { a: 'b' } } }, merge);
    await core.deleteNamespacedConfigMap({ name: 'w1', namespace: ns });
    await waitFor(() => w.events.length >= 3, 5000, 'three events');
    w.stop();
    expect(w.events.map((e) => `${e.type}:${e.name}`)).toEqual(['ADDED:w1', 'MODIFIED:w1', 'DELETED:w1']);
    const rvs = w.events.map((e) => Number((e.obj.metadata as { resourceVersion: string }).resourceVersion));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    expect(w.events[0]?.obj.kind).toBe('ConfigMap');
  });

  it('sends synthetic ADDED events for existing objects when no resourceVersion is given', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'pre-1' } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'pre-2' } } });
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, {});
    await waitFor(() => w.events.filter((e) => e.name?.startsWith('pre-')).length >= 2, 5000, 'initial events');
    w.stop();
    expect(w.events.filter((e) => e.name?.startsWith('pre-')).map((e) => e.type)).toEqual(['ADDED', 'ADDED']);
  });

  it('resumes from an older resourceVersion, replaying what was missed', async () => {
    const start = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'r1' } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'r2' } } });
    await core.patchNamespacedConfigMap({ name: 'r1', namespace: ns, body: { data: { x: 'y' } } }, merge);
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: start.metadata?.resourceVersion });
    await waitFor(() => w.events.length >= 2, 5000, 'replayed events');
    w.stop();
    expect(w.events.slice(0, 2).map((e) => `${e.type}:${e.name}`)).toEqual(['ADDED:r2', 'MODIFIED:r1']);
  });

  it('sends an object that stops matching the label selector as DELETED, and ADDED when it matches again', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'watched=yes' });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'sel', labels: { watched: 'yes' } } } });
    await core.patchNamespacedConfigMap({ name: 'sel', namespace: ns, body: { metadata: { labels: { watched: 'no' } } } }, merge);
    await core.patchNamespacedConfigMap({ name: 'sel', namespace: ns, body: { data: { ignored: 'change' } } }, merge);
    await core.patchNamespacedConfigMap({ name: 'sel', namespace: ns, body: { metadata: { labels: { watched: 'yes' } } } }, merge);
    await waitFor(() => w.events.length >= 3, 5000, 'selector transitions');
    w.stop();
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
  });

  it('watches a single object through a metadata.name field selector', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: list.metadata?.resourceVersion, fieldSelector: 'metadata.name=only-me' });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'not-me' } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'only-me' } } });
    await waitFor(() => w.events.length >= 1, 5000, 'event for only-me');
    w.stop();
    expect(w.events.map((e) => e.name)).toEqual(['only-me']);
  });

  it('ends the stream after timeoutSeconds', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: list.metadata?.resourceVersion, timeoutSeconds: 1 });
    const result = await Promise.race([w.done, new Promise((r) => setTimeout(() => r('still open'), 8000))]);
    expect(result).toBe('closed');
  });

  emulatorOnly('answers 410 Expired (as an ERROR event) when resuming from before the kept history', async () => {
    const old = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'exp' } } });
    await core.patchNamespacedConfigMap({ name: 'exp', namespace: ns, body: { data: { a: '1' } } }, merge);
    env.emulator?.controls.compact();
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: old.metadata?.resourceVersion });
    const ended = await Promise.race([w.done, new Promise((r) => setTimeout(() => r('still open'), 5000))]);
    expect(ended).toBe('closed');
    expect(w.events).toHaveLength(1);
    expect(w.events[0]?.type).toBe('ERROR');
    expect(w.events[0]?.obj).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });

  emulatorOnly('sends BOOKMARK events carrying the current resourceVersion when allowed', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true });
    await waitFor(() => w.events.some((e) => e.type === 'BOOKMARK'), 5000, 'bookmark');
    w.stop();
    const bm = w.events.find((e) => e.type === 'BOOKMARK');
    expect(bm?.obj.kind).toBe('ConfigMap');
    expect(Number((bm?.obj.metadata as { resourceVersion: string }).resourceVersion)).toBeGreaterThanOrEqual(Number(list.metadata?.resourceVersion));
  });
});

describe('informer', () => {
  it('keeps a cache in sync through add, update and delete', async () => {
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const informer = makeInformer<V1ConfigMap>(env.kc, path, () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'inf=1' }), 'inf=1');
    const log: string[] = [];
    informer.on('add', (o) => log.push(`add:${o.metadata?.name}`));
    informer.on('update', (o) => log.push(`update:${o.metadata?.name}`));
    informer.on('delete', (o) => log.push(`delete:${o.metadata?.name}`));
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'i0', labels: { inf: '1' } } } });
    await informer.start();
    try {
      await waitFor(() => informer.get('i0', ns), 5000, 'initial list');
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'i1', labels: { inf: '1' } } } });
      await core.patchNamespacedConfigMap({ name: 'i1', namespace: ns, body: { data: { v: '2' } } }, merge);
      await core.deleteNamespacedConfigMap({ name: 'i0', namespace: ns });
      await waitFor(() => informer.get('i1', ns)?.data?.v === '2' && !informer.get('i0', ns), 5000, 'cache in sync');
      expect(log).toEqual(['add:i0', 'add:i1', 'update:i1', 'delete:i0']);
    } finally {
      await informer.stop();
    }
  });

  emulatorOnly('recovers after dropped watches and relists after 410 Expired', async () => {
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const controls = env.emulator!.controls;
    const informer = makeInformer<V1ConfigMap>(env.kc, path, () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'rec=1' }), 'rec=1');
    await informer.start();
    try {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'rec-a', labels: { rec: '1' } } } });
      await waitFor(() => informer.get('rec-a', ns), 5000, 'rec-a');
      controls.dropWatches();
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'rec-b', labels: { rec: '1' } } } });
      await waitFor(() => informer.get('rec-b', ns), 8000, 'rec-b after reconnect');
      controls.compact();
      controls.dropWatches();
      await core.deleteNamespacedConfigMap({ name: 'rec-a', namespace: ns });
      controls.compact();
      await waitFor(() => !informer.get('rec-a', ns), 10_000, 'rec-a removed after relist');
      const lists = controls.requestLog().filter((r) => r.verb === 'list' && r.path === path);
      expect(lists.length).toBeGreaterThanOrEqual(2);
    } finally {
      await informer.stop();
    }
  });
});
