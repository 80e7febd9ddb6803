/**
 * The randomized invariant run: a seeded stream of cluster changes, Azure drift and faults against
 * two controller replicas, with invariants checked after every step and at quiescence points.
 */
import { identityId } from '../emulators/azure/index.js';
import { ChaosEnv, CHAOS_RG, CHAOS_SUB, type Replica } from './env.js';
import { forbiddenRemovals, quiescenceProblems } from './oracle.js';
import { Prng } from './prng.js';

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  seed: number;
  steps: number;
  /** Check convergence every this many steps (and at the end). Default 25. */
  quiesceEvery?: number;
  /** Deadline of one convergence wait (default 60 s). */
  quiesceTimeoutMs?: number;
  /** Probability that a step also injects a fault (default 0.35). */
  faultRate?: number;
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
  crdDir?: string;
}

/** Outcome of a run. */
export interface ChaosReport {
  seed: number;
  steps: number;
  actions: Record<string, number>;
  faults: Record<string, number>;
  /** Invariant evaluations (continuous + quiescence). */
  checks: number;
  quiescencePoints: number;
  /** Longest convergence wait (ms). */
  maxConvergeMs: number;
  armWrites: number;
  replicasStarted: number;
  violations: string[];
  /** Every log line the replicas wrote (not printed; for secret scans). */
  logLines: string[];
  /** The emulated service principal secret (to scan logs for). */
  clientSecret: string;
  durationMs: number;
}

const VMSS_A = 'aks-pool1-13572468-vmss';
const VMSS_B = 'aks-pool2-24681357-vmss';
const VM = 'aks-standalone-0';
const NAMESPACES = ['default', 'team-a', 'team-b'];
const SELECTORS = ['web', 'api', 'batch', 'db'];
const MANAGED = Array.from({ length: 8 }, (_, i) => `managed-${i}`);
const FOREIGN = ['foreign-0', 'foreign-1', 'foreign-2'];

const ACTIONS = {
  addPod: 8, deletePod: 4, relabelPod: 2, movePod: 2,
  addIdentity: 3, editIdentity: 1, deleteIdentity: 1,
  addBinding: 3, editBinding: 1, deleteBinding: 1,
  addNode: 1, removeNode: 1, foreignAdd: 1, driftRemove: 1, toggleNamespaced: 0.3,
} as const;
const FAULTS = {
  arm429: 2, arm5xx: 2, armDrop: 1, armLroFail: 1, arm409: 1, identityForbidden: 0.4, identityVanished: 0.3,
  kube409: 1, kube500: 1, watchDrop: 1, compact: 0.7, crashLeader: 1, crashAfterWrite: 1, failover: 0.7,
} as const;
type Action = keyof typeof ACTIONS;
type Fault = keyof typeof FAULTS;

const CRD = 'aadpodidentity.k8s.io/v1';
const idOf = (name: string): string => identityId(CHAOS_SUB, CHAOS_RG, name);
const pace = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs one seeded chaos session and returns its figures. Never throws for invariant violations. */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const rnd = new Prng(o.seed);
  const log = o.progress ?? (() => undefined);
  const kubeletClientId = 'c0ffee00-0000-4000-8000-00000000cafe';
  const env = await ChaosEnv.start({ vmss: { [VMSS_A]: 2, [VMSS_B]: 2 }, vms: [VM], immutableClientIds: [kubeletClientId], crdDir: o.crdDir });
  const az = env.azure.controls;
  const report: ChaosReport = {
    seed: o.seed, steps: 0, actions: {}, faults: {}, checks: 0, quiescencePoints: 0, maxConvergeMs: 0,
    armWrites: 0, replicasStarted: 0, violations: [], logLines: env.logLines, clientSecret: env.azure.clientSecret, durationMs: 0,
  };
  const violation = (raw: string): void => {
    const v = raw.replace(/\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.(compute|managedidentity)\/[a-z]+\//gi, '');
    if (!report.violations.includes(v)) report.violations.push(v);
    log(`VIOLATION at step ${report.steps}: ${v}`);
  };
  const count = (bag: Record<string, number>, k: string): void => void (bag[k] = (bag[k] ?? 0) + 1);
  const recent: string[] = [];
  const remember = (what: string): void => {
    recent.push(`${report.steps}:${what}`);
    if (recent.length > 8) recent.shift();
  };

  // Azure side: identity pools; the kubelet identity on every target, one legacy identity pre-assigned on VMSS A.
  const clientIds = new Map<string, string>([['kubelet', kubeletClientId]]);
  for (const [i, n] of [...MANAGED, ...FOREIGN, 'legacy'].entries()) {
    clientIds.set(n, `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);
  }
  for (const n of [...MANAGED, ...FOREIGN]) az.addIdentity(CHAOS_SUB, CHAOS_RG, n, { clientId: clientIds.get(n) });
  const kubelet = az.addIdentity(CHAOS_SUB, CHAOS_RG, 'kubelet', { clientId: kubeletClientId });
  const legacy = az.addIdentity(CHAOS_SUB, CHAOS_RG, 'legacy', { clientId: clientIds.get('legacy') });
  for (const t of env.targetIds()) az.setResourceIdentities(t, t.includes(VMSS_A) ? [kubelet, legacy] : [kubelet], 'initial');
  const immutable = new Set([kubelet.toLowerCase()]);
  const broken = new Set<string>();
  const bindable = [...MANAGED, 'kubelet', 'legacy'];

  let namespaced = false;
  let podSeq = 0;
  const nextInstance: Record<string, number> = { [VMSS_A]: 2, [VMSS_B]: 2 };
  const put = (obj: unknown): void => void env.kube.controls.putObject(obj);
  const view = () => env.clusterView(namespaced);
  const startReplica = async (): Promise<Replica> => {
    report.replicasStarted++;
    return env.startReplica({ forceNamespaced: namespaced });
  };
  const ensureReplicas = async (): Promise<void> => {
    while (env.running().length < 2) await startReplica();
  };
  const podObject = (name: string, ns: string, node: string, selector: string) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { aadpodidbinding: selector } },
    spec: { nodeName: node, containers: [{ name: 'app', image: 'busybox' }] },
  });
  const identityObject = (name: string, ns: string, target: string) => ({
    apiVersion: CRD, kind: 'AzureIdentity', metadata: { name, namespace: ns },
    spec: { type: 0, resourceID: idOf(target), clientID: clientIds.get(target) },
  });
  const bindingObject = (name: string, ns: string, identity: string, selector: string) => ({
    apiVersion: CRD, kind: 'AzureIdentityBinding', metadata: { name, namespace: ns }, spec: { azureIdentity: identity, selector },
  });
  const path = (kind: 'pods' | 'azureidentities' | 'azureidentitybindings', ns: string, name: string): string =>
    kind === 'pods' ? `/api/v1/namespaces/${ns}/pods/${name}` : `/apis/${CRD}/namespaces/${ns}/${kind}/${name}`;
  const objName = (x: { metadata?: { name?: string; namespace?: string } }) => ({ name: x.metadata?.name ?? '', ns: x.metadata?.namespace ?? '' });

  const continuousChecks = (): void => {
    report.checks += 2;
    for (const v of forbiddenRemovals(az.identityChanges(), immutable)) violation(v);
    for (const v of env.fenceViolations) violation(v);
  };

  const quiesce = async (label: string): Promise<void> => {
    await ensureReplicas();
    report.quiescencePoints++;
    const t0 = Date.now();
    const deadline = t0 + (o.quiesceTimeoutMs ?? 60_000);
    let problems: string[];
    for (;;) {
      report.checks++;
      problems = quiescenceProblems(view(), { targets: env.azureTargets(), changes: az.identityChanges(), broken });
      continuousChecks();
      if (problems.length === 0 || Date.now() > deadline) break;
      await pace(200);
    }
    const ms = Date.now() - t0;
    report.maxConvergeMs = Math.max(report.maxConvergeMs, ms);
    if (problems.length > 0) {
      const leader = env.leader()?.name ?? 'none';
      violation(`not converged ${Math.round(ms / 1000)} s after ${label} (leader ${leader}, lease ${env.lease().holder ?? 'none'}, recent ${recent.join(' ')}): ${problems.slice(0, 6).join('; ')}${problems.length > 6 ? ` (+${problems.length - 6} more)` : ''}`);
    }
    else log(`converged after ${label} in ${ms} ms`);
  };

  const act = async (a: Action): Promise<boolean> => {
    const v = view();
    const nodes = v.nodes.map((n) => n.metadata?.name ?? '');
    switch (a) {
      case 'addPod': {
        const node = rnd.pick(nodes);
        if (!node) return false;
        put(podObject(`p-${podSeq++}`, rnd.pick(NAMESPACES)!, node, rnd.pick(SELECTORS)!));
        return true;
      }
      case 'deletePod': {
        const pod = rnd.pick(v.pods);
        if (!pod) return false;
        const { name, ns } = objName(pod);
        env.kube.controls.deleteObject(path('pods', ns, name));
        return true;
      }
      case 'relabelPod': {
        const pod = rnd.pick(v.pods);
        if (!pod) return false;
        const { name, ns } = objName(pod);
        put(podObject(name, ns, String(pod.spec?.nodeName), rnd.pick(SELECTORS)!));
        return true;
      }
      case 'movePod': {
        const pod = rnd.pick(v.pods);
        const node = rnd.pick(nodes);
        if (!pod || !node) return false;
        const { name, ns } = objName(pod);
        env.kube.controls.deleteObject(path('pods', ns, name));
        put(podObject(name, ns, node, pod.metadata?.labels?.aadpodidbinding ?? 'web'));
        return true;
      }
      case 'addIdentity':
      case 'editIdentity': {
        const existing = rnd.pick(v.identities);
        if (a === 'editIdentity' && !existing) return false;
        const { name, ns } = a === 'editIdentity' ? objName(existing!) : { name: `id-${rnd.int(6)}`, ns: rnd.pick(NAMESPACES)! };
        put(identityObject(name, ns, rnd.pick(bindable)!));
        return true;
      }
      case 'deleteIdentity': {
        const i = rnd.pick(v.identities);
        if (!i) return false;
        env.kube.controls.deleteObject(path('azureidentities', objName(i).ns, objName(i).name));
        return true;
      }
      case 'addBinding':
      case 'editBinding': {
        const existing = rnd.pick(v.bindings);
        if (a === 'editBinding' && !existing) return false;
        const { name, ns } = a === 'editBinding' ? objName(existing!) : { name: `b-${rnd.int(8)}`, ns: rnd.pick(NAMESPACES)! };
        // Mostly bind an identity of the same namespace; sometimes one that does not exist (yet).
        const sameNs = v.identities.filter((i) => objName(i).ns === ns).map((i) => objName(i).name);
        const identity = rnd.chance(0.8) && sameNs.length ? rnd.pick(sameNs)! : `id-${rnd.int(6)}`;
        put(bindingObject(name, ns, identity, rnd.pick(SELECTORS)!));
        return true;
      }
      case 'deleteBinding': {
        const b = rnd.pick(v.bindings);
        if (!b) return false;
        env.kube.controls.deleteObject(path('azureidentitybindings', objName(b).ns, objName(b).name));
        return true;
      }
      case 'addNode': {
        const vmss = rnd.chance(0.5) ? VMSS_A : VMSS_B;
        env.addNode(vmss, nextInstance[vmss]!++);
        return true;
      }
      case 'removeNode': {
        const node = rnd.pick(nodes.filter((n) => n !== VM));
        if (!node || nodes.length <= 2) return false;
        env.kube.controls.deleteObject(`/api/v1/nodes/${node}`);
        for (const p of v.pods.filter((p) => p.spec?.nodeName === node)) env.kube.controls.deleteObject(path('pods', objName(p).ns, objName(p).name));
        return true;
      }
      case 'foreignAdd': {
        const t = rnd.pick(env.targetIds())!;
        const current = az.getResourceIdentities(t).userAssigned;
        const f = idOf(rnd.pick(FOREIGN)!).toLowerCase();
        if (current.includes(f)) return false;
        az.setResourceIdentities(t, [...current, f], 'someone-else');
        return true;
      }
      case 'driftRemove': {
        // Remove, behind the controller's back, an identity the controller itself added.
        const t = rnd.pick(env.targetIds())!;
        const owned = new Set<string>();
        for (const c of az.identityChanges(t)) {
          if (c.op === 'add' && c.by === 'arm-client') owned.add(c.identity);
          else owned.delete(c.identity);
        }
        const victim = rnd.pick([...owned]);
        if (!victim) return false;
        az.setResourceIdentities(t, az.getResourceIdentities(t).userAssigned.filter((x) => x !== victim), 'drift');
        return true;
      }
      case 'toggleNamespaced': {
        for (const r of env.running()) await env.stopGracefully(r);
        namespaced = !namespaced;
        await ensureReplicas();
        return true;
      }
    }
  };

  const inject = async (f: Fault): Promise<boolean> => {
    const compute = /Microsoft\.Compute/i;
    switch (f) {
      case 'arm429': az.failNext({ method: 'PATCH', resource: compute, status: 429, code: 'TooManyRequests', message: 'throttled by chaos', retryAfterSeconds: 1 }); return true;
      case 'arm5xx': az.failNext({ method: rnd.chance(0.5) ? 'PATCH' : 'GET', resource: compute, status: rnd.chance(0.5) ? 500 : 503, code: 'InternalServerError', message: 'chaos' }); return true;
      case 'armDrop': az.failNext({ method: rnd.chance(0.5) ? 'PATCH' : 'GET', resource: compute, status: 500, drop: true }); return true;
      case 'armLroFail': az.failNext({ method: 'PATCH', resource: compute, lro: true, status: 500, code: 'InternalExecutionError', message: 'chaos: operation failed' }); return true;
      case 'arm409': az.failNext({ method: 'PATCH', resource: compute, status: 409, code: 'OperationNotAllowed', message: 'another operation is in progress (chaos)', retryAfterSeconds: 1 }); return true;
      case 'identityForbidden':
      case 'identityVanished': {
        const candidates = MANAGED.filter((n) => !broken.has(idOf(n).toLowerCase()));
        if (candidates.length <= MANAGED.length - 2) return false; // at most two broken identities per run
        const victim = idOf(rnd.pick(candidates)!);
        if (f === 'identityForbidden') az.setAssignable(victim, false);
        else az.removeIdentity(victim);
        broken.add(victim.toLowerCase());
        return true;
      }
      case 'kube409':
      case 'kube500':
        env.kube.controls.failNext({ verb: rnd.pick(['create', 'update', 'patch', 'delete'])!, path: /azureassignedidentities/, status: f === 'kube409' ? 409 : 500, reason: f === 'kube409' ? 'Conflict' : 'InternalError', message: 'chaos' });
        return true;
      case 'watchDrop': env.kube.controls.dropWatches(); return true;
      case 'compact': env.kube.controls.compact(); env.kube.controls.dropWatches(); return true;
      case 'crashLeader':
      case 'failover': {
        const leader = env.leader();
        if (!leader) return false;
        if (f === 'crashLeader') await env.crash(leader);
        else await env.stopGracefully(leader);
        await startReplica();
        return true;
      }
      case 'crashAfterWrite': {
        const leader = env.leader();
        if (!leader) return false;
        leader.crashAfterWrite = true;
        return true;
      }
    }
  };

  // Initial objects: every namespace has identities and bindings for every selector; the kubelet
  // and the legacy (pre-assigned) identities are bound too (upstream incidents #987, #93).
  for (const ns of NAMESPACES) {
    for (let i = 0; i < 3; i++) put(identityObject(`id-${i}`, ns, rnd.pick(MANAGED)!));
    for (const [i, sel] of SELECTORS.entries()) put(bindingObject(`b-${i}`, ns, `id-${i % 3}`, sel));
  }
  put(identityObject('id-kubelet', 'default', 'kubelet'));
  put(bindingObject('b-kubelet', 'default', 'id-kubelet', 'web'));
  put(identityObject('id-legacy', 'default', 'legacy'));
  put(bindingObject('b-legacy', 'default', 'id-legacy', 'api'));

  try {
    await ensureReplicas();
    for (let step = 1; step <= o.steps; step++) {
      report.steps = step;
      const a = rnd.weighted(ACTIONS);
      if (await act(a)) count(report.actions, a);
      if (rnd.chance(o.faultRate ?? 0.35)) {
        const f = rnd.weighted(FAULTS);
        if (await inject(f)) {
          count(report.faults, f);
          remember(f);
        }
      }
      // Replicas that crashed on their own schedule (crash-after-write) are replaced.
      if (env.running().length < 2 && rnd.chance(0.5)) await startReplica();
      continuousChecks();
      if (step % (o.quiesceEvery ?? 25) === 0) await quiesce(`step ${step}`);
      await pace(rnd.int(120));
    }
    await quiesce('the last step');
  } finally {
    report.armWrites = env.writes.length;
    report.durationMs = Date.now() - started;
    await env.stop();
  }
  return report;
}

/** Human-readable summary of a report (what `make chaos` prints). */
export function formatReport(r: ChaosReport): string {
  const bag = (b: Record<string, number>): string => Object.entries(b).sort().map(([k, n]) => `${k}=${n}`).join(' ') || '(none)';
  return [
    `chaos seed=${r.seed} steps=${r.steps} duration=${(r.durationMs / 1000).toFixed(1)}s`,
    `actions: ${bag(r.actions)}`,
    `faults injected (${Object.values(r.faults).reduce((s, n) => s + n, 0)}): ${bag(r.faults)}`,
    `replicas started: ${r.replicasStarted}; ARM writes: ${r.armWrites}`,
    `invariant checks: ${r.checks}; quiescence points: ${r.quiescencePoints}; slowest convergence: ${(r.maxConvergeMs / 1000).toFixed(1)}s`,
    `violations: ${r.violations.length}`,
    ...r.violations.map((v) => `  - ${v}`),
    `replay: make chaos ARGS="--seed ${r.seed} --steps ${r.steps}"`,
  ].join('\n');
}
