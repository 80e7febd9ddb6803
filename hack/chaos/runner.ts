/**
 * The randomized invariant run: a seeded stream of cluster changes, Azure drift, out-of-band
 * writers (actors.ts) and faults against two controller replicas, with invariants checked after
 * every step (invariants.ts) and at quiescence points (oracle.ts).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { identityId, vmId, vmssId } from '../emulators/azure/index.js';
import { ACTOR_KINDS, OutOfBandActors, type ActorKind, type ActorTarget } from './actors.js';
import { ChaosEnv, CHAOS_RG, CHAOS_SUB, type Replica } from './env.js';
import { AssignedSampler, short, WriteLedger, type AssignedBounds, type WriteViolation } from './invariants.js';
import { quiescenceProblems } from './oracle.js';
import { Prng } from './prng.js';
import { actorOfAgent, isControllerWrite, writerName } from './writers.js';

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
  /** Most pods alive at once; `addPod` deletes a pod instead beyond it (default 40). */
  maxPods?: number;
  /** Longest random pause between two steps (ms, default 40). */
  maxPauseMs?: number;
  /** Multiplies the weights of the out-of-band actors (default 1). */
  actorRate?: number;
  /**
   * Speed-up of ARM's throttling budgets (default 10): a step lasts ~0.1 s but stands for minutes of
   * a real cluster's life, so the per-VMSS budgets (4 writes/min, 12 reads/min after the burst) are
   * scaled with it, and the controller and the out-of-band writers compete for them in proportion.
   */
  armTimeScale?: number;
  /** `--clientQps` of the replicas (default 25: the Kubernetes write budget is not what this run tests). */
  clientQps?: number;
  /** Windows of invariant (b) (defaults: see {@link DEFAULT_ASSIGNED_BOUNDS}). */
  assignedBounds?: AssignedBounds;
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
  /** Controller PATCHes answered 412 (an out-of-band write came between its read and its write; re-read, re-planned, retried). */
  armPreconditionFailed: number;
  replicasStarted: number;
  /** Replicas that lost their lease while running and exited (replaced like a restarted pod). */
  leaseLosses: number;
  /** Out-of-band actions by actor and outcome (`policy.written`, `upgrade.gave-up`, ...). */
  actors: Record<string, number>;
  /** Invariant (a): controller writes checked; (b): Assigned observations, of which inside a repair window. */
  controllerWritesChecked: number;
  assignedObservations: number;
  assignedInWindow: number;
  /** Longest observed time an AAI stayed Assigned after an out-of-band removal (ms, within the bound). */
  maxStaleAssignedMs: number;
  /** Longest stall of the shared event loop (replicas, emulators and runner), in ms. */
  maxLoopStallMs: number;
  /** Mean wall-clock time of a step, quiescence waits included (ms). */
  meanStepMs: number;
  violations: string[];
  /** The latest log lines the replicas wrote (not printed; every line is scanned for the secret during the run). */
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

const ADDON = 'addon-omsagent';

const ACTIONS = {
  addPod: 8, deletePod: 4, relabelPod: 2, movePod: 2,
  addIdentity: 3, editIdentity: 1, deleteIdentity: 1,
  addBinding: 3, editBinding: 1, deleteBinding: 1,
  addNode: 1, removeNode: 1, foreignAdd: 1, driftRemove: 1, toggleNamespaced: 0.3,
  // Out-of-band writers through ARM REST (actors.ts).
  policy: 0.6, addon: 0.6, upgrade: 0.4, human: 0.6,
} as const;
const FAULTS = {
  arm429: 2, arm5xx: 2, armDrop: 1, armLroFail: 1, arm409: 1, identityForbidden: 0.4, identityVanished: 0.3,
  kube409: 1, kube500: 1, watchDrop: 1, compact: 0.7, crashLeader: 1, crashAfterWrite: 1, failover: 0.7,
} as const;
type Action = keyof typeof ACTIONS;
type Fault = keyof typeof FAULTS;

/**
 * Default windows of invariant (b) for the chaos topology (reconcile interval 1 s, drift back-off
 * up to 8 s, lease 3 s): an AAI may turn Assigned up to 6 s after an out-of-band removal (its
 * confirmed read may be one interval old, plus the rate-limited status write), and may stay Assigned
 * up to 30 s after one (a drift read, a leader failover, a 429/409-delayed repair or demotion).
 */
export const DEFAULT_ASSIGNED_BOUNDS: AssignedBounds = { newAssignMs: 6_000, repairMs: 30_000 };

const CRD = 'aadpodidentity.k8s.io/v1';
const idOf = (name: string): string => identityId(CHAOS_SUB, CHAOS_RG, name);
const hms = (ms: number): string => new Date(ms).toISOString().slice(11, 23);
const pace = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs one seeded chaos session and returns its figures. Never throws for invariant violations. */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const rnd = new Prng(o.seed);
  const log = o.progress ?? (() => undefined);
  const kubeletClientId = 'c0ffee00-0000-4000-8000-00000000cafe';
  const recent: string[] = [];
  let currentStep = 0;
  const remember = (what: string): void => {
    recent.push(`${currentStep}:${what}`);
    if (recent.length > 16) recent.shift();
  };
  const env = await ChaosEnv.start({
    vmss: { [VMSS_A]: 2, [VMSS_B]: 2 }, vms: [VM], immutableClientIds: [kubeletClientId], crdDir: o.crdDir, clientQps: o.clientQps ?? 25, armTimeScale: o.armTimeScale ?? 10,
    onLeaseLost: (r, why) => {
      remember(`leaseLost:${r.name}@${hms(Date.now())}:${why.replaceAll(' ', '_')}:stall${stallMs()}ms`);
      log(`${r.name} lost its lease at step ${currentStep} (${why}); longest event-loop stall since the last quiescence point ${stallMs()} ms`);
    },
  });
  // Every replica, both emulators and this runner share one event loop: a long stall delays lease
  // renewals (and can cost a lease) and every write; violation reports name the worst stall since the last quiescence point.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  /** Longest event-loop stall since the last quiescence point (ms). */
  const stallMs = (): number => Math.round(loopDelay.max / 1e6);
  let leaderlessSince: number | undefined;
  const az = env.azure.controls;
  const report: ChaosReport = {
    seed: o.seed, steps: 0, actions: {}, faults: {}, checks: 0, quiescencePoints: 0, maxConvergeMs: 0,
    maxLoopStallMs: 0, armWrites: 0, armPreconditionFailed: 0, replicasStarted: 0, leaseLosses: 0, violations: [], logLines: env.logLines, clientSecret: env.azure.clientSecret, durationMs: 0,
    actors: {}, controllerWritesChecked: 0, assignedObservations: 0, assignedInWindow: 0, maxStaleAssignedMs: 0, meanStepMs: 0,
  };
  const seenViolations = new Set<string>();
  const violation = (raw: string): void => {
    const v = raw.replace(/\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.(compute|managedidentity)\/[a-z]+\//gi, '');
    if (seenViolations.has(v)) return; // fence violations and leaks are re-checked every step: report each once
    seenViolations.add(v);
    report.violations.push(v);
    log(`VIOLATION at step ${report.steps}: ${v}`);
  };
  const count = (bag: Record<string, number>, k: string): void => void (bag[k] = (bag[k] ?? 0) + 1);

  // Azure side: identity pools; the kubelet identity on every target, one legacy identity pre-assigned on VMSS A.
  const clientIds = new Map<string, string>([['kubelet', kubeletClientId]]);
  for (const [i, n] of [...MANAGED, ...FOREIGN, 'legacy'].entries()) {
    clientIds.set(n, `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);
  }
  for (const n of [...MANAGED, ...FOREIGN]) az.addIdentity(CHAOS_SUB, CHAOS_RG, n, { clientId: clientIds.get(n) });
  const kubelet = az.addIdentity(CHAOS_SUB, CHAOS_RG, 'kubelet', { clientId: kubeletClientId });
  const legacy = az.addIdentity(CHAOS_SUB, CHAOS_RG, 'legacy', { clientId: clientIds.get('legacy') });
  const addon = az.addIdentity(CHAOS_SUB, CHAOS_RG, ADDON);
  for (const t of env.targetIds()) az.setResourceIdentities(t, t.includes(VMSS_A) ? [kubelet, legacy] : [kubelet], 'initial');
  const immutable = new Set([kubelet.toLowerCase()]);
  const broken = new Set<string>();
  const bindable = [...MANAGED, 'kubelet', 'legacy'];

  // Invariants (a) and (b), fed incrementally from the emulator's attributed write log.
  const ledger = new WriteLedger({ immutable, manageable: new Set(bindable.map((n) => idOf(n).toLowerCase())) });
  const sampler = new AssignedSampler(o.assignedBounds ?? DEFAULT_ASSIGNED_BOUNDS);
  const actors = new OutOfBandActors({
    azure: env.azure, subscriptionId: CHAOS_SUB, resourceGroup: CHAOS_RG, addonIdentity: addon,
    aksManaged: new Set([kubelet.toLowerCase(), addon.toLowerCase()]),
    controllerOwned: (t) => ledger.controllerOwned(t),
  });
  const actorTargets: ActorTarget[] = [
    ...[VMSS_A, VMSS_B].map((name) => ({ kind: 'vmss' as const, name, id: vmssId(CHAOS_SUB, CHAOS_RG, name).toLowerCase() })),
    { kind: 'vm', name: VM, id: vmId(CHAOS_SUB, CHAOS_RG, VM).toLowerCase() },
  ];

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

  /** A scale set's identity state in reports: `{system on|off, user <short ids>|-}`. */
  const identityState = (x: { systemAssigned: boolean; userAssigned: string[] }): string =>
    `{system ${x.systemAssigned ? 'on' : 'off'}, user ${x.userAssigned.map(short).join(',') || '-'}}`;

  /**
   * Evidence of the controller's view of a target at `until`: its last read (GET of the resource, not
   * an LRO poll) before that, its reads since `since`, and the other writers' writes since that read
   * (`fromLastRead`) or since `since`.
   */
  const controllerContext = (target: string, since: number, until: number, fromLastRead: boolean): string => {
    const audit = az.auditLog().filter((e) => e.resource === target && !actorOfAgent(e.userAgent));
    const reads = audit.filter((e) => e.kind === 'read' && e.method === 'GET' && e.status === 200);
    const lastRead = reads.filter((e) => e.at <= until).pop();
    const from = fromLastRead ? (lastRead?.at ?? since) : since;
    const others = az.identityWrites(target).filter((w) => w.at >= from && w.at < until && !isControllerWrite(w));
    return `; controller's last read of ${short(target)} before ${hms(until)}: ${lastRead ? hms(lastRead.at) : 'never'}` +
      `, its reads since ${hms(since)}: ${reads.filter((e) => e.at > since && e.at <= until).length}` +
      `; other writers since ${fromLastRead ? 'that read' : hms(from)}: ${others.map((w) => `${writerName(w)}@${hms(w.at)} ${identityState(w.before)}→${identityState(w.after)}`).join(', ') || 'none'}` +
      `; leader ${env.leader()?.name ?? `none${leaderlessSince === undefined ? '' : ` since ${hms(leaderlessSince)}`}`}` +
      `; longest event-loop stall since the last quiescence point ${stallMs()} ms; recent ${recent.join(' ')}`;
  };
  const describeWrite = (v: WriteViolation): string => {
    const w = v.write;
    // The PATCH was accepted before it was applied: plan evidence is relative to the send time.
    const target = w.resource.toLowerCase();
    const sent = az.auditLog().filter((e) => e.resource === target && e.method === 'PATCH' && e.status === 202 && e.at <= w.at && e.userAgent === w.agent).pop()?.at ?? w.at;
    return `(a) controller write on ${short(w.resource)} sent at ${hms(sent)}, applied at ${hms(w.at)}, by "${(w.agent ?? '?').split(' azsdk')[0]}": ${JSON.stringify(w.request)}; ` +
      `before ${identityState(w.before)}, after ${identityState(w.after)}: ${v.problems.join('; ')}${controllerContext(target, sent - 60_000, sent, true)}`;
  };

  const continuousChecks = (): void => {
    report.checks += 3;
    if (env.leader()) leaderlessSince = undefined;
    else leaderlessSince ??= Date.now();
    // One synchronous snapshot of both emulators (same tick): the Azure write log so far, then the cluster objects.
    for (const v of ledger.apply(az.identityWrites(undefined, ledger.position))) violation(describeWrite(v));
    const now = Date.now();
    for (const v of sampler.sample(env.clusterView(namespaced, { events: false }), ledger, now)) {
      violation(`(b) ${v.message}${controllerContext(v.target, v.removedAt ?? now - 60_000, now, false)}`);
    }
    for (const v of env.fenceViolations) violation(v);
    for (const line of env.secretLeaks) violation(`the client secret appears in a log line: ${line.slice(0, 160).replaceAll(env.azure.clientSecret, '<secret>')}`);
  };

  const quiesce = async (label: string): Promise<void> => {
    await actors.settle();
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
      await ensureReplicas(); // a replica that lost its lease meanwhile is replaced, as its Deployment would
    }
    const ms = Date.now() - t0;
    report.maxConvergeMs = Math.max(report.maxConvergeMs, ms);
    if (problems.length > 0) {
      const leader = env.leader()?.name ?? 'none';
      const lease = env.lease();
      violation(`not converged ${Math.round(ms / 1000)} s after ${label} (leader ${leader}, lease ${lease.holder ?? 'none'} ${lease.expiresAt > Date.now() ? 'live' : 'expired'}, replicas ${env.describeReplicas()}, longest event-loop stall ${stallMs()} ms, recent ${recent.join(' ')}): ${problems.slice(0, 6).join('; ')}${problems.length > 6 ? ` (+${problems.length - 6} more)` : ''}`);
    }
    else log(`converged after ${label} in ${ms} ms`);
    report.maxLoopStallMs = Math.max(report.maxLoopStallMs, stallMs());
    loopDelay.reset();
  };

  const act = async (a: Action): Promise<boolean> => {
    const v = view();
    const nodes = v.nodes.map((n) => n.metadata?.name ?? '');
    switch (a) {
      case 'addPod': {
        const node = rnd.pick(nodes);
        if (!node) return false;
        if (v.pods.length >= (o.maxPods ?? 40)) return act('deletePod');
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
        const victim = rnd.pick(ledger.controllerOwned(t).sort());
        if (!victim) return false;
        az.setResourceIdentities(t, az.getResourceIdentities(t).userAssigned.filter((x) => x !== victim), 'drift');
        return true;
      }
      case 'policy':
      case 'addon':
      case 'human':
      case 'upgrade': {
        const targets = a === 'upgrade' ? actorTargets.filter((t) => t.kind === 'vmss') : actorTargets;
        const target = rnd.pick(targets)!;
        const seed = rnd.int(2 ** 31);
        if (!actors.start(a as ActorKind, target, seed)) return false;
        remember(`${a}:${short(target.id)}`);
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

  const weights: Record<Action, number> = { ...ACTIONS };
  for (const k of ACTOR_KINDS) weights[k] *= o.actorRate ?? 1;
  try {
    await ensureReplicas();
    for (let step = 1; step <= o.steps; step++) {
      report.steps = step;
      currentStep = step;
      const a = rnd.weighted(weights);
      if (await act(a)) {
        count(report.actions, a);
        if (!(ACTOR_KINDS as readonly string[]).includes(a)) remember(a);
      }
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
      await pace(rnd.int((o.maxPauseMs ?? 40) + 1));
    }
    await quiesce('the last step');
  } finally {
    loopDelay.disable();
    await actors.settle();
    for (const r of actors.records) {
      count(report.actors, `${r.actor}.${r.outcome}`);
      for (const [status, n] of Object.entries(r.retries)) report.actors[`retried.${status}`] = (report.actors[`retried.${status}`] ?? 0) + n;
    }
    report.controllerWritesChecked = ledger.controllerWrites;
    report.assignedObservations = sampler.observations;
    report.assignedInWindow = sampler.inWindow;
    report.maxStaleAssignedMs = sampler.maxStaleMs;
    report.meanStepMs = report.steps > 0 ? (Date.now() - started) / report.steps : 0;
    report.armWrites = env.writes.length;
    report.armPreconditionFailed = env.writes.filter((w) => w.status === 412).length;
    report.leaseLosses = env.leaseLosses;
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
    `replicas started: ${r.replicasStarted} (${r.leaseLosses} exited after losing the lease); ARM writes: ${r.armWrites} (${r.armPreconditionFailed} answered 412 and re-planned); mean step ${r.meanStepMs.toFixed(0)} ms`,
    `out-of-band actions: ${bag(r.actors)}`,
    `(a) controller writes checked: ${r.controllerWritesChecked}; (b) Assigned observations: ${r.assignedObservations}, inside a repair window: ${r.assignedInWindow}, longest: ${(r.maxStaleAssignedMs / 1000).toFixed(1)}s`,
    `invariant checks: ${r.checks}; quiescence points: ${r.quiescencePoints}; slowest convergence: ${(r.maxConvergeMs / 1000).toFixed(1)}s; longest event-loop stall: ${r.maxLoopStallMs} ms`,
    `violations: ${r.violations.length}`,
    ...r.violations.map((v) => `  - ${v}`),
    `replay: make chaos ARGS="--seed ${r.seed} --steps ${r.steps}"`,
  ].join('\n');
}
