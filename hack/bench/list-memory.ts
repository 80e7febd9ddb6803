#!/usr/bin/env node
/**
 * Memory of the initial pod list at 10,000 pods (a controller restarting in a large cluster; the
 * `scale` scenario starts empty and never relists). Fills the Kubernetes emulator with realistic
 * pods (two containers, env, probes, projected volume, status), then lists them in child processes
 * with the controller's V8 flags, each way twice: client-node's typed `listPodForAllNamespaces`
 * (model class instances, one response) and the informer's `listPages` (plain JSON, 500 per page),
 * both projected with `parsePodInfo`. Prints peak RSS and CPU of each child.
 *
 *   node dist/hack/bench/list-memory.js [pods]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startKubeEmulator } from '../emulators/kube/index.js';
import { CONTROLLER_NODE_OPTIONS } from './controller-child.js';

const run = promisify(execFile);

/** A pod shaped like a typical Deployment replica. */
export function realisticPod(i: number): Record<string, unknown> {
  const container = (c: number): Record<string, unknown> => ({
    name: `c${c}`,
    image: 'mcr.microsoft.com/azure-cli:2.60.0',
    env: Array.from({ length: 8 }, (_, k) => ({ name: `ENV_${k}`, value: `value-${k}` })),
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
    readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `web-${i}`,
      namespace: 'shop',
      labels: { aadpodidbinding: `id-${i % 100}`, app: 'web', 'pod-template-hash': 'abc123' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc123', uid: '0f7e3a1c-1111-2222-3333-444455556666', controller: true }],
    },
    spec: {
      nodeName: `aks-pool-${i % 1000}`,
      containers: [container(0), container(1)],
      volumes: [{ name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] } }],
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
    },
    status: {
      phase: 'Running',
      podIP: `10.0.${i % 250}.${i % 200}`,
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: '2024-01-01T00:00:00Z' })),
      containerStatuses: [0, 1].map((c) => ({ name: `c${c}`, ready: true, restartCount: 0, image: 'mcr.microsoft.com/azure-cli:2.60.0', imageID: `sha256:${'ab'.repeat(32)}`, started: true })),
    },
  };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? '10000');
  const emu = await startKubeEmulator({ tls: false, namespaces: ['shop'] });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mic-list-memory-'));
  try {
    for (let i = 0; i < count; i++) emu.controls.putObject(realisticPod(i));
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, emu.kubeConfig().exportConfig());
    const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'list-memory-child.js');
    for (const mode of ['typed', 'paged', 'typed', 'paged']) {
      const { stdout } = await run(process.execPath, [...CONTROLLER_NODE_OPTIONS.split(' '), child, mode, kubeconfig], { encoding: 'utf8' });
      process.stdout.write(stdout);
    }
  } finally {
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`list-memory: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
