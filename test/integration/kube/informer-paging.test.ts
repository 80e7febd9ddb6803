/**
 * The informer's paged plain-JSON list (`listPages`) against the Kubernetes API emulator: the list is
 * fetched in `limit`-sized pages following `continue`, each object is projected by `parse` as its
 * page arrives, nothing in the cache is a client-node model instance, and the watch resumes from
 * the list's resourceVersion.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startKubeEmulator } from '../../../hack/emulators/kube/index.js';
import { createNullLogger } from '../../../controller/observability/logger.js';
import { makeApiClient, userAgent, withUserAgent } from '../../../controller/kube/client.js';
import { SupervisedInformer, listPages } from '../../../controller/kube/informer.js';
import { parsePodInfo } from '../../../controller/api/guards.js';
import type { PodInfo } from '../../../controller/api/types.js';
import { waitFor } from '../../support/wait.js';

type Emulator = Awaited<ReturnType<typeof startKubeEmulator>>;

const UA = userAgent('0.0.0-test');
let emu: Emulator;
let kc: KubeConfig;
let core: CoreV1Api;

beforeAll(async () => {
  emu = await startKubeEmulator({ tls: false, bookmarkIntervalMs: 100, namespaces: ['paged', 'expired'] });
  kc = emu.kubeConfig();
  core = makeApiClient(kc, CoreV1Api, { userAgent: UA, requestTimeoutMs: 5000 });
});

afterAll(async () => {
  await emu?.stop();
});

async function createPods(namespace: string, count: number, labels: Record<string, string> = { aadpodidbinding: 'sel' }): Promise<void> {
  for (let i = 0; i < count; i++) {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: `p${i}`, namespace, labels, annotations: { big: 'x'.repeat(500) } },
        spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox', env: [{ name: 'A', value: 'b' }] }] },
      },
    });
  }
}

describe('listPages', () => {
  it('follows continue tokens page by page and returns plain JSON', async () => {
    await createPods('paged', 7);
    emu.controls.clearRequestLog();
    const pages = [];
    for await (const page of listPages(withUserAgent(kc, UA), '/api/v1/namespaces/paged/pods', { pageSize: 3, labelSelector: 'aadpodidbinding' })) pages.push(page);
    expect(pages.map((p) => p.items.length)).toEqual([3, 3, 1]);
    const rv = pages[0]!.metadata?.resourceVersion;
    expect(rv).toMatch(/^\d+$/);
    expect(pages.every((p) => p.metadata?.resourceVersion === rv)).toBe(true);
    for (const item of pages.flatMap((p) => p.items)) {
      expect(Object.getPrototypeOf(item)).toBe(Object.prototype);
      expect(typeof (item as { metadata: { creationTimestamp: unknown } }).metadata.creationTimestamp).toBe('string');
    }
    const lists = emu.controls.requestLog().filter((r) => r.verb === 'list' && r.path === '/api/v1/namespaces/paged/pods');
    expect(lists).toHaveLength(3);
    expect(lists.every((r) => new URLSearchParams(r.query).get('limit') === '3')).toBe(true);
    expect(lists.map((r) => new URLSearchParams(r.query).has('continue'))).toEqual([false, true, true]);
    expect(lists.every((r) => new URLSearchParams(r.query).get('labelSelector') === 'aadpodidbinding')).toBe(true);
  });

  it('throws the API error of a failed page (an expired continue token is a 410)', async () => {
    await createPods('expired', 4);
    const pages = listPages(kc, '/api/v1/namespaces/expired/pods', { pageSize: 2 });
    const first = await pages.next();
    expect(first.done).toBe(false);
    emu.controls.failNext({ verb: 'list', path: '/api/v1/namespaces/expired/pods', status: 410, reason: 'Expired', message: 'continue token expired' });
    await expect(pages.next()).rejects.toMatchObject({ code: 410 });
  });
});

describe('SupervisedInformer over listPages', () => {
  it('syncs from pages, caches only the projection and watches from the list resourceVersion', async () => {
    const path = '/api/v1/namespaces/paged/pods';
    emu.controls.clearRequestLog();
    const informer = new SupervisedInformer<PodInfo>({
      kc: withUserAgent(kc, UA),
      path,
      labelSelector: 'aadpodidbinding',
      list: (signal) => listPages(withUserAgent(kc, UA), path, { pageSize: 2, labelSelector: 'aadpodidbinding', signal }),
      parse: parsePodInfo,
      logger: createNullLogger(),
      name: 'paged-pods',
    });
    const added: string[] = [];
    informer.on('add', (p) => added.push(p.name));
    informer.start();
    try {
      expect(await informer.waitForSync(AbortSignal.timeout(5000))).toBe(true);
      expect(added.sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
      expect(emu.controls.requestLog().filter((r) => r.verb === 'list' && r.path === path)).toHaveLength(4);
      const cached = informer.get('paged', 'p3');
      expect(cached).toStrictEqual({ name: 'p3', namespace: 'paged', uid: cached?.uid, nodeName: 'n1', labels: { aadpodidbinding: 'sel' }, phase: cached?.phase, creationTimestamp: cached?.creationTimestamp });
      const listRv = informer.resourceVersion();
      expect(listRv).toMatch(/^\d+$/);

      await waitFor(() => informer.isWatching(), 'watching');
      const watch = emu.controls.requestLog().find((r) => r.verb === 'watch' && r.path === path);
      expect(new URLSearchParams(watch?.query).get('resourceVersion')).toBe(listRv);
      await core.createNamespacedPod({ namespace: 'paged', body: { metadata: { name: 'late', labels: { aadpodidbinding: 'sel' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
      await waitFor(() => added.includes('late'), 'late pod added');
    } finally {
      await informer.stop();
    }
  });
});
