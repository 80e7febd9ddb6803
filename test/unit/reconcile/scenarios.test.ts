/**
 * End-to-end scenarios of the reconcile core (planner + target worker + in-memory AAI writer + fake
 * cloud), modelled on upstream's mic_test.go scenarios (upstream-mic.md §7.1) and on upgrades from
 * upstream MIC. The harness plays the controller's part: plan → set demand → Kubernetes writes →
 * target passes, repeated until nothing changes.
 */
import { describe, expect, it } from '@jest/globals';
import { ThrottledError, TransientArmError } from '../../../controller/cloud/errors.js';
import { targetKey, type Target } from '../../../controller/cloud/provider.js';
import { createNullLogger } from '../../../controller/observability/logger.js';
import type { AzureIdentity, AzureIdentityBinding, NodeInfo, PodInfo } from '../../../controller/api/types.js';
import { MemoryAssignedIdentityWriter } from '../../../controller/reconcile/aai-writer.js';
import { MemoryOwnershipStore } from '../../../controller/reconcile/ownership.js';
import { plan, type Plan, type PlanConfig } from '../../../controller/reconcile/plan.js';
import { Quarantine } from '../../../controller/reconcile/quarantine.js';
import { TargetWorker, type TargetDemand } from '../../../controller/reconcile/target-worker.js';
import { FakeClock } from '../../../controller/util/clock.js';
import {
  assigned,
  binding,
  canonicalUaiId,
  identity,
  node,
  pod,
  RG,
  SUB,
  withBindingLabel,
  withClientId,
  withIdentityName,
  withNode,
  withResourceId,
  withResourceVersion,
  withSelector,
  withVmssProviderId,
  uaiId,
} from '../../support/builders.js';
import { FakeCloud } from './fake-cloud.js';

const ss = (name: string): Target => ({ kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name });
const SS1 = ss('ss1');
const SS2 = ss('ss2');
const KUBELET = canonicalUaiId('kubelet');

/** Plays the controller's part around the pure planner and the target worker. */
class Harness {
  readonly clock = new FakeClock();
  readonly cloud = new FakeCloud();
  readonly ownership = new MemoryOwnershipStore();
  readonly quarantine = new Quarantine({ clock: this.clock, baseMs: 30_000 });
  readonly writer = new MemoryAssignedIdentityWriter();
  readonly worker: TargetWorker;
  readonly config: PlanConfig;
  pods: PodInfo[] = [];
  nodes: NodeInfo[] = [];
  identities: AzureIdentity[] = [];
  bindings: AzureIdentityBinding[] = [];

  constructor(options: { immutableClientIds?: string[]; protectedIds?: string[] } = {}) {
    this.config = {
      forceNamespaced: false,
      immutableClientIds: new Set(options.immutableClientIds ?? []),
      defaults: { subscriptionId: SUB, resourceGroup: RG },
      unassignGraceMs: 0,
      confirmMaxAgeMs: 180_000,
    };
    let lastPlan: Plan | undefined;
    this.worker = new TargetWorker({
      cloud: this.cloud,
      ownership: this.ownership,
      quarantine: this.quarantine,
      gate: { blockedReason: () => undefined },
      clock: this.clock,
      logger: createNullLogger(),
      hooks: { onObserved: () => undefined, onRejected: () => undefined, onFailure: () => undefined, onWrite: () => undefined, onDryRun: () => undefined },
      protectedIds: () => lastPlan?.protectedIds ?? new Set(),
      unassignGraceMs: 0,
      driftIntervalMs: 180_000,
    });
    this.#rememberPlan = (p) => (lastPlan = p);
  }

  readonly #rememberPlan: (p: Plan) => void;

  /** One planning pass with its Kubernetes writes; returns the plan and the keys whose work changed. */
  async sync(): Promise<{ plan: Plan; changed: string[] }> {
    const p = plan(
      {
        pods: this.pods,
        nodes: new Map(this.nodes.map((n) => [n.name, n])),
        identities: this.identities,
        bindings: this.bindings,
        assigned: [...this.writer.objects.values()],
      },
      this.worker.states(),
      this.config,
      { now: this.clock.now() },
    );
    this.#rememberPlan(p);
    const demand = new Map<string, TargetDemand>();
    for (const tp of p.targets.values()) demand.set(tp.key, { target: tp.target, desired: tp.desired, adoptable: tp.adoptable, confirm: tp.confirm });
    const changed = this.worker.setDemand(demand);
    for (const w of p.kube.create) await this.writer.create(w.body);
    for (const w of p.kube.update) await this.writer.replace(w.body);
    for (const a of p.kube.assign) await this.writer.setStatus(a.aai, 'Assigned');
    for (const a of p.kube.demote) await this.writer.setStatus(a.aai, 'Created');
    for (const r of p.kube.remove) await this.writer.remove(r.aai);
    return { plan: p, changed };
  }

  /** Passes over the given targets until each is done or asks to retry. */
  async runTargets(keys: Iterable<string>): Promise<void> {
    for (const key of keys) {
      for (let i = 0; i < 5; i++) if ((await this.worker.process(key)).kind !== 'again') break;
    }
  }

  /** Sync passes and target passes until a pass changes nothing. */
  async settle(): Promise<Plan> {
    for (let round = 0; round < 10; round++) {
      const callsBefore = this.cloud.calls.length;
      const writesBefore = this.writer.calls.length;
      const { plan: p, changed } = await this.sync();
      await this.runTargets(new Set([...changed, ...p.targets.keys()]));
      if (this.cloud.calls.length === callsBefore && this.writer.calls.length === writesBefore) return p;
    }
    throw new Error('reconcile did not settle in 10 rounds');
  }

  /** `name status` of every AAI, sorted. */
  aais(): string[] {
    return [...this.writer.objects.values()].map((a) => `${a.metadata.name} ${a.status?.status ?? ''}`).sort();
  }

  owned(target: Target): string[] {
    return [...this.ownership.owned(targetKey(target))].map((id) => id.slice(id.lastIndexOf('/') + 1)).sort();
  }
}

/** One identity `id` bound with selector `sel`, pods p1..p3 on n1 (ss1), n2 (ss1), n3 (ss2). */
function vmssCluster(h: Harness, idOptions: Parameters<typeof identity>[1][] = []): void {
  h.nodes = [node('n1', withVmssProviderId(SUB, RG, 'ss1', '0')), node('n2', withVmssProviderId(SUB, RG, 'ss1', '1')), node('n3', withVmssProviderId(SUB, RG, 'ss2', '0'))];
  h.identities = [identity('id', ...idOptions)];
  h.bindings = [binding('b', withIdentityName('id'), withSelector('sel'))];
  h.pods = ['n1', 'n2', 'n3'].map((n, i) => pod(`p${i + 1}`, withNode(n), withBindingLabel('sel')));
}

describe('reconcile scenarios', () => {
  it('pod → AAI Created → assigned on the scale set → Assigned; pod deleted → identity removed, AAI gone', async () => {
    const h = new Harness();
    vmssCluster(h);
    h.pods = h.pods.slice(0, 1);
    h.cloud.seed(SS1, [KUBELET]);
    await h.settle();
    expect(h.writer.calls.slice(0, 2)).toEqual(['create default/p1-default-id Created', 'status default/p1-default-id Assigned']);
    expect(h.aais()).toEqual(['p1-default-id Assigned']);
    expect(h.cloud.on(SS1)).toEqual(['id', 'kubelet']);

    h.pods = [];
    await h.settle();
    expect(h.aais()).toEqual([]);
    expect(h.cloud.on(SS1)).toEqual(['kubelet']);
    expect(h.owned(SS1)).toEqual([]);
  });

  it('VMSS reference counting (upstream scenario 6): identity stays while any pod of the scale set uses it', async () => {
    const h = new Harness();
    vmssCluster(h);
    await h.settle();
    expect(h.aais()).toEqual(['p1-default-id Assigned', 'p2-default-id Assigned', 'p3-default-id Assigned']);
    expect(h.cloud.on(SS1)).toEqual(['id']);
    expect(h.cloud.on(SS2)).toEqual(['id']);
    expect(h.cloud.callsOf('update')).toHaveLength(2); // one PATCH per scale set, not per node

    h.pods = h.pods.filter((p) => p.name !== 'p1');
    await h.settle();
    expect(h.aais()).toEqual(['p2-default-id Assigned', 'p3-default-id Assigned']);
    expect(h.cloud.on(SS1)).toEqual(['id']);

    h.pods = h.pods.filter((p) => p.name !== 'p2');
    await h.settle();
    expect(h.aais()).toEqual(['p3-default-id Assigned']);
    expect(h.cloud.on(SS1)).toEqual([]);
    expect(h.cloud.on(SS2)).toEqual(['id']);
  });

  it('immutable identity (upstream scenario 13): AAIs go, the identity stays on the scale set', async () => {
    const h = new Harness({ immutableClientIds: ['cluster-identity'] });
    vmssCluster(h, [withClientId('Cluster-Identity')]);
    await h.settle();
    h.pods = h.pods.filter((p) => p.name === 'p3');
    await h.settle();
    expect(h.aais()).toEqual(['p3-default-id Assigned']);
    expect(h.cloud.on(SS1)).toEqual(['id']);
    expect(h.cloud.on(SS2)).toEqual(['id']);
  });

  it('batch isolation (upstream scenario 14): a forbidden identity never blocks the others', async () => {
    const h = new Harness();
    h.nodes = [node('n1', withVmssProviderId(SUB, RG, 'ss1', '0'))];
    h.identities = [identity('good'), identity('bad')];
    h.bindings = [binding('bg', withIdentityName('good'), withSelector('g')), binding('bb', withIdentityName('bad'), withSelector('b'))];
    h.pods = [pod('pg', withNode('n1'), withBindingLabel('g')), pod('pb', withNode('n1'), withBindingLabel('b'))];
    h.cloud.forbidden.add(canonicalUaiId('bad'));

    const p = await h.settle();
    expect(h.aais()).toEqual(['pb-default-bad Created', 'pg-default-good Assigned']);
    expect(h.cloud.on(SS1)).toEqual(['good']);
    expect(p.kube.pendingAssignment.map((w) => w.aai.metadata.name)).toEqual(['pb-default-bad']);

    // The role assignment is fixed; after the quarantine backoff the identity goes through.
    h.cloud.forbidden.clear();
    await h.clock.advance(30_000);
    await h.settle();
    expect(h.aais()).toEqual(['pb-default-bad Assigned', 'pg-default-good Assigned']);
    expect(h.cloud.on(SS1)).toEqual(['bad', 'good']);
  });

  it('pod re-created with the same name on another scale set: AAI follows, identity moves', async () => {
    const h = new Harness();
    vmssCluster(h);
    h.pods = h.pods.slice(0, 1);
    await h.settle();
    expect(h.cloud.on(SS1)).toEqual(['id']);

    h.pods = [pod('p1', withNode('n3'), withBindingLabel('sel'))];
    await h.settle();
    const aai = h.writer.objects.get('default/p1-default-id');
    expect(aai?.metadata.labels?.nodename).toBe('n3');
    expect(aai?.status?.status).toBe('Assigned');
    expect(h.cloud.on(SS1)).toEqual([]);
    expect(h.cloud.on(SS2)).toEqual(['id']);
  });

  it('AzureIdentity edited to a new resourceID: AAI updated, new identity added, old one removed', async () => {
    const h = new Harness();
    vmssCluster(h);
    h.pods = h.pods.slice(0, 1);
    await h.settle();

    h.identities = [identity('id', withResourceId(uaiId('id-v2')), withResourceVersion('2'))];
    await h.settle();
    expect(h.aais()).toEqual(['p1-default-id Assigned']);
    expect(h.writer.objects.get('default/p1-default-id')?.spec.azureIdentityRef.spec.resourceID).toBe(uaiId('id-v2'));
    expect(h.cloud.on(SS1)).toEqual(['id-v2']);
  });

  it('a pod using an identity that was already on the scale set: no ARM write, and it is left there afterwards', async () => {
    const h = new Harness();
    vmssCluster(h, [withResourceId(uaiId('kubelet'))]);
    h.pods = h.pods.slice(0, 1);
    h.cloud.seed(SS1, [KUBELET]);
    await h.settle();
    expect(h.aais()).toEqual(['p1-default-id Assigned']);
    // Unknown target on the first pass → Created; the read shows it present → Assigned without a PATCH.
    expect(h.writer.calls).toEqual(['create default/p1-default-id Created', 'status default/p1-default-id Assigned']);
    expect(h.cloud.callsOf('update')).toEqual([]);

    h.pods = [];
    await h.settle();
    expect(h.aais()).toEqual([]);
    expect(h.cloud.on(SS1)).toEqual(['kubelet']);
  });

  it('upgrade from upstream MIC: a stale Assigned AAI is adopted, its identity removed, foreign identities kept', async () => {
    const h = new Harness();
    vmssCluster(h);
    const [p1] = h.pods;
    h.writer.objects.set('default/p1-default-id', assigned(p1!, h.identities[0]!, h.bindings[0]!));
    h.pods = []; // the pod went away while no controller ran
    h.cloud.seed(SS1, [canonicalUaiId('id'), KUBELET]);
    await h.settle();
    expect(h.aais()).toEqual([]);
    expect(h.cloud.on(SS1)).toEqual(['kubelet']);
  });

  it('upgrade from upstream MIC with a failed first read: the stale AAI is kept until adoption happened', async () => {
    const h = new Harness();
    vmssCluster(h);
    const [p1] = h.pods;
    h.writer.objects.set('default/p1-default-id', assigned(p1!, h.identities[0]!, h.bindings[0]!));
    h.pods = [];
    h.cloud.seed(SS1, [canonicalUaiId('id'), KUBELET]);
    h.cloud.getErrors.push(new TransientArmError('502', { statusCode: 502 }));

    // First round: the read fails, so the target is not adopted yet and the AAI must stay as evidence.
    const { plan: first } = await h.sync();
    expect(first.kube.pendingRemoval.map((a) => a.metadata.name)).toEqual(['p1-default-id']);
    await h.runTargets([targetKey(SS1)]);
    expect(h.aais()).toEqual(['p1-default-id Assigned']);

    await h.settle();
    expect(h.aais()).toEqual([]);
    expect(h.cloud.on(SS1)).toEqual(['kubelet']);
  });

  it('upgrade from upstream MIC, pod moved to another scale set: the old scale set is cleaned', async () => {
    const h = new Harness();
    vmssCluster(h);
    const [p1] = h.pods;
    h.writer.objects.set('default/p1-default-id', assigned(p1!, h.identities[0]!, h.bindings[0]!));
    h.pods = [pod('p1', withNode('n3'), withBindingLabel('sel'))]; // re-created on ss2 while no controller ran
    h.cloud.seed(SS1, [canonicalUaiId('id'), KUBELET]);
    await h.settle();
    expect(h.aais()).toEqual(['p1-default-id Assigned']);
    expect(h.cloud.on(SS1)).toEqual(['kubelet']);
    expect(h.cloud.on(SS2)).toEqual(['id']);
  });

  // BUG (plan.ts): an update that moves an Assigned AAI to another node is written at once, even when
  // the old node's target has no ownership record yet. The AAI was the only evidence that a previous
  // MIC added the identity there; if the old target's first read fails (or is simply processed after
  // the next plan), the adoptable set no longer holds the identity and it leaks on the old scale set.
  // Removals already wait for adoption (`adopted === false` → pendingRemoval); updates that change
  // the target should too (or adoptable evidence should persist in the worker until first contact).
  it('upgrade from upstream MIC, pod moved, first read of the old scale set fails: the old scale set is still cleaned', async () => {
    const h = new Harness();
    vmssCluster(h);
    const [p1] = h.pods;
    h.writer.objects.set('default/p1-default-id', assigned(p1!, h.identities[0]!, h.bindings[0]!));
    h.pods = [pod('p1', withNode('n3'), withBindingLabel('sel'))];
    h.cloud.seed(SS1, [canonicalUaiId('id'), KUBELET]);
    h.cloud.getErrorsFor.set(targetKey(SS1), [new TransientArmError('502', { statusCode: 502 })]);
    await h.settle();
    expect(h.cloud.on(SS2)).toEqual(['id']);
    expect(h.cloud.on(SS1)).toEqual(['kubelet']);
  });

  it('Assigned means present: an identity removed out of band demotes the AAI to Created until it is repaired', async () => {
    const h = new Harness();
    vmssCluster(h);
    h.pods = h.pods.slice(0, 1);
    h.cloud.seed(SS1, [KUBELET]);
    await h.settle();
    expect(h.aais()).toEqual(['p1-default-id Assigned']);
    h.cloud.seed(SS1, [KUBELET]); // an upgrade drops the identity
    await h.clock.advance(180_000);
    h.cloud.updateErrors.push(new ThrottledError('busy', { retryAfterMs: 1_000, scope: 'target' }));
    await h.worker.process(targetKey(SS1)); // the drift check reads the target; its repair is throttled
    await h.sync();
    expect(h.aais()).toEqual(['p1-default-id Created']);
    await h.clock.advance(1_000);
    await h.settle();
    expect(h.writer.calls.filter((c) => c.startsWith('status'))).toEqual([
      'status default/p1-default-id Assigned',
      'status default/p1-default-id Created',
      'status default/p1-default-id Assigned',
    ]);
    expect(h.cloud.on(SS1)).toEqual(['id', 'kubelet']);
  });

  it('a pod recreated while its identity is being removed (StatefulSet web-0) is not Assigned before the re-add', async () => {
    const h = new Harness();
    vmssCluster(h);
    h.pods = h.pods.slice(0, 1);
    await h.settle();
    const web0 = h.pods[0]!;
    h.pods = [];
    await h.sync(); // the Assigned AAI goes first…
    await h.sync(); // …then the identity's removal is planned
    let during: Promise<unknown> | undefined;
    let callsAtRemoval = 0;
    h.cloud.onUpdate = (_t, _add, remove) => {
      if (remove.length && !during) {
        callsAtRemoval = h.writer.calls.length;
        h.pods = [web0]; // the pod comes back while the PATCH that removes its identity is in flight
        during = h.sync();
      }
    };
    await h.runTargets([targetKey(SS1)]);
    await during;
    // Nothing reports the pod's AAI `Assigned` while its identity is being removed.
    expect(callsAtRemoval).toBeGreaterThan(0);
    expect(h.writer.calls.slice(callsAtRemoval).filter((c) => c.includes('p1-default-id') && c.endsWith('Assigned'))).toEqual([]);
    h.cloud.onUpdate = undefined;
    await h.settle();
    expect(h.aais()).toEqual(['p1-default-id Assigned']);
    expect(h.cloud.on(SS1)).toEqual(['id']);
  });

  it('a new pod on a target last read longer ago than the interval waits for one read, which finds and repairs a drop', async () => {
    const h = new Harness();
    vmssCluster(h);
    h.pods = h.pods.slice(0, 1);
    await h.settle();
    await h.clock.advance(179_000);
    h.cloud.seed(SS1, []); // dropped out of band; the drift check is not due yet
    await h.clock.advance(1_000);
    h.pods = [h.pods[0]!, pod('p2', withNode('n2'), withBindingLabel('sel'))];
    const { plan: first } = await h.sync();
    expect(first.kube.create.map((w) => w.body.status?.status)).toEqual(['Created']);
    await h.settle();
    expect(h.cloud.on(SS1)).toEqual(['id']);
    expect(h.aais()).toEqual(['p1-default-id Assigned', 'p2-default-id Assigned']);
  });
});
