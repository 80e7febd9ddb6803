/**
 * Runs one benchmark scenario end to end: emulated cluster, controller child process, the pod
 * workload on emulated time, completion wait, and the figures (latency in units of L, ARM and
 * Kubernetes request counts, the lower bound, controller CPU and memory, target verdicts).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { vmssId } from '../emulators/azure/index.js';
import { OBSERVER_MARKER } from './aai-observer.js';
import { countAaiWrites } from './aai-writes.js';
import { startCluster, type BenchCluster, type BenchNode, type BenchPod } from './cluster.js';
import { startController, type ControllerChild } from './controller-child.js';
import { desiredChangesFromPods, lowerBoundWrites } from './lower-bound.js';
import type { ProcSample } from './proc-stats.js';
import { distribution, scaleDistribution, seededRandom, type Distribution } from './stats.js';

/** One pod change of a workload, at an emulated offset from the workload start. */
export interface PodAction {
  /** Emulated ms after the start. */
  at: number;
  op: 'create' | 'delete';
  pod: string;
  node?: BenchNode;
  identity?: string;
}

/** What the workload generator gets to build its actions. */
export interface WorkloadContext {
  nodes: BenchNode[];
  identities: string[];
  rand: () => number;
}

/** How a scenario decides it is done. */
export type Completion =
  /** Every pod created (and not deleted) has an Assigned AAI. */
  | { kind: 'all-assigned' }
  /** Wait this long (emulated) after the last action. */
  | { kind: 'settle'; emuMs: number }
  /** All assigned, then measure an idle window of this emulated length. */
  | { kind: 'steady'; windowEmuMs: number };

/** A scenario definition (one size). */
export interface ScenarioDef {
  name: string;
  title: string;
  seed: number;
  cluster: { vmss: number; nodesPerVmss: number; identities: number };
  /** L: emulated ms one ARM PATCH takes. */
  lroLatencyMs: number;
  timeScale: number;
  /** `--unassign-grace-period` in emulated ms (0: flag not passed). */
  graceEmuMs: number;
  actions(ctx: WorkloadContext): PodAction[];
  completion: Completion;
  /** After completion, delete every pod and wait until no AAI is left (counted as pod changes). */
  drain?: boolean;
  /** Give up waiting after this many emulated ms past the last action. */
  deadlineEmuMs: number;
  /** Target checks (goals, not tests). */
  targets: TargetDef[];
  /**
   * Every scale set already holds every bench identity before the controller starts (added by someone
   * else): a burst onto warm targets, which needs no ARM write and one Kubernetes write per pod.
   */
  warmTargets?: boolean;
  /** Real ms to leave the active controller idle before reading its idle memory (default 10 s). */
  idleSettleMs?: number;
}

/** A goal with its verdict function. */
export interface TargetDef {
  name: string;
  check(f: ScenarioFigures): { pass: boolean; detail: string };
}

/** Verdict of one target. */
export interface TargetResult {
  name: string;
  pass: boolean;
  detail: string;
}

/** Every figure of one scenario run. */
export interface ScenarioFigures {
  scenario: string;
  title: string;
  /** False when the run did not complete (controller failure or timeout); `error` says why. */
  completed: boolean;
  error?: string;
  params: {
    lroLatencySeconds: number;
    timeScale: number;
    vmss: number;
    nodes: number;
    identities: number;
    pods: number;
    podChanges: number;
    controllerFlags: string[];
  };
  /** pod → Assigned latency in units of L. */
  latencyL: Distribution;
  assignedPods: number;
  neverAssignedPods: number;
  /** First pod creation → last pod Assigned, in units of L and in emulated seconds. */
  allAssignedL?: number;
  allAssignedSeconds?: number;
  /** The same in real ms (the burst target allows 2 L + 1 real second per sequential write, see `scaleSets`). */
  allAssignedRealMs?: number;
  /**
   * Per scale set (burst-type scenarios): its pods, the distinct identities they need and first pod
   * created (in the whole run) → its last pod `Assigned`, real ms. ARM takes at most 150 identities
   * per PATCH and one operation at a time per scale set, so a set needing more than 150 needs
   * sequential writes of L each.
   */
  scaleSets?: { name: string; pods: number; identities: number; allAssignedRealMs: number }[];
  arm: { writes: number; reads: number; polls: number; throttled: number; /** Absent in results recorded before 412s were counted. */ preconditionFailed?: number; total: number };
  /** Steady scenario: ARM calls extrapolated to one emulated day. */
  armCallsPerDay?: number;
  lowerBoundWrites: number;
  writesOverBound?: number;
  kube: {
    requests: number;
    perAssignment?: number;
    byVerb: Record<string, number>;
    /**
     * The controller's AzureAssignedIdentity creates, updates and status patches (removal patches, one
     * per delete, not counted) until every pod was Assigned (settle scenarios: until the end), and
     * that count per pod that got an identity.
     */
    aaiWrites?: number;
    aaiWritesPerAssignment?: number;
  };
  controller: {
    cpuSeconds: number;
    peakRssMiB: number;
    cpuMsPerPodChange?: number;
    rssTimelineMiB: number[];
    /** Resident set and V8 heap in use of the active leader before the first pod change (idle). */
    idle?: { rssMiB: number; heapUsedMiB: number; settleSeconds?: number; rssSeriesMiB?: number[] };
    /** `process.memoryUsage()` reported by the controller over the measured part (~1 s apart, downsampled). */
    memoryTimelineMiB?: { rss: number[]; heapUsed: number[]; heapTotal: number[]; external: number[] };
    /** Heap snapshots written during the run (`MIC_BENCH_HEAP_SNAPSHOTS=dir`). */
    heapSnapshots?: string[];
  };
  /** CPU seconds of the harness process (both emulators + the AAI watch) during the measured part. */
  harnessCpuSeconds: number;
  /**
   * Scale-set identities at the end compared with what the pods still alive need: `missing` are
   * needed but absent, `extra` are present but no live pod needs them (expected within a grace
   * period; otherwise removal work still pending or leaked).
   */
  endState: { missing: number; extra: number };
  /** Real seconds the measured part took. */
  wallSeconds: number;
  targets: TargetResult[];
}

/**
 * Default real ms the active controller is left alone before its idle memory is read: long enough
 * for the start-up garbage (module loading, initial lists) to be collected.
 */
const IDLE_SETTLE_MS = 10_000;
const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);

const realDelay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Polls `cond` every `intervalMs` until true or `deadline` (real ms epoch); returns whether it held. */
async function waitUntil(cond: () => boolean, deadline: number, intervalMs = 50): Promise<boolean> {
  for (;;) {
    if (cond()) return true;
    if (Date.now() > deadline) return false;
    await realDelay(intervalMs);
  }
}

/** Formats real ms as a Go duration for controller flags. */
function goMs(ms: number): string {
  return `${Math.max(1, Math.round(ms))}ms`;
}

/** Controller flags of a scenario: upstream intervals scaled onto the run's time scale. */
export function controllerFlags(def: ScenarioDef): string[] {
  const s = def.timeScale;
  const flags = [
    // MIC_BENCH_LOG_LEVEL=info (or debug) shows the controller's decisions in the kept log (MIC_BENCH_KEEP=1).
    `--log-level=${process.env.MIC_BENCH_LOG_LEVEL ?? 'warn'}`,
    '--clientQps=2000',
    `--identity-assignment-reconcile-interval=${goMs(180_000 / s)}`,
    `--syncRetryDuration=${goMs(3_600_000 / s)}`,
    // The batching window is emulated time too (default 1 s).
    `--arm-batch-window=${goMs(1_000 / s)}`,
  ];
  if (def.graceEmuMs > 0) flags.push(`--unassign-grace-period=${goMs(def.graceEmuMs / s)}`);
  return flags;
}

/** Plays `actions` against the cluster on emulated time; pods are named as the actions say. */
async function playActions(cluster: BenchCluster, actions: PodAction[], timeScale: number, alive: () => boolean): Promise<number> {
  const sorted = [...actions].sort((a, b) => a.at - b.at);
  const start = Date.now();
  let changes = 0;
  let i = 0;
  while (i < sorted.length && alive()) {
    const now = Date.now();
    while (i < sorted.length && start + sorted[i]!.at / timeScale <= now) {
      const a = sorted[i++]!;
      if (a.op === 'create') cluster.createPod(a.pod, a.node!, a.identity!);
      else cluster.deletePod(a.pod);
      changes++;
    }
    if (i < sorted.length) await realDelay(Math.min(50, start + sorted[i]!.at / timeScale - Date.now()));
    else await realDelay(0);
  }
  return changes;
}

async function logTail(file: string): Promise<string> {
  try {
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    return lines.slice(-3).join(' | ').slice(0, 600);
  } catch {
    return '';
  }
}

/** Keeps at most `max` evenly spaced points of `values` (always the maximum too). */
function downsample(values: number[], max: number): number[] {
  if (values.length <= max) return values;
  const step = values.length / max;
  const out = Array.from({ length: max }, (_, k) => values[Math.floor(k * step)]!);
  out[out.length - 1] = Math.max(...values);
  return out;
}

/** Makes every scale set hold every bench identity, as if someone else had added them. */
function warmUp(cluster: BenchCluster): void {
  const { azure, topology, identities: ids } = cluster.emulators;
  const all = cluster.identities.map((name) => ids[name]!);
  for (const ss of topology.vmss) azure.controls.setResourceIdentities(vmssId(topology.subscription, topology.resourceGroup, ss.name), all, 'previous-owner');
}

/** Compares each scale set's bench identities with what the live pods need. */
function compareEndState(cluster: BenchCluster, preassigned = false): { missing: number; extra: number } {
  const { azure, topology, identities: ids } = cluster.emulators;
  const benchIds = new Map(cluster.identities.map((name) => [ids[name]!.toLowerCase(), name]));
  const needed = new Map<string, Set<string>>();
  for (const p of cluster.pods.values()) {
    if (p.deletedAt !== undefined) continue;
    const set = needed.get(p.node.vmss) ?? new Set<string>();
    set.add(p.identity);
    needed.set(p.node.vmss, set);
  }
  let missing = 0;
  let extra = 0;
  for (const ss of topology.vmss) {
    const present = new Set(
      azure.controls
        .getResourceIdentities(vmssId(topology.subscription, topology.resourceGroup, ss.name))
        .userAssigned.map((id) => benchIds.get(id.toLowerCase()))
        .filter((n): n is string => n !== undefined),
    );
    const want = needed.get(ss.name) ?? new Set<string>();
    for (const n of want) if (!present.has(n)) missing++;
    if (!preassigned) for (const n of present) if (!want.has(n)) extra++;
  }
  return { missing, extra };
}

/** L in real ms: the emulated ARM write latency on the run's time scale. */
export function realLatencyMs(f: Pick<ScenarioFigures, 'params'>): number {
  return (f.params.lroLatencySeconds * 1000) / f.params.timeScale;
}

/** Per scale set: pods, distinct identities and first pod created → last of its pods `Assigned` (real ms). */
export function perScaleSet(
  pods: readonly Pick<BenchPod, 'node' | 'identity' | 'key'>[],
  assignedAt: (p: Pick<BenchPod, 'key'>) => number | undefined,
  firstCreated: number,
): NonNullable<ScenarioFigures['scaleSets']> {
  const sets = new Map<string, { pods: number; identities: Set<string>; last: number }>();
  for (const p of pods) {
    const e = sets.get(p.node.vmss) ?? { pods: 0, identities: new Set<string>(), last: firstCreated };
    e.pods++;
    e.identities.add(p.identity);
    e.last = Math.max(e.last, assignedAt(p) ?? e.last);
    sets.set(p.node.vmss, e);
  }
  return [...sets].sort(([a], [b]) => a.localeCompare(b)).map(([name, e]) => ({ name, pods: e.pods, identities: e.identities.size, allAssignedRealMs: e.last - firstCreated }));
}

/** Runs one scenario and returns its figures (never throws for controller misbehaviour). */
export async function runScenario(def: ScenarioDef, progress: (msg: string) => void = () => undefined): Promise<ScenarioFigures> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `mic-bench-${def.name}-`));
  const logFile = path.join(dir, 'controller.log');
  const L = def.lroLatencyMs;
  const s = def.timeScale;
  const flags = controllerFlags(def);
  const cluster = await startCluster({ ...def.cluster, lroLatencyMs: L, timeScale: s, stateDir: path.join(dir, 'state') });
  if (def.warmTargets) warmUp(cluster);
  let aaiWrites: number | undefined;
  const actions = def.actions({ nodes: cluster.nodes, identities: cluster.identities, rand: seededRandom(def.seed) });
  let controller: ControllerChild | undefined;
  let error: string | undefined;
  let podChanges = 0;
  let baseline: ProcSample | undefined;
  let final: ProcSample | undefined;
  let measureStart = Date.now();
  let windowRealMs: number | undefined;
  const alive = (): boolean => controller?.exitCode() === null;
  const rssTimeline: number[] = [];
  let sampler: NodeJS.Timeout | undefined;
  let idle: ScenarioFigures['controller']['idle'];
  // Profiling only: snapshots stop the process for seconds and raise its peak RSS.
  const snapshotDir = process.env.MIC_BENCH_HEAP_SNAPSHOTS || undefined;
  const heapSnapshots: string[] = [];
  let harnessCpu = process.cpuUsage();
  try {
    controller = await startController({ files: cluster.emulators.files, flags, timeScale: s, logFile });
    // Idle: the active leader with synced caches (nodes, identities, bindings) and no pod yet.
    const activeAt = Date.now();
    await realDelay(def.idleSettleMs ?? IDLE_SETTLE_MS);
    const idleSample = controller.sample();
    const idleMemory = controller.memorySamples().at(-1);
    if (idleSample) {
      idle = {
        rssMiB: mib(idleSample.rssBytes),
        heapUsedMiB: idleMemory ? mib(idleMemory.heapUsed) : 0,
        settleSeconds: (def.idleSettleMs ?? IDLE_SETTLE_MS) / 1000,
        rssSeriesMiB: controller.memorySamples().filter((m) => m.t >= activeAt).map((m) => mib(m.rss)),
      };
    }
    if (snapshotDir) heapSnapshots.push(await controller.heapSnapshot(path.join(snapshotDir, `${def.name}-idle.heapsnapshot`)));
    progress(`${def.name}: controller active (pid ${controller.pid}, idle RSS ${idle?.rssMiB ?? '?'} MiB); playing ${actions.length} pod changes`);
    cluster.emulators.azure.controls.reset();
    cluster.kube.controls.clearRequestLog();
    baseline = controller.sample();
    harnessCpu = process.cpuUsage();
    const child = controller;
    sampler = setInterval(() => {
      const now = child.sample();
      if (now) rssTimeline.push(Math.round(now.rssBytes / 2 ** 20));
    }, 1000);
    measureStart = Date.now();
    podChanges = await playActions(cluster, actions, s, alive);
    const lastAction = Date.now();
    const deadline = lastAction + def.deadlineEmuMs / s;
    const live = (): BenchPod[] => [...cluster.pods.values()].filter((p) => p.deletedAt === undefined);
    const allAssigned = (): boolean => !alive() || live().every((p) => cluster.observer.assignedAt(p.key) !== undefined);
    if (def.completion.kind === 'settle') {
      const until = lastAction + def.completion.emuMs / s;
      await waitUntil(() => !alive() || Date.now() >= until, until + 1000, 100);
    } else if (!(await waitUntil(allAssigned, deadline))) {
      const done = live().filter((p) => cluster.observer.assignedAt(p.key) !== undefined).length;
      error = `timeout: ${done}/${live().length} pods Assigned ${Math.round(def.deadlineEmuMs / L)} L after the last change`;
    }
    if (!error && def.completion.kind !== 'settle') aaiWrites = countAaiWrites(cluster.kube.controls.requestLog().filter((r) => !r.query.includes(OBSERVER_MARKER)));
    if (!error && alive() && def.completion.kind === 'steady') {
      progress(`${def.name}: all Assigned; measuring an idle window of ${def.completion.windowEmuMs / 3_600_000} emulated h`);
      cluster.emulators.azure.controls.reset();
      cluster.kube.controls.clearRequestLog();
      baseline = controller.sample();
      harnessCpu = process.cpuUsage();
      const start = Date.now();
      await waitUntil(() => !alive(), start + def.completion.windowEmuMs / s, 200);
      windowRealMs = Date.now() - start;
    }
    if (!error && alive() && snapshotDir) {
      heapSnapshots.push(await controller.heapSnapshot(path.join(snapshotDir, `${def.name}-loaded.heapsnapshot`)));
    }
    if (!error && alive() && def.drain) {
      progress(`${def.name}: deleting every pod`);
      const drainStart = Date.now();
      const names = [...cluster.pods.values()].filter((p) => p.deletedAt === undefined).map((p) => p.name);
      // Deleted at the pace they were created.
      const spanEmu = Math.max(...actions.map((a) => a.at), 0);
      const drain: PodAction[] = names.map((pod, k) => ({ at: (k / names.length) * spanEmu, op: 'delete', pod }));
      podChanges += await playActions(cluster, drain, s, alive);
      if (!(await waitUntil(() => !alive() || cluster.observer.liveCount === 0, Date.now() + def.deadlineEmuMs / s))) {
        error = `timeout: ${cluster.observer.liveCount} AzureAssignedIdentities left after deleting every pod`;
      }
      // An identity leaves a scale set only after its last AAI is gone (NMI stops serving it first):
      // the removals follow the deletions by a sync pass and one ARM write, so wait for them too.
      if (!error && !(await waitUntil(() => !alive() || compareEndState(cluster, def.warmTargets === true).extra === 0, Date.now() + def.deadlineEmuMs / s, 200))) {
        error = `timeout: identities left on the scale sets after every AzureAssignedIdentity was deleted`;
      }
      progress(`${def.name}: drained in ${((Date.now() - drainStart) / 1000).toFixed(1)} s`);
    }
    if (!alive()) error = `controller exited with code ${String(controller.exitCode())}: ${await logTail(logFile)}`;
    final = controller.sample();
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const endReal = Date.now();
  const harnessUsage = process.cpuUsage(harnessCpu);
  clearInterval(sampler);
  const endState = compareEndState(cluster, def.warmTargets === true);
  const last = await controller?.stop();
  final ??= last;

  // ---- figures ----
  const counters = cluster.emulators.azure.controls.counters();
  const requests = cluster.kube.controls.requestLog().filter((r) => !r.query.includes(OBSERVER_MARKER));
  const byVerb: Record<string, number> = {};
  for (const r of requests) byVerb[r.verb] = (byVerb[r.verb] ?? 0) + 1;
  if (def.completion.kind === 'settle') aaiWrites = countAaiWrites(requests);
  const pods = [...cluster.pods.values()];
  const latenciesRealMs: number[] = [];
  let lastAssigned = 0;
  for (const p of pods) {
    const at = cluster.observer.assignedAt(p.key);
    if (at === undefined) continue;
    latenciesRealMs.push(at - p.createdAt);
    lastAssigned = Math.max(lastAssigned, at);
  }
  const Lreal = L / s;
  const firstCreated = Math.min(...pods.map((p) => p.createdAt));
  const steady = def.completion.kind === 'steady';
  const horizonEmu = (endReal - measureStart) * s;
  const bound = steady || def.warmTargets
    ? 0
    : lowerBoundWrites(
        desiredChangesFromPods(
          pods.map((p) => ({
            target: p.node.vmss,
            identity: p.identity,
            createdAt: (p.createdAt - measureStart) * s,
            ...(p.deletedAt !== undefined ? { deletedAt: (p.deletedAt - measureStart) * s } : {}),
          })),
          def.graceEmuMs,
        ).filter((c) => c.at <= horizonEmu),
        L,
      ).writes;
  const arm = { writes: counters.writes, reads: counters.reads, polls: counters.polls, throttled: counters.throttled, preconditionFailed: counters.preconditionFailed, total: counters.writes + counters.reads + counters.polls };
  const allAssignedRealMs = latenciesRealMs.length === pods.length && pods.length > 0 && !steady ? lastAssigned - firstCreated : undefined;
  const scaleSets = allAssignedRealMs === undefined ? undefined : perScaleSet(pods, (p) => cluster.observer.assignedAt(p.key), firstCreated);
  const cpuMs = final && baseline ? final.cpuMs - baseline.cpuMs : 0;
  const memory = (controller?.memorySamples() ?? []).filter((m) => m.t >= measureStart && m.t <= endReal);
  const series = (pick: (m: (typeof memory)[number]) => number): number[] => downsample(memory.map((m) => mib(pick(m))), 60);
  const figures: ScenarioFigures = {
    scenario: def.name,
    title: def.title,
    completed: error === undefined,
    ...(error !== undefined ? { error } : {}),
    params: {
      lroLatencySeconds: L / 1000,
      timeScale: s,
      vmss: def.cluster.vmss,
      nodes: def.cluster.vmss * def.cluster.nodesPerVmss,
      identities: def.cluster.identities,
      pods: pods.length,
      podChanges,
      controllerFlags: flags,
    },
    latencyL: scaleDistribution(distribution(latenciesRealMs), Lreal),
    assignedPods: latenciesRealMs.length,
    neverAssignedPods: pods.length - latenciesRealMs.length,
    ...(allAssignedRealMs !== undefined
      ? { allAssignedL: allAssignedRealMs / Lreal, allAssignedSeconds: (allAssignedRealMs * s) / 1000, allAssignedRealMs }
      : {}),
    ...(scaleSets !== undefined ? { scaleSets } : {}),
    arm,
    ...(steady && windowRealMs ? { armCallsPerDay: Math.round((arm.total * 86_400_000) / (windowRealMs * s)) } : {}),
    lowerBoundWrites: bound,
    ...(bound > 0 ? { writesOverBound: arm.writes / bound } : {}),
    kube: {
      requests: requests.length,
      ...(latenciesRealMs.length > 0 && !steady ? { perAssignment: requests.length / latenciesRealMs.length } : {}),
      byVerb,
      ...(aaiWrites !== undefined ? { aaiWrites } : {}),
      ...(aaiWrites !== undefined && latenciesRealMs.length > 0 ? { aaiWritesPerAssignment: aaiWrites / latenciesRealMs.length } : {}),
    },
    controller: {
      cpuSeconds: cpuMs / 1000,
      peakRssMiB: (final?.peakRssBytes ?? 0) / (1024 * 1024),
      ...(podChanges > 0 && !steady ? { cpuMsPerPodChange: cpuMs / podChanges } : {}),
      rssTimelineMiB: downsample(rssTimeline, 60),
      ...(idle ? { idle } : {}),
      ...(memory.length > 0
        ? {
            memoryTimelineMiB: {
              rss: series((m) => m.rss),
              heapUsed: series((m) => m.heapUsed),
              heapTotal: series((m) => m.heapTotal),
              external: series((m) => m.external),
            },
          }
        : {}),
      ...(heapSnapshots.length > 0 ? { heapSnapshots } : {}),
    },
    harnessCpuSeconds: (harnessUsage.user + harnessUsage.system) / 1e6,
    endState,
    wallSeconds: (endReal - measureStart) / 1000,
    targets: [],
  };
  figures.targets = def.targets.map((t) => {
    if (!figures.completed) return { name: t.name, pass: false, detail: `run incomplete: ${figures.error ?? ''}` };
    return { name: t.name, ...t.check(figures) };
  });
  await cluster.stop();
  // MIC_BENCH_KEEP=1 keeps the run's directory (controller log, emulator state) for a look afterwards.
  if (figures.completed && process.env.MIC_BENCH_KEEP !== '1') await rm(dir, { recursive: true, force: true });
  else if (figures.completed) progress(`${def.name}: kept ${dir}`);
  else figures.error = `${figures.error ?? ''} (controller log: ${logFile})`;
  return figures;
}
