/**
 * Scale figures for the Kubernetes emulator: 10,000 pods created, listed and watched by three
 * client-node clients. The emulator runs in a child process so its RSS is its own. Prints RSS and
 * list latency (p50/max) and writes them to bench/kube-emulator.json. Figures, not a timed test.
 *
 *   node dist/hack/bench/kube-scale.js [--pods N] [--out bench/kube-emulator.json]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';

const CLIENTS = 3;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { pods: { type: 'string', default: '10000' }, out: { type: 'string', default: 'bench/kube-emulator.json' } } });
  const total = Number(values.pods);
  const token = randomBytes(16).toString('hex');
  const mainJs = join(dirname(fileURLToPath(import.meta.url)), '../emulators/kube/main.js');
  const child = spawn(process.execPath, [mainJs, '--token', token, '--namespace', 'bench'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const firstLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
  });
  const url = (JSON.parse(firstLine) as { url: string }).url;
  try {
    const rssStart = await rssMiB(child.pid as number);
    const clients = Array.from({ length: CLIENTS }, () => {
      const kc = new KubeConfig();
      kc.loadFromClusterAndUser({ name: 'emulator', server: url, skipTLSVerify: true }, { name: 'bench', token });
      return kc;
    });
    const apis = clients.map((kc) => kc.makeApiClient(CoreV1Api));

    const seen = clients.map(() => 0);
    const aborts = await Promise.all(clients.map((kc, i) => new Watch(kc).watch('/api/v1/namespaces/bench/pods', { resourceVersion: '1' }, (type) => {
      if (type === 'ADDED') seen[i]!++;
    }, () => undefined)));

    const createStart = Date.now();
    let next = 0;
    await Promise.all(apis.map(async (api) => {
      while (next < total) {
        const i = next++;
        await api.createNamespacedPod({ namespace: 'bench', body: { metadata: { name: `pod-${i}`, labels: { app: `a${i % 10}` } }, spec: { nodeName: `node-${i % 50}`, containers: [{ name: 'c', image: 'busybox' }] } } });
      }
    }));
    const createMs = Date.now() - createStart;
    const deadline = Date.now() + 60_000;
    while (seen.some((n) => n < total) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const watchCatchUpMs = Date.now() - createStart - createMs;
    const rssAfterCreate = await rssMiB(child.pid as number);

    const latencies: number[] = [];
    for (let round = 0; round < 5; round++) {
      await Promise.all(apis.map(async (api) => {
        const t = performance.now();
        const list = await api.listNamespacedPod({ namespace: 'bench' });
        latencies.push(performance.now() - t);
        if (list.items.length !== total) throw new Error(`list returned ${list.items.length} pods, want ${total}`);
      }));
    }
    latencies.sort((a, b) => a - b);
    const selT = performance.now();
    const selected = await apis[0]!.listNamespacedPod({ namespace: 'bench', labelSelector: 'app=a3', fieldSelector: 'spec.nodeName=node-3' });
    const selectorListMs = performance.now() - selT;
    const rssAfterLists = await rssMiB(child.pid as number);
    for (const a of aborts) a.abort();

    const figures = {
      pods: total,
      clients: CLIENTS,
      createSeconds: Math.round(createMs / 100) / 10,
      createsPerSecond: Math.round(total / (createMs / 1000)),
      watchEventsPerClient: seen,
      watchCatchUpAfterCreatesMs: watchCatchUpMs,
      listLatencyMs: { p50: Math.round(percentile(latencies, 50)), max: Math.round(latencies[latencies.length - 1] ?? 0), samples: latencies.length },
      selectorListMs: Math.round(selectorListMs),
      selectorListItems: selected.items.length,
      emulatorRssMiB: { start: rssStart, afterCreates: rssAfterCreate, afterLists: rssAfterLists },
      node: process.version,
      at: new Date().toISOString(),
    };
    await mkdir(dirname(values.out), { recursive: true });
    await writeFile(values.out, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(JSON.stringify(figures, null, 2));
  } finally {
    child.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
