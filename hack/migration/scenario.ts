/**
 * Migration and rollback, proven: upstream MIC running → mixed rollout → this MIC only → rollback to
 * upstream → forward again, with pods churning throughout. Everything runs in one process against
 * the kube and Azure emulators; each actor talks to them through its own attribution tap.
 *
 * Invariants checked:
 * - at most one actor leads at any sampled moment (every 10 ms);
 * - never two leaders writing at once: the AzureAssignedIdentity / ownership / ARM writes of
 *   different actors never overlap in time or interleave without a new leadership term in between
 *   (from the per-actor taps in front of the kube API and ARM, cross-checked against the kube
 *   emulator's request log and the Azure emulator's audit: no write the taps did not attribute);
 * - no identity lost or leaked at the end: the scale set holds exactly the identities live pods need
 *   plus the pre-existing (kubelet) identity, which nobody ever removed;
 * - every live pod has its AzureAssignedIdentity `Assigned` at the end, and no other AAI exists.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import path from 'node:path';
import { createAzureCloudProvider } from '../../controller/app/cloud.js';
import { MicApp } from '../../controller/app/mic-app.js';
import { GROUP, PLURALS, VERSION, type AzureAssignedIdentity } from '../../controller/api/types.js';
import { defaultMicOptions } from '../../controller/config/options.js';
import { createNullLogger } from '../../controller/observability/logger.js';
import { Prng } from '../chaos/prng.js';
import { emulatorCloudConfig } from '../emulators/azure/cloud-config.js';
import { startAzureEmulator, vmssInstanceProviderId } from '../emulators/azure/index.js';
import { startKubeEmulator } from '../emulators/kube/index.js';
import { UpstreamMicActor } from './upstream-mic.js';
import { concurrentWriterViolations, KubeWriteTap, recordingCloud, WriteLog, writerRuns } from './write-log.js';

const SUB = '00000000-0000-0000-0000-0000000000aa';
const RG = 'mc_migration';
const VMSS = 'aks-pool-vmss';
const NAMESPACE = 'kube-system';
const LOCK = 'aad-pod-identity-mic';

/** Options of {@link runMigration}. */
export interface MigrationOptions {
  /** Seconds each stage lasts with churn running (default 6). */
  stageSeconds?: number;
  /** Lease duration of both kinds of actor, ms (default 2000; upstream's 15 s scaled down). */
  leaseDurationMs?: number;
  /** Pod churn: one create or delete every this many ms (default 150). */
  churnIntervalMs?: number;
  /**
   * Identities (and selectors) in play (default 4), plus one more that pods start using only during
   * the rollback: an identity upstream adds that this MIC has never seen, which it must still remove
   * once unused after rolling forward again.
   */
  identities?: number;
  /** Nodes in the scale set (default 3). */
  nodes?: number;
  seed?: number;
  /** Convergence deadline after churn stops, ms (default 30 000). */
  convergeTimeoutMs?: number;
  log?: (line: string) => void;
  /**
   * Lock name of the upstream actors (default the same as this MIC's). A different name reproduces a
   * migration without the shared lock: both lead at once, which the invariants must catch.
   */
  upstreamLockName?: string;
}

/** One stage as measured. */
export interface StageFigures {
  name: string;
  /** Leader when the stage ended. */
  leader: string | undefined;
  /** ms from the stage's first step until an actor of the incoming kind led (handover), if it changed kind. */
  handoverMs?: number;
}

/** Result of {@link runMigration}. */
export interface MigrationResult {
  stages: StageFigures[];
  podsCreated: number;
  podsDeleted: number;
  livePodsAtEnd: number;
  writesByActor: Record<string, number>;
  writerRuns: number;
  /** Max number of actors leading at the same sampled moment (must be 1). */
  maxSimultaneousLeaders: number;
  convergeMs: number;
  /** Lower-cased ARM ID of the identity first used during the rollback (added by upstream, never seen by this MIC before). */
  lateIdentityId: string;
  /** Writes as the servers logged them: AzureAssignedIdentity writes (kube) and identity PATCHes (ARM). */
  serverWrites: { aai: number; armPatches: number };
  violations: string[];
}

interface Actor {
  name: string;
  kind: 'upstream' | 'mic';
  isLeader(): boolean;
  stop(): Promise<void>;
}

/** Runs the scenario; see the module comment. */
export async function runMigration(o: MigrationOptions = {}): Promise<MigrationResult> {
  const stageMs = (o.stageSeconds ?? 6) * 1000;
  const leaseMs = o.leaseDurationMs ?? 2000;
  const log = o.log ?? (() => undefined);
  const prng = new Prng(o.seed ?? 14);
  const kube = await startKubeEmulator({ crdDir: path.resolve('crds') });
  const azure = await startAzureEmulator({ lroLatencyMs: 50 });
  const writes = new WriteLog();
  const taps: KubeWriteTap[] = [];
  const actors: Actor[] = [];
  const terms: { actor: string; start: number; end: number }[] = [];
  const violations: string[] = [];
  try {
    const admin = kube.kubeConfig();
    const core = admin.makeApiClient(CoreV1Api);
    const custom = admin.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } }).catch(() => undefined);
    // Topology: one scale set with a pre-existing (kubelet) identity, its nodes, identities and bindings.
    const kubelet = azure.controls.addIdentity(SUB, RG, 'kubelet-identity');
    azure.controls.addVmss(SUB, RG, VMSS, { orchestration: 'Uniform', identities: [kubelet] });
    const nodes: string[] = [];
    for (let i = 0; i < (o.nodes ?? 3); i++) {
      const name = `${VMSS}00000${i}`;
      nodes.push(name);
      await core.createNode({ body: { metadata: { name }, spec: { providerID: vmssInstanceProviderId(SUB, RG, VMSS, String(i)) } } });
    }
    const identityIds: string[] = [];
    const initialIdentities = o.identities ?? 4;
    for (let i = 0; i <= initialIdentities; i++) {
      const resourceID = azure.controls.addIdentity(SUB, RG, `id-${i}`, { clientId: `00000000-0000-0000-0000-0000000000${String(10 + i)}` });
      identityIds.push(resourceID.toLowerCase());
      await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURALS.AzureIdentity,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AzureIdentity', metadata: { name: `id-${i}`, namespace: 'default' }, spec: { type: 0, resourceID, clientID: `00000000-0000-0000-0000-0000000000${String(10 + i)}` } } });
      await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURALS.AzureIdentityBinding,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AzureIdentityBinding', metadata: { name: `b-${i}`, namespace: 'default' }, spec: { azureIdentity: `id-${i}`, selector: `sel-${i}` } } });
    }
    const cloudConfig = emulatorCloudConfig(azure, SUB, RG);
    const token = admin.getCurrentUser()?.token ?? '';
    const kcFor = async (actor: string): Promise<KubeConfig> => {
      const tap = await KubeWriteTap.start(actor, kube.url, writes);
      taps.push(tap);
      const kc = new KubeConfig();
      kc.loadFromClusterAndUser({ name: actor, server: tap.url, skipTLSVerify: true }, { name: actor, token });
      return kc;
    };

    // Leadership sampling: terms and the number of simultaneous leaders.
    let maxLeaders = 0;
    const open = new Map<string, number>();
    const sampler = setInterval(() => {
      const now = Date.now();
      let leaders = 0;
      for (const a of actors) {
        const leads = a.isLeader();
        if (leads) leaders++;
        if (leads && !open.has(a.name)) open.set(a.name, now);
        if (!leads && open.has(a.name)) {
          terms.push({ actor: a.name, start: open.get(a.name)!, end: now });
          open.delete(a.name);
        }
      }
      maxLeaders = Math.max(maxLeaders, leaders);
    }, 10);

    const startUpstream = async (name: string): Promise<Actor> => {
      const actor = new UpstreamMicActor({
        name, kc: await kcFor(name), cloud: recordingCloud(name, createAzureCloudProvider(cloudConfig, { logger: createNullLogger(), updateIntervalInMs: 50 }), writes),
        subscriptionId: SUB, resourceGroup: RG, namespace: NAMESPACE, lockName: o.upstreamLockName ?? LOCK, leaseDurationMs: leaseMs, cycleIntervalMs: 100, logger: createNullLogger(),
      });
      actor.start();
      const a: Actor = { name, kind: 'upstream', isLeader: () => actor.leading, stop: () => actor.stop() };
      actors.push(a);
      log(`  start upstream ${name}`);
      return a;
    };
    const startMic = async (name: string): Promise<Actor> => {
      const app = new MicApp({
        options: { ...defaultMicOptions({}), micPodNamespace: NAMESPACE, leaderElectionNamespace: NAMESPACE, leaderElectionName: LOCK, leaderElectionInstance: name,
          leaderElectionDurationMs: leaseMs, httpProbePort: 0, prometheusPort: 0, armBatchWindowMs: 50, enableTypeUpgrade: false, syncRetryDurationMs: 1000 },
        subscriptionId: SUB, resourceGroup: RG, clusterIdentityClientId: '',
        cloud: recordingCloud(name, createAzureCloudProvider(cloudConfig, { logger: createNullLogger(), updateIntervalInMs: 50 }), writes),
        kc: await kcFor(name), logger: createNullLogger(), serveProbes: false, stopGraceMs: 2000,
      });
      await app.start();
      const a: Actor = { name, kind: 'mic', isLeader: () => app.elector.isLeader(), stop: () => app.stop() };
      actors.push(a);
      log(`  start mic ${name}`);
      return a;
    };
    const stop = async (a: Actor): Promise<void> => {
      log(`  stop ${a.name}`);
      await a.stop();
      actors.splice(actors.indexOf(a), 1);
      if (open.has(a.name)) {
        terms.push({ actor: a.name, start: open.get(a.name)!, end: Date.now() });
        open.delete(a.name);
      }
    };
    const leader = (): Actor | undefined => actors.find((a) => a.isLeader());
    // A rolling update waits for each new pod to be up before it deletes an old one: the fleet is mixed meanwhile.
    const surge = (): Promise<void> => new Promise((r) => setTimeout(r, leaseMs));
    const waitForLeaderOfKind = async (kind: Actor['kind'], what: string): Promise<number> => {
      const t0 = Date.now();
      for (;;) {
        if (leader()?.kind === kind) return Date.now() - t0;
        if (Date.now() - t0 > leaseMs * 10) throw new Error(`no ${kind} leader ${what} within ${leaseMs * 10} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    // Pod churn, throughout.
    const livePods = new Set<string>();
    let podsCreated = 0;
    let podsDeleted = 0;
    let churning = true;
    const maxPods = 12;
    let selectors = initialIdentities; // the last identity joins at the rollback
    const churn = (async () => {
      let n = 0;
      while (churning) {
        try {
          if (livePods.size < maxPods / 2 || (livePods.size < maxPods && prng.next() < 0.55)) {
            const name = `pod-${n++}`;
            const sel = `sel-${prng.int(selectors)}`;
            await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name, namespace: 'default', labels: { aadpodidbinding: sel } }, spec: { nodeName: nodes[prng.int(nodes.length)], containers: [{ name: 'app', image: 'busybox' }] } } });
            livePods.add(name);
            podsCreated++;
          } else {
            const names = [...livePods].filter((n) => n !== 'late-0');
            const name = names[prng.int(names.length)];
            if (name !== undefined) {
              await core.deleteNamespacedPod({ name, namespace: 'default' });
              livePods.delete(name);
              podsDeleted++;
            }
          }
        } catch (err) {
          violations.push(`churn request failed: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, o.churnIntervalMs ?? 150));
      }
    })();
    const dwell = (): Promise<void> => new Promise((r) => setTimeout(r, stageMs));

    const stages: StageFigures[] = [];
    // 1. Upstream running (two replicas).
    log('stage 1: upstream MIC (2 replicas)');
    let up = [await startUpstream('upstream-a'), await startUpstream('upstream-b')];
    await waitForLeaderOfKind('upstream', 'at start');
    await dwell();
    stages.push({ name: 'upstream', leader: leader()?.name });
    // 2. Mixed rollout: surge one new pod, remove one old, and so on (upstream never releases its lock).
    log('stage 2: rolling update to this MIC');
    let t0 = Date.now();
    let mics = [await startMic('mic-1')];
    await surge();
    await stop(up[1]!);
    mics.push(await startMic('mic-2'));
    await surge();
    await stop(up[0]!);
    await waitForLeaderOfKind('mic', 'after the rollout');
    stages.push({ name: 'mixed rollout', leader: leader()?.name, handoverMs: Date.now() - t0 });
    // 3. This MIC only.
    log('stage 3: this MIC only');
    await dwell();
    stages.push({ name: 'this MIC only', leader: leader()?.name });
    // 4. Rollback to upstream.
    log('stage 4: rollback to upstream');
    t0 = Date.now();
    up = [await startUpstream('upstream-c')];
    await surge();
    await stop(mics[1]!);
    up.push(await startUpstream('upstream-d'));
    await surge();
    await stop(mics[0]!);
    await waitForLeaderOfKind('upstream', 'after the rollback');
    const rollbackHandover = Date.now() - t0;
    // The late identity: first used while upstream leads, so upstream adds it and this MIC has never
    // seen it. One pod keeps it in use across the roll-forward; its pods are retired at the end.
    selectors = identityIds.length;
    const lateSelector = `sel-${initialIdentities}`;
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'late-0', namespace: 'default', labels: { aadpodidbinding: lateSelector } }, spec: { nodeName: nodes[0], containers: [{ name: 'app', image: 'busybox' }] } } });
    livePods.add('late-0');
    podsCreated++;
    await dwell();
    stages.push({ name: 'rollback', leader: leader()?.name, handoverMs: rollbackHandover });
    // 5. Forward again.
    log('stage 5: forward again');
    t0 = Date.now();
    mics = [await startMic('mic-3')];
    await surge();
    await stop(up[1]!);
    mics.push(await startMic('mic-4'));
    await surge();
    await stop(up[0]!);
    await waitForLeaderOfKind('mic', 'after rolling forward again');
    const forwardHandover = Date.now() - t0;
    await dwell();
    stages.push({ name: 'forward again', leader: leader()?.name, handoverMs: forwardHandover });

    churning = false;
    await churn;
    // Retire half of the identities: every pod using them goes, so their removal is checked too.
    for (const p of (await core.listNamespacedPod({ namespace: 'default' })).items) {
      const sel = p.metadata?.labels?.aadpodidbinding ?? '';
      const index = Number(sel.slice(4));
      if (index % 2 === 0 || index === initialIdentities) {
        await core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: 'default' });
        livePods.delete(p.metadata!.name!);
        podsDeleted++;
      }
    }
    log(`churn stopped: ${podsCreated} pods created, ${podsDeleted} deleted, ${livePods.size} live`);
    const convergeStart = Date.now();
    const vmssId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${VMSS}`;
    const expectedAais = async (): Promise<string[]> => {
      const pods = (await core.listNamespacedPod({ namespace: 'default' })).items;
      return pods.map((p) => `${p.metadata!.name!}-default-id-${(p.metadata!.labels!.aadpodidbinding ?? '').slice(4)}`).sort();
    };
    const problemsNow = async (): Promise<string[]> => {
      const problems: string[] = [];
      const pods = (await core.listNamespacedPod({ namespace: 'default' })).items;
      const aais = ((await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.AzureAssignedIdentity })) as { items: AzureAssignedIdentity[] }).items;
      const want = await expectedAais();
      const have = aais.map((a) => a.metadata.name).sort();
      if (JSON.stringify(want) !== JSON.stringify(have)) problems.push(`AAIs ${JSON.stringify(have)} instead of ${JSON.stringify(want)}`);
      const notAssigned = aais.filter((a) => a.status?.status !== 'Assigned').map((a) => `${a.metadata.name}:${a.status?.status ?? ''}`);
      if (notAssigned.length) problems.push(`not Assigned: ${notAssigned.join(', ')}`);
      const needed = new Set(pods.map((p) => identityIds[Number((p.metadata!.labels!.aadpodidbinding ?? '').slice(4))]!));
      const onVmss = new Set(azure.controls.getResourceIdentities(vmssId).userAssigned.map((s) => s.toLowerCase()));
      const lost = [...needed].filter((id) => !onVmss.has(id));
      const leaked = [...onVmss].filter((id) => !needed.has(id) && id !== kubelet.toLowerCase());
      if (lost.length) problems.push(`identities lost (needed, not on the scale set): ${lost.join(', ')}`);
      if (leaked.length) problems.push(`identities leaked (on the scale set, no pod needs them): ${leaked.join(', ')}`);
      if (!onVmss.has(kubelet.toLowerCase())) problems.push('the pre-existing kubelet identity was removed');
      return problems;
    };
    let remaining: string[] = [];
    const deadline = Date.now() + (o.convergeTimeoutMs ?? 30_000);
    for (;;) {
      remaining = await problemsNow();
      if (remaining.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const convergeMs = Date.now() - convergeStart;
    violations.push(...remaining.map((p) => `at the end: ${p}`));
    if (azure.controls.identityChanges().some((c) => c.identity.toLowerCase() === kubelet.toLowerCase() && c.op === 'remove')) violations.push('the kubelet identity was removed at some point');
    clearInterval(sampler);
    for (const [actor, start] of open) terms.push({ actor, start, end: Number.POSITIVE_INFINITY });
    if (maxLeaders > 1) violations.push(`${maxLeaders} actors led at the same sampled moment`);
    // Sampled terms start up to two sampling periods late: widen them by that much. At the end, allow
    // a quarter lease for a write already under way when the writer fenced itself or was stopped (on
    // 2 busy cores the event loop can hold a request that long); no other actor can lead before a
    // full lease has passed, and overlap with another actor's writes is still checked exactly.
    const widened = terms.map((t) => ({ ...t, start: t.start - 20, end: t.end + leaseMs / 4 }));
    violations.push(...concurrentWriterViolations(writes.writes, widened));
    // Cross-checks against the servers' own logs: nothing wrote that the taps did not attribute.
    const aaiPath = /\/azureassignedidentities(\/|$)/;
    const serverAaiWrites = kube.controls.requestLog().filter((r) => r.verb !== 'get' && r.verb !== 'list' && r.verb !== 'watch' && aaiPath.test(r.path)).length;
    const tappedAaiWrites = writes.writes.filter((w) => w.plane === 'kube' && aaiPath.test(w.what)).length;
    if (serverAaiWrites !== tappedAaiWrites) violations.push(`the API server logged ${serverAaiWrites} AzureAssignedIdentity writes, the taps attributed ${tappedAaiWrites}`);
    const armWindows = writes.writes.filter((w) => w.plane === 'arm');
    const armPatches = azure.controls.auditLog().filter((e) => e.kind === 'write' && e.method === 'PATCH');
    for (const entry of armPatches) {
      if (!armWindows.some((w) => entry.at >= w.start - 5 && entry.at <= w.end + 5)) violations.push(`ARM PATCH ${entry.path} at ${new Date(entry.at).toISOString()} was sent by no recorded writer`);
    }
    const writesByActor: Record<string, number> = {};
    for (const w of writes.writes) writesByActor[w.actor] = (writesByActor[w.actor] ?? 0) + 1;
    for (const a of [...actors]) await stop(a);
    return {
      stages,
      podsCreated,
      podsDeleted,
      livePodsAtEnd: livePods.size,
      writesByActor,
      writerRuns: writerRuns(writes.writes).length,
      maxSimultaneousLeaders: maxLeaders,
      convergeMs,
      serverWrites: { aai: serverAaiWrites, armPatches: armPatches.length },
      lateIdentityId: identityIds[initialIdentities]!,
      violations,
    };
  } finally {
    for (const a of [...actors]) await a.stop().catch(() => undefined);
    await Promise.allSettled(taps.map((t) => t.stop()));
    await Promise.allSettled([kube.stop(), azure.stop()]);
  }
}

/** The result as Markdown lines (for bench/RELIABILITY.md and the CLI). */
export function formatMigration(r: MigrationResult): string[] {
  return [
    '| Stage | Leader at the end | Handover |',
    '|---|---|---|',
    ...r.stages.map((s) => `| ${s.name} | ${s.leader ?? '—'} | ${s.handoverMs === undefined ? '—' : `${(s.handoverMs / 1000).toFixed(1)} s`} |`),
    '',
    `Pods created ${r.podsCreated}, deleted ${r.podsDeleted}, live at the end ${r.livePodsAtEnd}; converged ${(r.convergeMs / 1000).toFixed(1)} s after churn stopped.`,
    `Server-logged writes: ${r.serverWrites.aai} AzureAssignedIdentity writes, ${r.serverWrites.armPatches} ARM identity PATCHes, all attributed.`,
    `Attributed writes (kube + ARM) by actor: ${Object.entries(r.writesByActor).map(([a, n]) => `${a} ${n}`).join(', ')}; ${r.writerRuns} writer runs.`,
    `Most actors leading at one sampled moment: ${r.maxSimultaneousLeaders}. Violations: ${r.violations.length}.`,
    ...r.violations.map((v) => `- ${v}`),
  ];
}
