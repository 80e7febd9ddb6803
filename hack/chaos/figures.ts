/**
 * Failover and recovery figures: kill the leader during a burst and time the new leader's
 * convergence (and count duplicate or lost ARM writes); start from many stale AzureAssignedIdentities
 * and drifted VMSS state and time convergence.
 */
import { identityId, vmssId } from '../emulators/azure/index.js';
import { ChaosEnv, CHAOS_RG, CHAOS_SUB, type FencedWrite } from './env.js';
import { forbiddenRemovals, quiescenceProblems } from './oracle.js';

const VMSS = 'aks-figures-11223344-vmss';
const CRD = 'aadpodidentity.k8s.io/v1';
const KUBELET_CLIENT_ID = 'c0ffee00-0000-4000-8000-00000000beef';
const poll = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Result of {@link measureFailover}. */
export interface FailoverFigures {
  leaseDurationMs: number;
  burstPods: number;
  /** Kill → the standby's controller active. */
  killToNewLeaderMs: number;
  /** Kill → cluster converged. */
  killToConvergedMs: number;
  /** Accepted PATCHes that re-added an identity already added by an accepted PATCH. */
  duplicateWrites: number;
  /** Desired identities or AAIs still missing at the deadline. */
  lostWrites: number;
  acceptedWrites: number;
  violations: string[];
}

/** Result of {@link measureStaleRecovery}. */
export interface StaleFigures {
  staleAssigned: number;
  livePods: number;
  /** Controller start → converged. */
  convergeMs: number;
  violations: string[];
}

interface Progress {
  progress?: (line: string) => void;
  crdDir?: string;
}

async function setupIdentities(env: ChaosEnv, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const clientId = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    ids.push(env.azure.controls.addIdentity(CHAOS_SUB, CHAOS_RG, `fig-${i}`, { clientId }));
    env.kube.controls.putObject({ apiVersion: CRD, kind: 'AzureIdentity', metadata: { name: `fig-${i}`, namespace: 'default' }, spec: { type: 0, resourceID: ids[i], clientID: clientId } });
    env.kube.controls.putObject({ apiVersion: CRD, kind: 'AzureIdentityBinding', metadata: { name: `fig-${i}`, namespace: 'default' }, spec: { azureIdentity: `fig-${i}`, selector: `sel-${i}` } });
  }
  const kubelet = env.azure.controls.addIdentity(CHAOS_SUB, CHAOS_RG, 'kubelet', { clientId: KUBELET_CLIENT_ID });
  for (const t of env.targetIds()) env.azure.controls.setResourceIdentities(t, [kubelet], 'initial');
  return ids;
}

function addPod(env: ChaosEnv, name: string, node: string, selector: string): void {
  env.kube.controls.putObject({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { aadpodidbinding: selector } },
    spec: { nodeName: node, containers: [{ name: 'app', image: 'busybox' }] },
  });
}

async function converge(env: ChaosEnv, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problems = quiescenceProblems(env.clusterView(false), { targets: env.azureTargets(), changes: env.azure.controls.identityChanges(), broken: new Set() });
    if (problems.length === 0 || Date.now() > deadline) return problems;
    await poll(50);
  }
}

/** Accepted PATCHes that add an identity some earlier accepted PATCH already added to the same target (with no removal between). */
export function duplicateAdds(writes: readonly FencedWrite[]): number {
  const present = new Set<string>();
  let dup = 0;
  for (const w of writes) {
    if (w.status < 200 || w.status >= 300) continue;
    const target = new URL(w.url).pathname.toLowerCase();
    for (const id of w.remove) present.delete(`${target}|${id}`);
    for (const id of w.add) {
      if (present.has(`${target}|${id}`)) dup++;
      present.add(`${target}|${id}`);
    }
  }
  return dup;
}

/** Kills (no lease release) the leader right after its first ARM write of a pod burst; measures the takeover. */
export async function measureFailover(o: Progress & { leaseDurationMs?: number; burstPods?: number; timeoutMs?: number } = {}): Promise<FailoverFigures> {
  const leaseDurationMs = o.leaseDurationMs ?? 15_000;
  const burstPods = o.burstPods ?? 60;
  const env = await ChaosEnv.start({ vmss: { [VMSS]: 4 }, vms: ['aks-figures-vm-0'], leaseDurationMs, immutableClientIds: [KUBELET_CLIENT_ID], crdDir: o.crdDir, lroLatencyMs: 300 });
  const log = o.progress ?? (() => undefined);
  try {
    const ids = await setupIdentities(env, 12);
    const first = await env.startReplica({ forceNamespaced: false });
    const standby = await env.startReplica({ forceNamespaced: false });
    for (let t = Date.now(); !first.app.active; await poll(20)) if (Date.now() - t > leaseDurationMs * 3) throw new Error('no leader');
    const nodes = env.clusterView(false).nodes.map((n) => n.metadata!.name!);
    first.crashAfterWrite = true;
    log(`failover: burst of ${burstPods} pods; ${first.name} crashes right after its first ARM write`);
    for (let i = 0; i < burstPods; i++) addPod(env, `burst-${i}`, nodes[i % nodes.length]!, `sel-${i % ids.length}`);
    for (let t = Date.now(); first.state === 'running'; await poll(5)) if (Date.now() - t > 60_000) throw new Error('the leader never wrote');
    const killedAt = Date.now();
    for (; !standby.app.active; await poll(20)) if (Date.now() - killedAt > leaseDurationMs * 4) break;
    const killToNewLeaderMs = Date.now() - killedAt;
    const problems = await converge(env, o.timeoutMs ?? leaseDurationMs + 60_000);
    const killToConvergedMs = Date.now() - killedAt;
    const violations = [...problems, ...env.fenceViolations, ...forbiddenRemovals(env.azure.controls.identityChanges(), new Set())];
    const accepted = env.writes.filter((w) => w.status >= 200 && w.status < 300);
    return {
      leaseDurationMs, burstPods, killToNewLeaderMs, killToConvergedMs,
      duplicateWrites: duplicateAdds(env.writes),
      lostWrites: problems.filter((p) => p.includes('missing')).length,
      acceptedWrites: accepted.length,
      violations,
    };
  } finally {
    await env.stop();
  }
}

/**
 * Starts the controller on `count` stale AzureAssignedIdentities (pods long gone, status Assigned,
 * with finalizers) plus live pods whose identities are missing from the VMSS; times convergence.
 */
export async function measureStaleRecovery(o: Progress & { count?: number; livePods?: number; timeoutMs?: number } = {}): Promise<StaleFigures> {
  const count = o.count ?? 1000;
  const livePods = o.livePods ?? 20;
  const env = await ChaosEnv.start({ vmss: { [VMSS]: 4 }, vms: [], immutableClientIds: [KUBELET_CLIENT_ID], crdDir: o.crdDir });
  const log = o.progress ?? (() => undefined);
  try {
    const ids = await setupIdentities(env, 8);
    const vmss = vmssId(CHAOS_SUB, CHAOS_RG, VMSS);
    const kubelet = identityId(CHAOS_SUB, CHAOS_RG, 'kubelet');
    // Drift: identities 0..3 were assigned by an earlier controller (recorded on the stale AAIs) and are no longer needed.
    env.azure.controls.setResourceIdentities(vmss, [kubelet, ...ids.slice(0, 4)], 'previous-mic');
    const nodes = env.clusterView(false).nodes.map((n) => n.metadata!.name!);
    const view = env.clusterView(false);
    const identityObjects = new Map(view.identities.map((i) => [i.metadata!.name!, i]));
    const bindingObjects = new Map(view.bindings.map((b) => [b.metadata!.name!, b]));
    for (let i = 0; i < count; i++) {
      const n = i % 4;
      const pod = `gone-${i}`;
      env.kube.controls.putObject({
        apiVersion: CRD, kind: 'AzureAssignedIdentity',
        metadata: { name: `${pod}-default-fig-${n}`, namespace: 'default', labels: { nodename: nodes[i % nodes.length]! }, finalizers: ['azureassignedidentity.finalizers.aadpodidentity.k8s.io'] },
        spec: {
          azureIdentityRef: { apiVersion: CRD, kind: 'AzureIdentity', ...identityObjects.get(`fig-${n}`) },
          azureBindingRef: { apiVersion: CRD, kind: 'AzureIdentityBinding', ...bindingObjects.get(`fig-${n}`) },
          pod, podNamespace: 'default', nodename: nodes[i % nodes.length]!,
        },
        status: { status: 'Assigned', availableReplicas: 1 },
      });
    }
    // Live pods need identities 4..7, which are missing from the VMSS.
    for (let i = 0; i < livePods; i++) addPod(env, `live-${i}`, nodes[i % nodes.length]!, `sel-${4 + (i % 4)}`);
    log(`stale: ${count} stale AzureAssignedIdentities, ${livePods} live pods, drifted VMSS`);
    const startedAt = Date.now();
    await env.startReplica({ forceNamespaced: false });
    const deadline = startedAt + (o.timeoutMs ?? 600_000);
    let problems: string[];
    for (;;) {
      const v = env.clusterView(false);
      const onVmss = new Set(env.azure.controls.getResourceIdentities(vmss).userAssigned);
      problems = [];
      if (v.assigned.length !== livePods) problems.push(`${v.assigned.length} AAIs instead of ${livePods}`);
      if (v.assigned.some((a) => (a.status as { status?: string } | undefined)?.status !== 'Assigned')) problems.push('AAIs not all Assigned');
      for (const id of ids.slice(0, 4)) if (onVmss.has(id.toLowerCase())) problems.push(`stale identity ${id} still on the VMSS`);
      for (const id of [kubelet, ...ids.slice(4)]) if (!onVmss.has(id.toLowerCase())) problems.push(`identity ${id} missing from the VMSS`);
      if (problems.length === 0 || Date.now() > deadline) break;
      await poll(100);
    }
    const convergeMs = Date.now() - startedAt;
    const immutable = new Set([kubelet.toLowerCase()]);
    const removedKubelet = env.azure.controls.identityChanges().some((c) => c.op === 'remove' && immutable.has(c.identity.toLowerCase()));
    return { staleAssigned: count, livePods, convergeMs, violations: [...problems, ...env.fenceViolations, ...(removedKubelet ? ['kubelet identity removed'] : [])] };
  } finally {
    await env.stop();
  }
}

/** Human-readable figures. */
export function formatFigures(f: FailoverFigures, s: StaleFigures): string {
  return [
    `failover (lease ${f.leaseDurationMs / 1000} s, burst of ${f.burstPods} pods, leader killed after its first ARM write):`,
    `  kill -> new leader active: ${(f.killToNewLeaderMs / 1000).toFixed(1)} s`,
    `  kill -> converged:         ${(f.killToConvergedMs / 1000).toFixed(1)} s (goal < 20 s)`,
    `  accepted ARM writes: ${f.acceptedWrites}; duplicate: ${f.duplicateWrites}; lost: ${f.lostWrites} (goal 0 / 0)`,
    `  violations: ${f.violations.length}${f.violations.length ? `\n    - ${f.violations.slice(0, 10).join('\n    - ')}` : ''}`,
    `recovery from ${s.staleAssigned} stale AzureAssignedIdentities + drifted VMSS (${s.livePods} live pods):`,
    `  start -> converged: ${(s.convergeMs / 1000).toFixed(1)} s`,
    `  violations: ${s.violations.length}${s.violations.length ? `\n    - ${s.violations.slice(0, 10).join('\n    - ')}` : ''}`,
  ].join('\n');
}
