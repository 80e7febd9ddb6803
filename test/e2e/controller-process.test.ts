/**
 * Controller end-to-end tier: real controller processes (dist/controller/main.js) + the Azure
 * emulator + a Kubernetes API server — the emulator, or a real kube-apiserver in the jest project
 * `kube-apiserver`. Assign, unassign, failover after `kill -9` of the leader, and a restart that
 * converges from what the previous run left behind. One API server per file; each case uses its
 * own namespace, VMSS and Lease. The bare apiserver has no kubelet: pods get `spec.nodeName` from
 * the test and are deleted with `gracePeriodSeconds: 0`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { CoreV1Api } from '@kubernetes/client-node';
import { startKubeTarget, type KubeTarget } from '../support/kube-target.js';
import { MIC_BUILT, MIC_MAIN, startControllerEnv, type ControllerEnv } from '../support/controller-processes.js';
import { waitFor } from '../support/wait.js';
import type { Replica } from '../../hack/demo/replicas.js';

let target: KubeTarget;
let kubeconfigDir: string;
let env: ControllerEnv;
let namespaceCount = 0;

beforeAll(async () => {
  if (!MIC_BUILT) throw new Error(`${MIC_MAIN} is missing: run make build (make test builds first)`);
  target = await startKubeTarget({ crdDir: path.resolve('crds') });
  kubeconfigDir = await mkdtemp(path.join(tmpdir(), 'mic-e2e-kc-'));
  const replicaKubeconfig = path.join(kubeconfigDir, 'kubeconfig');
  await target.writeKubeconfig(replicaKubeconfig);
  env = await startControllerEnv({ kc: target.kc, replicaKubeconfig });
}, 90_000);

afterEach(async () => {
  // Each case ends with no replica running, so the next one starts from a quiet cluster.
  const stopped = env.replicas.splice(0);
  await Promise.allSettled(stopped.map((r) => r.stop(3000)));
  // No replica logged an error while it ran (the shutdown path's own "leader elector stopped" aside).
  const errors: string[] = [];
  for (const r of stopped) {
    for (const line of await env.logs(r)) {
      if (line.includes('"level":"error"') && !line.includes('leader elector stopped')) errors.push(`${r.name}: ${line.slice(0, 300)}`);
    }
  }
  expect(errors).toEqual([]);
});

afterAll(async () => {
  await env?.stop();
  await target?.stop();
  if (kubeconfigDir) await rm(kubeconfigDir, { recursive: true, force: true });
});

/** A fresh namespace for one case. */
async function namespace(): Promise<string> {
  const name = `e2e-${++namespaceCount}`;
  await target.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Waits until `count` AAIs of the namespace are Assigned (and no other exists); returns them. */
async function waitAssigned(ns: string, count: number, what: string): Promise<void> {
  await waitFor(async () => {
    const items = await env.assigned(ns);
    return items.length === count && items.every((a) => a.status?.status === 'Assigned');
  }, what, 30_000, 100);
}

async function leaderOf(lease: string, replicas: Replica[]): Promise<Replica> {
  const holder = await waitFor(() => env.leaseHolder(lease), `a holder of Lease ${lease}`, 20_000, 100);
  const leader = replicas.find((r) => r.name === holder);
  if (!leader) throw new Error(`Lease ${lease} held by ${holder}, none of ${replicas.map((r) => r.name).join(', ')}`);
  return leader;
}

describe(`controller processes against ${process.env.KUBE_TARGET === 'envtest' ? 'a real kube-apiserver' : 'the kube emulator'}`, () => {
  it('assigns an identity to the VMSS of a labelled pod, and removes both when the pod goes', async () => {
    const ns = await namespace();
    await env.addVmss('pool-assign', ['assign-node-0', 'assign-node-1']);
    const { resourceId } = await env.addIdentity('id-assign', ns);
    await env.startReplica('mic-assign-0', { leaseName: 'lease-assign' });
    await env.addPod('app-0', ns, 'assign-node-1', 'id-assign');
    await waitAssigned(ns, 1, 'AAI Assigned');
    expect(env.vmssIdentities('pool-assign')).toEqual([resourceId.toLowerCase()]);
    const [aai] = await env.assigned(ns);
    expect(aai).toMatchObject({ spec: { pod: 'app-0', podNamespace: ns, nodename: 'assign-node-1' }, metadata: { labels: { nodename: 'assign-node-1' } } });

    await env.deletePod('app-0', ns);
    await waitFor(async () => (await env.assigned(ns)).length === 0, 'AAI removed', 30_000, 100);
    await waitFor(() => env.vmssIdentities('pool-assign').length === 0, 'identity removed from the VMSS', 30_000, 100);
  });

  it('fails over to the standby after kill -9 of the leader, which then assigns new pods', async () => {
    const ns = await namespace();
    await env.addVmss('pool-failover', ['failover-node-0']);
    const { resourceId } = await env.addIdentity('id-failover', ns);
    const a = await env.startReplica('mic-failover-a', { leaseName: 'lease-failover' });
    const b = await env.startReplica('mic-failover-b', { leaseName: 'lease-failover' });
    const leader = await leaderOf('lease-failover', [a, b]);
    const standby = leader === a ? b : a;
    await env.addPod('before', ns, 'failover-node-0', 'id-failover');
    await waitAssigned(ns, 1, 'first pod Assigned by the leader');

    leader.killNow();
    await waitFor(async () => (await env.leaseHolder('lease-failover')) === standby.name, 'the standby to take the Lease', 30_000, 100);
    await env.addPod('after', ns, 'failover-node-0', 'id-failover');
    await waitAssigned(ns, 2, 'second pod Assigned by the new leader');
    expect(env.vmssIdentities('pool-failover')).toEqual([resourceId.toLowerCase()]);
    standby.assertRunning();
  });

  it('a restarted controller converges from what the stopped one left: removes the gone pod, assigns the new one', async () => {
    const ns = await namespace();
    await env.addVmss('pool-restart', ['restart-node-0', 'restart-node-1']);
    const kept = await env.addIdentity('id-kept', ns);
    const dropped = await env.addIdentity('id-dropped', ns);
    const added = await env.addIdentity('id-added', ns);
    const first = await env.startReplica('mic-restart-0', { leaseName: 'lease-restart' });
    await env.addPod('kept', ns, 'restart-node-0', 'id-kept');
    await env.addPod('dropped', ns, 'restart-node-1', 'id-dropped');
    await waitAssigned(ns, 2, 'two pods Assigned');
    await first.stop(5000);

    await env.deletePod('dropped', ns);
    await env.addPod('added', ns, 'restart-node-1', 'id-added');
    await env.startReplica('mic-restart-1', { leaseName: 'lease-restart' });
    await waitFor(async () => {
      const items = await env.assigned(ns);
      return items.length === 2 && items.every((a) => a.status?.status === 'Assigned') && items.map((a) => a.spec.pod).sort().join() === 'added,kept';
    }, 'AAIs for kept and added only', 30_000, 100);
    await waitFor(() => {
      const ids = env.vmssIdentities('pool-restart').sort();
      return ids.join() === [kept.resourceId, added.resourceId].map((id) => id.toLowerCase()).sort().join();
    }, `VMSS to hold id-kept and id-added, not ${dropped.resourceId}`, 30_000, 100);
  });
});
