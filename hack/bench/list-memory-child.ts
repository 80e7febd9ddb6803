/** Child of `list-memory.ts`: lists every labelled pod one way, projects it, prints peak RSS and CPU. */
import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parsePodInfo } from '../../controller/api/guards.js';
import type { PodInfo } from '../../controller/api/types.js';
import { listPages } from '../../controller/kube/informer.js';

const peakMiB = (): number => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  const [mode, kubeconfig] = process.argv.slice(2);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig!);
  const before = process.memoryUsage().rss / 2 ** 20;
  const cpu0 = process.cpuUsage();
  const cache = new Map<string, PodInfo>();
  const keep = (raw: unknown): void => {
    const p = parsePodInfo(raw);
    cache.set(`${p.namespace}/${p.name}`, p);
  };
  if (mode === 'typed') {
    const list = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces({ labelSelector: 'aadpodidbinding' });
    for (const p of list.items) keep(p);
  } else {
    for await (const page of listPages(kc, '/api/v1/pods', { labelSelector: 'aadpodidbinding' })) for (const p of page.items) keep(p);
  }
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(
    `${mode === 'typed' ? 'typed list (model classes, one response)' : 'listPages (plain JSON, 500 per page)'}: ${cache.size} pods, ` +
      `peak RSS ${peakMiB().toFixed(0)} MiB (+${(peakMiB() - before).toFixed(0)} over the loaded process), ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU\n`,
  );
}

void main();
