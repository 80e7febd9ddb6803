/**
 * Failover and recovery figures: kill the leader during a burst and time the new leader's
 * convergence (and count duplicate or lost ARM writes); start from many stale AzureAssignedIdentities
 * and drifted VMSS state and time convergence.
 */
import { identityId, vmssId } from '../emulators/azure/index.js';
import { ChaosEnv, CHAOS_RG, CHAOS_SUB } from './env.js';
import { addPod, converge, duplicateAdds, FIGURES_VM, FIGURES_VMSS, KUBELET_CLIENT_ID, pause as poll, setupIdentities } from './fixtures.js';
import { forbiddenRemovals } from './oracle.js';
import type { ProcessFailoverFigures } from './process-failover.js';

const VMSS = FIGURES_VMSS;
const CRD = 'aadpodidentity.k8s.io/v1';

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
  /** `--clientQps` of the controller. */
  clientQps: number;
  /** Controller start → converged. */
  convergeMs: number;
  violations: string[];
}

interface Progress {
  progress?: (line: string) => void;
  crdDir?: string;
}

/** Re-exported for callers of the figures module. */
export { duplicateAdds };

/** Kills (no lease release) the leader right after its first ARM write of a pod burst; measures the takeover. */
export async function measureFailover(o: Progress & { leaseDurationMs?: number; burstPods?: number; timeoutMs?: number } = {}): Promise<FailoverFigures> {
  const leaseDurationMs = o.leaseDurationMs ?? 15_000;
  const burstPods = o.burstPods ?? 60;
  const env = await ChaosEnv.start({ vmss: { [VMSS]: 4 }, vms: [FIGURES_VM], leaseDurationMs, immutableClientIds: [KUBELET_CLIENT_ID], crdDir: o.crdDir, lroLatencyMs: 300 });
  const log = o.progress ?? (() => undefined);
  try {
    const ids = setupIdentities(env, 12);
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
      duplicateWrites: duplicateAdds(env.writes.map((w) => ({ ...w, target: w.url }))),
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
export async function measureStaleRecovery(o: Progress & { count?: number; livePods?: number; timeoutMs?: number; clientQps?: number } = {}): Promise<StaleFigures> {
  const count = o.count ?? 1000;
  const clientQps = o.clientQps ?? 5;
  const livePods = o.livePods ?? 20;
  const env = await ChaosEnv.start({ vmss: { [VMSS]: 4 }, vms: [], immutableClientIds: [KUBELET_CLIENT_ID], crdDir: o.crdDir });
  const log = o.progress ?? (() => undefined);
  try {
    const ids = setupIdentities(env, 8);
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
    log(`stale: ${count} stale AzureAssignedIdentities, ${livePods} live pods, drifted VMSS, --clientQps=${clientQps}`);
    const startedAt = Date.now();
    await env.startReplica({ forceNamespaced: false, options: { clientQps } });
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
    return { staleAssigned: count, livePods, clientQps, convergeMs, violations: [...problems, ...env.fenceViolations, ...(removedKubelet ? ['kubelet identity removed'] : [])] };
  } finally {
    await env.stop();
  }
}

const list = (v: readonly string[]): string => (v.length ? `\n    - ${v.slice(0, 10).join('\n    - ')}${v.length > 10 ? `\n    (+${v.length - 10} more)` : ''}` : '');
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Human-readable figures of whichever measurements ran. */
export function formatFigures(f: { inProcess?: FailoverFigures; kill9?: ProcessFailoverFigures; stale?: StaleFigures[] }): string {
  const out: string[] = [];
  if (f.inProcess) {
    const x = f.inProcess;
    out.push(
      `failover, in-process replicas (lease ${x.leaseDurationMs / 1000} s, burst of ${x.burstPods} pods, leader stopped without releasing the lease after its first ARM write):`,
      `  kill -> new leader active: ${secs(x.killToNewLeaderMs)}`,
      `  kill -> converged:         ${secs(x.killToConvergedMs)} (goal < 20 s)`,
      `  accepted ARM writes: ${x.acceptedWrites}; duplicate: ${x.duplicateWrites}; lost: ${x.lostWrites} (goal 0 / 0)`,
      `  violations: ${x.violations.length}${list(x.violations)}`,
    );
  }
  if (f.kill9) {
    const x = f.kill9;
    const holders = x.holderChanges.map((h) => h.holder ?? 'nobody').join(' -> ');
    out.push(
      `failover, kill -9 of a controller process (lease ${x.leaseDurationMs / 1000} s, burst of ${x.burstPods} pods, SIGKILL once ARM accepted the leader's first PATCH):`,
      `  burst -> kill: ${secs(x.burstToKillMs)}; the killed PATCH added ${x.killedWriteAdds} identities; AAIs at the kill: ${x.aaisAtKill} (${x.assignedAtKill} Assigned)`,
      `  kill -> standby holds the Lease: ${secs(x.killToNewLeaderMs)}`,
      `  kill -> converged:               ${secs(x.killToConvergedMs)}`,
      `  goal: lease + 2 s + (writes left) / clientQps = ${x.leaseDurationMs / 1000} s + 2 s + ${x.kubeWritesLeft} / ${x.clientQps} = ${secs(x.goalMs)}; measured ${secs(x.killToConvergedMs)}: ${x.killToConvergedMs <= x.goalMs ? 'within' : 'OVER'}`,
      `  writes left: ${x.kubeWritesLeft} AzureAssignedIdentity writes by the new leader (minimum ${x.minimumWritesLeft}: one per pod not Assigned at the kill)`,
      `  accepted ARM writes: ${Object.entries(x.acceptedWrites).map(([r, n]) => `${r}=${n}`).join(' ')}; duplicate identity adds: ${x.duplicateWrites}; lost: ${x.lostWrites}`,
      `  Lease holders: ${holders}`,
      `  violations (forbidden removals, writes from a non-holder, non-convergence): ${x.violations.length}${list(x.violations)}`,
      ...(x.logDir ? [`  replica logs: ${x.logDir}`] : []),
    );
  }
  for (const s of f.stale ?? []) {
    out.push(
      `recovery from ${s.staleAssigned} stale AzureAssignedIdentities + drifted VMSS (${s.livePods} live pods, --clientQps=${s.clientQps}):`,
      `  start -> converged: ${secs(s.convergeMs)}`,
      `  violations: ${s.violations.length}${list(s.violations)}`,
    );
  }
  return out.join('\n');
}
