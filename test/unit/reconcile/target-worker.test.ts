/**
 * TargetWorker against an in-memory cloud: reads, write-ahead ownership, quarantine, throttling,
 * dry run, write gate, adoption on first contact, and never touching identities it does not own.
 */
import { describe, expect, it } from '@jest/globals';
import { ConflictError, IdentityRejectedError, PreconditionFailedError, TargetNotFoundError, ThrottledError, TransientArmError } from '../../../controller/cloud/errors.js';
import { targetKey, type Target } from '../../../controller/cloud/provider.js';
import { PassThrough } from 'node:stream';
import { createLogger, createNullLogger, type Logger } from '../../../controller/observability/logger.js';
import { waitFor } from '../../support/wait.js';
import type { ArmFailure } from '../../../controller/reconcile/arm-failures.js';
import { MemoryOwnershipStore } from '../../../controller/reconcile/ownership.js';
import { Quarantine } from '../../../controller/reconcile/quarantine.js';
import { batchHoldMs, TargetWorker, type TargetDemand } from '../../../controller/reconcile/target-worker.js';
import type { TargetDelta } from '../../../controller/reconcile/targets.js';
import { FakeClock } from '../../../controller/util/clock.js';
import { canonicalUaiId, RG, SUB } from '../../support/builders.js';
import { FakeCloud, shortId } from './fake-cloud.js';

const SS1: Target = { kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name: 'ss1' };
const KEY = targetKey(SS1);
/** The FakeCloud call of a LIST of SS1's group. */
const LIST = `list ${KEY.slice(0, KEY.lastIndexOf('/'))}`;
const A = canonicalUaiId('a');
const B = canonicalUaiId('b');
const BAD = canonicalUaiId('bad');
const KUBELET = canonicalUaiId('kubelet');
const DRIFT_MS = 180_000;

interface Setup {
  worker: TargetWorker;
  cloud: FakeCloud;
  ownership: MemoryOwnershipStore;
  quarantine: Quarantine;
  clock: FakeClock;
  /** Hook calls in order, e.g. `rejected IdentityForbidden bad`. */
  hooks: string[];
  /** Set `blocked` to make the write gate refuse writes; `fence` to fence this replica (lost lease). */
  gate: { blocked?: string; fence?: string };
}

function setup(options: { dryRun?: boolean; graceMs?: number; protectedIds?: string[]; batchWindowMs?: number; immutableClientIds?: string[]; logger?: Logger } = {}): Setup {
  const clock = new FakeClock();
  const cloud = new FakeCloud();
  const ownership = new MemoryOwnershipStore();
  const quarantine = new Quarantine({ clock, baseMs: 30_000 });
  const hooks: string[] = [];
  const gate: { blocked?: string; fence?: string } = {};
  const short = (ids: readonly string[]): string => ids.map(shortId).join(',');
  const worker = new TargetWorker({
    cloud,
    ownership,
    quarantine,
    gate: { blockedReason: () => gate.blocked ?? gate.fence, fenceReason: () => gate.fence },
    clock,
    logger: options.logger ?? createNullLogger(),
    hooks: {
      onObserved: () => hooks.push('observed'),
      onRejected: (_k, f: ArmFailure, ids) => hooks.push(`rejected ${f.reason} ${short(ids)}`),
      onFailure: (_k, f: ArmFailure) => hooks.push(`failure ${f.kind} ${f.reason}`),
      onWrite: (_k, d: TargetDelta) => hooks.push(`write +${short(d.add)} -${short(d.remove)}`),
      onDryRun: (_k, d: TargetDelta) => hooks.push(`dry-run +${short(d.add)} -${short(d.remove)}`),
      onPreconditionFailed: () => hooks.push('precondition'),
    },
    protectedIds: () => new Set(options.protectedIds ?? []),
    immutableClientIds: new Set(options.immutableClientIds ?? []),
    unassignGraceMs: options.graceMs ?? 0,
    driftIntervalMs: DRIFT_MS,
    batchWindowMs: options.batchWindowMs,
    dryRun: options.dryRun ?? false,
  });
  return { worker, cloud, ownership, quarantine, clock, hooks, gate };
}

function demand(desired: string[], adoptable: string[] = [], confirm = false): Map<string, TargetDemand> {
  return new Map([[KEY, { target: SS1, desired: new Set(desired), adoptable: new Set(adoptable), confirm }]]);
}

/** Advances the fake clock in drift-interval steps until the target's drift check is due. */
async function advanceUntilDriftDue(s: Setup): Promise<void> {
  for (let i = 0; i < 16 && !s.worker.dueForDriftCheck().includes(KEY); i++) await s.clock.advance(DRIFT_MS);
  expect(s.worker.dueForDriftCheck()).toEqual([KEY]);
}

const owned = (s: Setup): string[] => [...s.ownership.owned(KEY)].map(shortId).sort();

describe('TargetWorker: writing', () => {
  it('first pass reads, then adds everything in one PATCH; a pass with no change makes no call', async () => {
    const s = setup();
    expect(s.worker.setDemand(demand([A, B]))).toEqual([KEY]);

    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.calls).toEqual([`get ${KEY}`, `update ${KEY} +a,b -`]);
    expect(s.cloud.on(SS1)).toEqual(['a', 'b']);
    expect([...(s.worker.observed(KEY) ?? [])].map(shortId).sort()).toEqual(['a', 'b']);

    const second = await s.worker.process(KEY);
    expect(second).toMatchObject({ kind: 'done' });
    expect(s.cloud.calls).toHaveLength(2);
  });

  it('a new plan with the same desired set marks no work', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    expect(s.worker.setDemand(demand([A]))).toEqual([]);
    expect(s.worker.setDemand(demand([A, B]))).toEqual([KEY]);
  });

  it('records ownership before the add reaches ARM', async () => {
    const s = setup();
    const ownedAtWrite: string[][] = [];
    s.cloud.onUpdate = () => ownedAtWrite.push(owned(s));
    s.worker.setDemand(demand([A, B]));
    await s.worker.process(KEY);
    expect(ownedAtWrite).toEqual([['a', 'b']]);
  });

  it('removes an owned identity once it is no longer desired, then forgets it', async () => {
    const s = setup();
    s.worker.setDemand(demand([A, B]));
    await s.worker.process(KEY);
    s.worker.setDemand(demand([B]));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.callsOf('update')).toEqual([`update ${KEY} +a,b -`, `update ${KEY} + -a`]);
    expect(s.cloud.on(SS1)).toEqual(['b']);
    expect(owned(s)).toEqual(['b']);
  });

  it('never removes an identity that was on the target before (not owned)', async () => {
    const s = setup();
    s.cloud.seed(SS1, [KUBELET]);
    s.worker.setDemand(demand([KUBELET, A])); // a pod uses the kubelet identity: already present, not added
    await s.worker.process(KEY);
    expect(owned(s)).toEqual(['a']);
    s.worker.setDemand(demand([]));
    await s.worker.process(KEY);
    await s.worker.process(KEY);
    expect(s.cloud.callsOf('update')).toEqual([`update ${KEY} +a -`, `update ${KEY} + -a`]);
    expect(s.cloud.on(SS1)).toEqual(['kubelet']);
  });

  it('never removes a protected (immutable) identity it added', async () => {
    const s = setup({ protectedIds: [A] });
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    s.worker.setDemand(demand([]));
    expect(await s.worker.process(KEY)).toMatchObject({ kind: 'done' });
    expect(s.cloud.on(SS1)).toEqual(['a']);
    expect(s.cloud.callsOf('update')).toHaveLength(1);
  });

  it('cleans a target known only from ownership records (no demand)', async () => {
    const s = setup();
    s.cloud.seed(SS1, [A, KUBELET]);
    await s.ownership.add(SS1, [A]);
    s.worker.setDemand(new Map());
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.on(SS1)).toEqual(['kubelet']);
    expect(owned(s)).toEqual([]);
  });

  it('forgets owned identities someone else removed', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    s.cloud.seed(SS1, []); // removed out of band; the drift check will see it
    s.worker.setDemand(demand([]));
    await advanceUntilDriftDue(s);
    expect(await s.worker.process(KEY)).toMatchObject({ kind: 'done' });
    expect(s.cloud.callsOf('update')).toHaveLength(1);
    expect(owned(s)).toEqual([]);
  });
});

describe('TargetWorker: grace period', () => {
  it('holds a removal until the grace period is over', async () => {
    const s = setup({ graceMs: 60_000 });
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    s.worker.setDemand(demand([]));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'done', requeueAfterMs: 60_000 });
    expect(s.cloud.on(SS1)).toEqual(['a']);

    await s.clock.advance(59_999);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'done', requeueAfterMs: 1 });
    await s.clock.advance(1);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.on(SS1)).toEqual([]);
  });

  it('a pod coming back within the grace period cancels the removal', async () => {
    const s = setup({ graceMs: 60_000 });
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    s.worker.setDemand(demand([]));
    await s.worker.process(KEY);
    await s.clock.advance(30_000);
    s.worker.setDemand(demand([A]));
    await s.clock.advance(60_000);
    await s.worker.process(KEY);
    expect(s.cloud.callsOf('update')).toHaveLength(1);
    expect(s.cloud.on(SS1)).toEqual(['a']);
  });
});

describe('TargetWorker: adoption on first contact', () => {
  it('adopts identities of Assigned AAIs that are present, and only those', async () => {
    const s = setup();
    s.cloud.seed(SS1, [A, KUBELET]);
    // A: referenced by an Assigned AAI and present → adopted; B: referenced but absent → not adopted.
    s.worker.setDemand(demand([A], [A, B]));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'done', requeueAfterMs: DRIFT_MS });
    expect(owned(s)).toEqual(['a']);
    expect(s.cloud.callsOf('update')).toEqual([]);

    // The pod goes: the adopted identity is removed, the foreign one stays.
    s.worker.setDemand(demand([]));
    await s.worker.process(KEY);
    expect(s.cloud.on(SS1)).toEqual(['kubelet']);
  });

  it('adopts once per leadership term: a record from an earlier term does not stop it (rollback then roll-forward does not leak)', async () => {
    const s = setup();
    await s.ownership.add(SS1, []); // written by this controller before a rollback to upstream MIC
    s.cloud.seed(SS1, [A]); // upstream MIC added A meanwhile, for a pod whose AAI is Assigned
    s.worker.setDemand(demand([A], [A]));
    await s.worker.process(KEY);
    expect(owned(s)).toEqual(['a']);
    s.worker.setDemand(demand([]));
    await s.worker.process(KEY);
    expect(s.cloud.on(SS1)).toEqual([]);
  });

  it('within a term adoption runs once; a new term runs it again', async () => {
    const s = setup();
    s.cloud.seed(SS1, [KUBELET]);
    s.worker.setDemand(demand([], [A]));
    await s.worker.process(KEY);
    s.cloud.seed(SS1, [KUBELET, A]); // added out of band after first contact
    s.worker.setDemand(demand([A], [A]));
    await s.worker.process(KEY);
    expect(owned(s)).toEqual([]);
    s.worker.newTerm();
    s.worker.setDemand(demand([A], [A]));
    await s.worker.process(KEY);
    expect(owned(s)).toEqual(['a']);
  });

  it('a new term that keeps its view (newTerm): no read when the kept observation is fresh and nothing is left to adopt; adoption still runs', async () => {
    const s = setup();
    s.cloud.seed(SS1, [A]);
    s.worker.setDemand(demand([A], [A]));
    await s.worker.process(KEY);
    expect(owned(s)).toEqual(['a']);
    const reads = s.cloud.callsOf('get').length;
    s.worker.newTerm();
    expect(s.worker.states().get(KEY)?.adopted).toBe(false);
    s.worker.setDemand(demand([A], [A]));
    await s.worker.process(KEY);
    expect(s.cloud.callsOf('get').length).toBe(reads);
    expect(s.worker.states().get(KEY)?.adopted).toBe(true);
    expect(s.worker.states().get(KEY)?.observed).toEqual(new Set([A]));
  });

  it('a new term that keeps its view reads again before adopting something new, so a stale observation is never adopted from', async () => {
    const s = setup();
    s.cloud.seed(SS1, [KUBELET]);
    s.worker.setDemand(demand([]));
    await s.worker.process(KEY);
    s.cloud.seed(SS1, [KUBELET, A]); // another controller added A after this replica's last read
    s.worker.newTerm();
    s.worker.setDemand(demand([A], [A]));
    await s.worker.process(KEY);
    expect(owned(s)).toEqual(['a']);
    expect(s.cloud.callsOf('update')).toEqual([]); // A is there: nothing written
  });

  it('a new term that keeps its view: a write from a stale observation is refused (412), re-read and re-planned', async () => {
    const s = setup();
    s.cloud.seed(SS1, [KUBELET]);
    s.worker.setDemand(demand([A]));
    while ((await s.worker.process(KEY)).kind === 'again');
    expect(s.cloud.on(SS1)).toEqual(['a', 'kubelet']);
    s.cloud.seed(SS1, [KUBELET, A, B]); // someone else's change since (new etag)
    s.worker.newTerm();
    s.worker.setDemand(demand([]));
    while ((await s.worker.process(KEY)).kind === 'again');
    expect(s.hooks).toContain('precondition');
    expect(s.cloud.on(SS1)).toEqual(['b', 'kubelet']);
  });

  it('adopts while ARM writes are paused (only ownership is recorded), but not when fenced', async () => {
    const paused = setup();
    paused.cloud.seed(SS1, [A]);
    paused.gate.blocked = 'paused';
    paused.worker.setDemand(demand([A, B], [A]));
    await paused.worker.process(KEY);
    expect(owned(paused)).toEqual(['a']);
    expect(paused.cloud.callsOf('update')).toEqual([]);

    const fenced = setup();
    fenced.cloud.seed(SS1, [A]);
    fenced.gate.fence = 'not leader';
    fenced.worker.setDemand(demand([A], [A]));
    expect(await fenced.worker.process(KEY)).toEqual({ kind: 'done' });
    expect(fenced.ownership.hasRecord(KEY)).toBe(false);
  });

  it('identities seen on the target that it did not add are recorded as foreign and never adopted in a later term', async () => {
    const s = setup();
    s.cloud.seed(SS1, [KUBELET, BAD]); // BAD: pre-assigned by someone else (a "legacy" identity)
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    expect([...s.ownership.foreign(KEY)].map(shortId).sort()).toEqual(['bad', 'kubelet']);
    // A later term: a pod uses the legacy identity and its AAI is Assigned (it was already there).
    s.worker.newTerm();
    s.worker.setDemand(demand([A, BAD], [A, BAD]));
    await s.worker.process(KEY);
    expect(owned(s)).toEqual(['a']);
    s.worker.setDemand(demand([]));
    await s.worker.process(KEY);
    expect(s.cloud.on(SS1)).toEqual(['bad', 'kubelet']);
  });

  it('Created AAIs count as evidence: their identities present on the target are adopted', async () => {
    const s = setup();
    s.cloud.seed(SS1, [A]);
    s.worker.setDemand(demand([A], [A])); // the plan puts Created AAIs' identities into adoptable
    await s.worker.process(KEY);
    expect(owned(s)).toEqual(['a']);
    expect(s.worker.states().get(KEY)?.adopted).toBe(true);
  });

});

describe('TargetWorker: failures', () => {
  it('quarantines a rejected identity and writes the others on the next pass', async () => {
    const s = setup();
    s.cloud.forbidden.add(BAD);
    s.worker.setDemand(demand([A, BAD]));

    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.hooks).toContain('rejected IdentityForbidden bad');
    expect([...s.quarantine.active()]).toEqual([BAD]);

    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.callsOf('update')).toEqual([`update ${KEY} +a,bad -`, `update ${KEY} +a -`]);
    expect(s.cloud.on(SS1)).toEqual(['a']);

    // While quarantined the bad identity causes no ARM traffic.
    expect(await s.worker.process(KEY)).toMatchObject({ kind: 'done' });
    expect(s.cloud.calls).toHaveLength(3);

    // After its backoff it is tried again (once the role assignment exists it goes through).
    s.cloud.forbidden.clear();
    await s.clock.advance(30_000);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.on(SS1)).toEqual(['a', 'bad']);
    expect(s.quarantine.get(BAD)).toBeUndefined();
  });

  it('a rejection naming no identity is retried with backoff', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    s.cloud.updateErrors.push(new IdentityRejectedError('forbidden', { identityIds: [], reason: 'forbidden' }));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', rateLimited: true });
    expect(s.quarantine.size()).toBe(0);
  });

  it.each([
    ['throttled with Retry-After', new ThrottledError('slow down', { retryAfterMs: 5_000, scope: 'target' }), 5_000],
    ['throttled without a hint waits at least a second', new ThrottledError('slow down', { retryAfterMs: 0, scope: 'subscription' }), 1_000],
    ['refused by the client-side limiter', new ThrottledError('local limit', { retryAfterMs: 2_500, scope: 'target', local: true }), 2_500],
    ['another operation in progress', new ConflictError('busy', { retryAfterMs: 12_000 }), 12_000],
  ])('%s → retry after the advertised time', async (_name, err, afterMs) => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    s.cloud.updateErrors.push(err);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', afterMs });
    expect(s.cloud.on(SS1)).toEqual([]);
    // Nothing is quarantined and the cached observation is kept: the retry goes straight to the write.
    expect(s.quarantine.size()).toBe(0);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.callsOf('get')).toHaveLength(1);
    expect(s.cloud.on(SS1)).toEqual(['a']);
  });

  it('throttled read → retry after the advertised time, no write', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    s.cloud.getErrors.push(new ThrottledError('slow down', { retryAfterMs: 7_000, scope: 'target' }));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', afterMs: 7_000 });
    expect(s.cloud.callsOf('update')).toEqual([]);
  });


  it('transient failure: the next pass reads the target again before writing', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    s.cloud.updateErrors.push(new TransientArmError('502', { statusCode: 502 }));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', rateLimited: true });
    expect(s.hooks).toContain('failure error CloudError');
    await s.worker.process(KEY);
    expect(s.cloud.calls).toEqual([`get ${KEY}`, `update ${KEY} +a -`, `get ${KEY}`, `update ${KEY} +a -`]);
  });

  it('target gone: its ownership record is dropped', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    expect(s.ownership.hasRecord(KEY)).toBe(true);
    s.worker.setDemand(demand([A, B]));
    s.cloud.updateErrors.push(new TargetNotFoundError('gone', { statusCode: 404 }));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'done' });
    expect(s.ownership.hasRecord(KEY)).toBe(false);
    expect(s.worker.observed(KEY)).toBeUndefined();
  });
});

describe('TargetWorker: known bugs (it.failing until fixed in controller/reconcile/target-worker.ts)', () => {
  // BUG: a rejection that names only identities the write is not adding (a stale identity already on
  // the scale set that was deleted in Azure, or one being removed) quarantines nothing useful, yet the
  // worker answers `again`; the next pass sends the identical PATCH at once, so the target loops on
  // ARM with no backoff. Expected: when no rejected ID is in `delta.add`, back off (`retry`).
  it('a rejection naming only identities not being added does not re-send the same PATCH at once', async () => {
    const s = setup();
    const STALE = canonicalUaiId('deleted-in-azure');
    s.cloud.seed(SS1, [STALE]);
    s.worker.setDemand(demand([A]));
    for (let i = 0; i < 3; i++) {
      s.cloud.updateErrors.push(new IdentityRejectedError('identity not found', { identityIds: [STALE], reason: 'not-found' }));
    }
    for (let i = 0; i < 3; i++) if ((await s.worker.process(KEY)).kind !== 'again') break;
    expect(s.cloud.callsOf('update')).toHaveLength(1);
  });

  // BUG: after TargetNotFound the worker drops its state and fires onObserved (which the controller
  // wires to a new sync pass); the next setDemand with the same desired set finds no observation and
  // reports the key as changed, so the gone target is read again on every sync pass, and each read
  // triggers the next pass: a GET loop with no backoff while nodes of a deleted scale set linger.
  // Expected: remember the target as gone for a backoff period (unchanged demand → no new pass).
  it('a vanished target is not read again on every sync pass', async () => {
    const s = setup();
    for (let round = 0; round < 3; round++) {
      s.cloud.getErrors.push(new TargetNotFoundError('ResourceNotFound', { statusCode: 404 }));
      for (const key of s.worker.setDemand(demand([A]))) await s.worker.process(key);
    }
    expect(s.cloud.callsOf('get')).toHaveLength(1);
  });
});

describe('TargetWorker: held-back writes', () => {
  it('dry run: reads, reports the write it would make, writes nothing', async () => {
    const s = setup({ dryRun: true });
    s.worker.setDemand(demand([A]));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'done', requeueAfterMs: undefined });
    expect(s.cloud.calls).toEqual([`get ${KEY}`]);
    expect(s.hooks).toContain('dry-run +a -');
    expect(owned(s)).toEqual([]);
  });

  it('write gate closed: no ARM write and no ownership of the adds', async () => {
    const s = setup();
    s.gate.blocked = 'not leader';
    s.worker.setDemand(demand([A]));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'done' });
    expect(s.cloud.callsOf('update')).toEqual([]);
    expect(owned(s)).toEqual([]);

    s.gate.blocked = undefined;
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.on(SS1)).toEqual(['a']);
  });
});

describe('TargetWorker: drift', () => {
  it('re-reads the target when the drift check is due and repairs a missing identity', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    s.cloud.seed(SS1, []); // someone removed it in Azure
    expect(s.worker.dueForDriftCheck()).toEqual([]);
    await advanceUntilDriftDue(s);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.calls.slice(2)).toEqual([LIST, `update ${KEY} +a -`]);
  });
});

describe('TargetWorker: batching window', () => {
  it('holds the write while the desired set keeps changing, then writes everything at once', async () => {
    const s = setup({ batchWindowMs: 1_000 });
    s.worker.setDemand(demand([A]));
    const first = await s.worker.process(KEY);
    expect(first).toEqual({ kind: 'retry', afterMs: 1_000 });
    expect(s.cloud.callsOf('update')).toEqual([]);
    await s.clock.advance(500);
    s.worker.setDemand(demand([A, B]));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', afterMs: 1_000 });
    await s.clock.advance(1_000);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.callsOf('update')).toHaveLength(1);
    expect(s.hooks).toContain('write +a,b -');
  });

  it('never holds a write longer than ten windows, even when changes keep coming', async () => {
    const s = setup({ batchWindowMs: 100 });
    const ids: string[] = [];
    let result;
    for (let i = 0; i < 20; i++) {
      ids.push(canonicalUaiId(`id-${i}`));
      s.worker.setDemand(demand([...ids]));
      result = await s.worker.process(KEY);
      if (result.kind === 'again') break;
      await s.clock.advance(90);
    }
    expect(result).toEqual({ kind: 'again' });
    expect(s.cloud.callsOf('update')).toHaveLength(1);
    expect(ids.length).toBeLessThanOrEqual(13); // 10 windows of 100 ms, changes every 90 ms
  });
});

describe('TargetWorker: batching while the plan lags behind the cluster (issue 16)', () => {
  it('a change the plan has not seen yet keeps the window open; the plan that includes it restarts it', async () => {
    const s = setup({ batchWindowMs: 1_000 });
    s.worker.planStarted();
    s.worker.setDemand(demand([A]));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', afterMs: 1_000 });
    await s.clock.advance(200);
    s.worker.noteClusterChange(); // a new pod, while the sync pass is still busy writing
    await s.clock.advance(1_300); // 1.5 s since the demand changed, but only 0.2 s of it is known quiet
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', afterMs: 250 });
    expect(s.cloud.callsOf('update')).toEqual([]);
    s.worker.planStarted();
    s.worker.setDemand(demand([A, B])); // the plan that saw the new pod
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', afterMs: 1_000 });
    await s.clock.advance(1_000);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.hooks).toContain('write +a,b -');
  });

  it('a change that arrives while a plan is computed stays unplanned after that plan; one that arrived before does not', async () => {
    const s = setup({ batchWindowMs: 1_000 });
    s.worker.noteClusterChange();
    s.worker.planStarted();
    s.worker.setDemand(demand([A])); // covers the change noted before its snapshot
    await s.clock.advance(1_000);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });

    const t = setup({ batchWindowMs: 1_000 });
    t.worker.planStarted();
    t.worker.noteClusterChange(); // after the snapshot: this plan does not reflect it
    t.worker.setDemand(demand([A]));
    await t.clock.advance(1_000);
    expect(await t.worker.process(KEY)).toEqual({ kind: 'retry', afterMs: 250 });
  });

  it('while the plan lags, the ten windows count planned time: the write waits for the plan, twenty windows at most', async () => {
    const s = setup({ batchWindowMs: 100 });
    const start = s.clock.now();
    s.worker.planStarted();
    s.worker.setDemand(demand([A]));
    s.worker.noteClusterChange(); // never planned: the sync loop is stuck
    let result = await s.worker.process(KEY);
    for (let i = 0; i < 100 && result.kind === 'retry'; i++) {
      await s.clock.advance(25);
      result = await s.worker.process(KEY);
    }
    expect(result).toEqual({ kind: 'again' });
    expect(s.clock.now() - start).toBeGreaterThanOrEqual(2_000);
    expect(s.clock.now() - start).toBeLessThan(2_100);
  });

  it('a plan that catches up after ten windows lets the write go at once', async () => {
    const s = setup({ batchWindowMs: 100 });
    s.worker.planStarted();
    s.worker.setDemand(demand([A]));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', afterMs: 100 });
    await s.clock.advance(50);
    s.worker.noteClusterChange();
    await s.clock.advance(1_450); // fifteen windows of wall time, half a window of it planned
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', afterMs: 25 });
    s.worker.planStarted();
    s.worker.setDemand(demand([A, B])); // the late change: the write carries it
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.hooks).toContain('write +a,b -');
  });

  it('batchHoldMs: quiet for a window → 0; otherwise the rest of the window, a short re-check while unplanned, never past ten windows', () => {
    expect(batchHoldMs(1_000, 5_000, 0, 4_000, undefined)).toBe(0);
    expect(batchHoldMs(1_000, 5_000, 4_000, 4_600, undefined)).toBe(600);
    expect(batchHoldMs(1_000, 5_000, 4_000, 4_600, 4_700)).toBe(250);
    expect(batchHoldMs(1_000, 5_000, 4_000, 3_000, 4_500)).toBe(0); // known quiet from 3.0 to 4.5 s
    expect(batchHoldMs(1_000, 10_000, 0, 9_999, undefined)).toBe(0); // ten windows since the first pending change
    expect(batchHoldMs(1_000, 9_900, 0, 9_800, undefined)).toBe(100);
    expect(batchHoldMs(1_000, 12_000, 0, 9_000, 9_500)).toBe(250); // behind: 9.5 s planned, not ten windows yet
    expect(batchHoldMs(1_000, 12_000, 0, 9_800, 10_500)).toBe(0); // ten windows of planned time
    expect(batchHoldMs(1_000, 20_000, 0, 4_900, 5_000)).toBe(0); // twenty windows of wall time
    expect(batchHoldMs(0, 5_000, 0, 5_000, 5_000)).toBe(0);
  });
});

describe('TargetWorker: a change of more than one PATCH (issue 16)', () => {
  it('each chunk ARM confirmed counts at once: its identities are observed before the last chunk lands', async () => {
    const s = setup();
    s.cloud.chunkSize = 1;
    let between: string[] = [];
    let hooksBetween: string[] = [];
    s.cloud.betweenChunks = () => {
      between = [...(s.worker.confirmation(KEY)?.observed ?? [])].map(shortId).sort();
      hooksBetween = [...s.hooks];
    };
    s.worker.setDemand(demand([A, B]));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(between).toEqual(['a']);
    expect(hooksBetween).toEqual(['observed', 'observed']); // first read, then the first chunk
    expect([...(s.worker.observed(KEY) ?? [])].map(shortId).sort()).toEqual(['a', 'b']);
  });

  it('identities being removed stay unconfirmed between chunks', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    s.cloud.chunkSize = 1;
    let removing: string[] = [];
    s.cloud.betweenChunks = () => {
      removing = [...(s.worker.confirmation(KEY)?.removing ?? [])].map(shortId);
    };
    const c = canonicalUaiId('c');
    s.worker.setDemand(demand([B, c]));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(removing).toEqual(['a']);
    expect(s.cloud.on(SS1)).toEqual(['b', 'c']);
  });
});

describe('TargetWorker: writes conditioned on what ARM said (issue 12)', () => {
  it('a write refused with 412 is re-read, re-planned and retried at once, counted, without a failure', async () => {
    const s = setup();
    s.cloud.seed(SS1, [KUBELET]);
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY); // read + add A
    s.worker.setDemand(demand([]));
    s.cloud.seed(SS1, [KUBELET, A, B]); // someone adds B after our last answer: the etag moves on
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.calls.slice(2)).toEqual([`update ${KEY} + -a`, `get ${KEY}`, `update ${KEY} + -a`]);
    expect(s.hooks.filter((h) => h === 'precondition')).toHaveLength(1);
    expect(s.hooks.some((h) => h.startsWith('failure'))).toBe(false);
    expect(s.worker.lastFailure(KEY)).toBeUndefined();
    expect(s.cloud.on(SS1)).toEqual(['b', 'kubelet']);
  });

  it('an identity someone else added meanwhile is not sent again and not recorded as ours', async () => {
    const s = setup();
    s.cloud.seed(SS1, [KUBELET]);
    s.worker.setDemand(demand([B]));
    await s.worker.process(KEY); // read + add B
    // Someone adds A before our add of A lands.
    s.worker.setDemand(demand([A, B]));
    s.cloud.seed(SS1, [KUBELET, A, B]);
    expect(await s.worker.process(KEY)).toMatchObject({ kind: 'done' });
    expect(s.cloud.callsOf('update')).toEqual([`update ${KEY} +b -`, `update ${KEY} +a -`]); // refused with 412, not re-sent
    expect(owned(s)).toEqual(['b']); // the write-ahead record of A was taken back
    s.worker.setDemand(demand([]));
    await s.worker.process(KEY);
    expect(s.cloud.on(SS1)).toEqual(['a', 'kubelet']); // so A is never removed by us
  });

  it('a 412 on a later chunk keeps ownership of what the earlier chunks added', async () => {
    const s = setup();
    s.worker.setDemand(demand([B]));
    await s.worker.process(KEY); // read + add B
    const single = s.cloud.updateIdentities.bind(s.cloud);
    s.cloud.updateIdentities = async (t, add, remove, current, options) => {
      await single(t, add.slice(0, 1), [], current, options); // chunk 1 (A) lands
      s.cloud.seed(t, [...(s.cloud.identities.get(KEY) ?? [])]); // someone writes between the chunks
      options?.beforeWrite?.();
      throw new PreconditionFailedError('changed', { statusCode: 412 }); // chunk 2 is refused
    };
    s.worker.setDemand(demand([A, B, KUBELET]));
    await s.worker.process(KEY);
    expect(owned(s)).toEqual(expect.arrayContaining(['a']));
  });

  it('retries after 412 are bounded; then the target is retried later, quietly', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY); // read + write
    s.worker.setDemand(demand([A, B]));
    s.cloud.onUpdate = (t) => s.cloud.seed(t, [...(s.cloud.identities.get(KEY) ?? [])]); // every write races another writer
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', rateLimited: true });
    expect(s.cloud.callsOf('update')).toHaveLength(1 + 4); // first try + 3 retries
    expect(s.hooks.filter((h) => h === 'precondition')).toHaveLength(4);
    expect(s.hooks.some((h) => h.startsWith('failure'))).toBe(false);
  });

  it('identities being removed are marked while the write is in flight', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    s.worker.setDemand(demand([]));
    let during: string[] | undefined;
    s.cloud.onUpdate = () => {
      during = [...(s.worker.states().get(KEY)?.removing ?? [])].map(shortId);
    };
    await s.worker.process(KEY);
    expect(during).toEqual(['a']);
    expect([...(s.worker.states().get(KEY)?.removing ?? [])]).toEqual([]);
  });

  it('never removes an identity whose client ID, as ARM reports it, is immutable (its AzureIdentity may be gone)', async () => {
    const s = setup({ immutableClientIds: ['cluster-client-id'] });
    s.cloud.clientIds.set(A, 'Cluster-Client-ID');
    s.worker.setDemand(demand([A, B]));
    await s.worker.process(KEY);
    s.worker.setDemand(demand([]));
    await s.worker.process(KEY);
    expect(s.cloud.on(SS1)).toEqual(['a']);
    expect(s.cloud.callsOf('update')).toEqual([`update ${KEY} +a,b -`, `update ${KEY} + -b`]);
  });

  it('a new assignment on a target whose last read is older than the interval triggers one read first', async () => {
    const s = setup();
    s.cloud.seed(SS1, [A]);
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    expect(s.cloud.callsOf('get')).toHaveLength(1);
    // Within the interval a confirmation request costs nothing.
    expect(s.worker.setDemand(demand([A], [], true))).toEqual([]);
    await s.worker.process(KEY);
    expect(s.cloud.callsOf('get')).toHaveLength(1);
    // Older than the interval: one read, which repairs the removal. The target has live assignments, so
    // its drift check is due at the same moment and that read is the group's LIST.
    await s.clock.advance(DRIFT_MS);
    s.cloud.seed(SS1, []); // an upgrade dropped the identity
    expect(s.worker.setDemand(demand([A], [], true))).toEqual([KEY]);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'again' });
    expect(s.cloud.calls.slice(1)).toEqual([LIST, `update ${KEY} +a -`]);
    expect(s.cloud.on(SS1)).toEqual(['a']);
  });

  it('the drift check does not back off for targets with live assignments', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    for (let i = 0; i < 4; i++) {
      await s.clock.advance(DRIFT_MS);
      expect(await s.worker.process(KEY)).toEqual({ kind: 'done', requeueAfterMs: DRIFT_MS });
    }
    expect(s.cloud.callsOf('get')).toHaveLength(1);
    expect(s.cloud.callsOf('list')).toHaveLength(4);
  });
});

describe('TargetWorker: fencing (issue 12)', () => {
  it('a fenced replica sends no ARM write and records no ownership', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    s.gate.fence = 'not leader';
    expect(await s.worker.process(KEY)).toEqual({ kind: 'done' });
    expect(s.cloud.callsOf('update')).toEqual([]);
    expect(s.ownership.hasRecord(KEY)).toBe(false);
  });

  it('losing the lease during a 412 retry stops the retry', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    s.worker.setDemand(demand([A, B]));
    s.cloud.onUpdate = (t) => {
      s.cloud.seed(t, [...(s.cloud.identities.get(KEY) ?? [])]);
      s.gate.fence = 'not leader';
    };
    expect(await s.worker.process(KEY)).toEqual({ kind: 'done' });
    expect(s.cloud.callsOf('update')).toHaveLength(2);
    expect(s.hooks.some((h) => h.startsWith('failure'))).toBe(false);
  });

  it('the provider is given a beforeWrite that refuses once the lease is lost', async () => {
    const s = setup();
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    s.worker.setDemand(demand([A, B]));
    s.ownership.add = async (t, ids) => {
      await MemoryOwnershipStore.prototype.add.call(s.ownership, t, ids);
      s.gate.fence = 'not leader'; // lost while recording: the gate is closed before the PATCH
    };
    expect(await s.worker.process(KEY)).toEqual({ kind: 'done' });
    expect(s.cloud.callsOf('update')).toHaveLength(1);
  });

  it('an aborted pass (lease lost) reports no failure', async () => {
    const s = setup();
    const ac = new AbortController();
    s.worker.setDemand(demand([A]));
    s.cloud.getErrors.push(new TransientArmError('aborted', {}));
    ac.abort();
    expect(await s.worker.process(KEY, ac.signal)).toEqual({ kind: 'done' });
    expect(s.hooks.some((h) => h.startsWith('failure'))).toBe(false);
  });
});

describe('TargetWorker: ownership records (issue 12)', () => {
  it('an empty record of a target nothing needs is deleted without any ARM call', async () => {
    const s = setup();
    await s.ownership.add(SS1, []);
    expect(s.worker.setDemand(new Map())).toEqual([KEY]);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'done' });
    expect(s.ownership.hasRecord(KEY)).toBe(false);
    expect(s.cloud.calls).toEqual([]);
  });

  it('a record with foreign entries of a target nothing needs is kept while the target exists, deleted once ARM says it is gone', async () => {
    const s = setup();
    await s.ownership.addForeign(SS1, [KUBELET]);
    s.cloud.seed(SS1, [KUBELET]);
    expect(s.worker.setDemand(new Map())).toEqual([KEY]);
    await s.worker.process(KEY);
    expect(s.ownership.hasRecord(KEY)).toBe(true);
    expect(s.cloud.callsOf('get')).toHaveLength(1);
    expect(s.worker.setDemand(new Map())).toEqual([]); // once per term

    s.worker.newTerm(); // next term: the scale set has been deleted meanwhile
    s.cloud.getErrors.push(new TargetNotFoundError('gone', { statusCode: 404, armCode: 'ResourceNotFound' }));
    expect(s.worker.setDemand(new Map())).toEqual([KEY]);
    await s.worker.process(KEY);
    await waitFor(() => !s.ownership.hasRecord(KEY), 'the record to be deleted');
  });

  it('a failed record deletion is logged, not swallowed, and the pass goes on', async () => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const s = setup({ logger: createLogger({ stream }) });
    s.worker.setDemand(demand([A]));
    await s.worker.process(KEY);
    s.ownership.drop = async () => {
      throw new Error('forbidden');
    };
    s.cloud.hiddenFromList.add(KEY); // missing from the drift check's LIST: the GET that follows says gone
    s.cloud.getErrors.push(new TargetNotFoundError('gone', { statusCode: 404, armCode: 'ResourceNotFound' }));
    await s.clock.advance(DRIFT_MS);
    expect(await s.worker.process(KEY)).toEqual({ kind: 'done' });
    const line = await waitFor(() => lines.map((l) => JSON.parse(l) as { message: string; err?: { message?: string } }).find((l) => l.message === 'Failed to delete the ownership record of the target'), 'the failure log line');
    expect(line.err?.message).toBe('forbidden');
  });

  it('dry run writes no ownership record, not even for adoption', async () => {
    const s = setup({ dryRun: true });
    s.cloud.seed(SS1, [A]);
    s.worker.setDemand(demand([A], [A]));
    await s.worker.process(KEY);
    expect(s.ownership.hasRecord(KEY)).toBe(false);
  });
});

describe('TargetWorker: drift checks by group LIST (issue 12 item 3)', () => {
  const SS2: Target = { ...SS1, name: 'ss2' };
  const SS3: Target = { ...SS1, name: 'ss3' };
  const OTHER_RG: Target = { ...SS1, resourceGroup: 'rg-other', name: 'ss9' };
  const all = [SS1, SS2, SS3];
  const live = (targets: Target[], desired: string[] = [A]): Map<string, TargetDemand> =>
    new Map(targets.map((t) => [targetKey(t), { target: t, desired: new Set(desired), adoptable: new Set<string>() }]));

  /** Three scale sets of one resource group with A assigned, each read once (first contact). */
  async function threeLive(): Promise<Setup> {
    const s = setup();
    for (const t of all) s.cloud.seed(t, [A]);
    s.worker.setDemand(live(all));
    for (const t of all) await s.worker.process(targetKey(t));
    expect(s.cloud.calls).toEqual(all.map((t) => `get ${targetKey(t)}`));
    s.cloud.calls.length = 0;
    return s;
  }

  it('one LIST per interval refreshes every target of the group: no GET per target', async () => {
    const s = await threeLive();
    for (let i = 0; i < 3; i++) {
      await s.clock.advance(DRIFT_MS);
      for (const t of all) expect(await s.worker.process(targetKey(t))).toEqual({ kind: 'done', requeueAfterMs: DRIFT_MS });
    }
    expect(s.cloud.calls).toEqual([LIST, LIST, LIST]);
    expect(s.worker.dueForDriftCheck()).toEqual([]);
  });

  it('an identity dropped out of band from another target of the group is seen by the LIST and repaired with the listed etag', async () => {
    const s = await threeLive();
    s.cloud.seed(SS2, []); // an AKS upgrade dropped it
    await s.clock.advance(DRIFT_MS);
    s.hooks.length = 0;
    await s.worker.process(KEY); // SS1's check lists the group
    expect(s.worker.observed(targetKey(SS2))).toEqual(new Set());
    expect(s.hooks).toEqual(['observed']); // the controller re-plans (SS2 Assigned → Created) and requeues SS2
    expect(s.worker.setDemand(live(all))).toEqual([targetKey(SS2)]);
    expect(await s.worker.process(targetKey(SS2))).toEqual({ kind: 'again' });
    expect(s.cloud.calls).toEqual([LIST, `update ${targetKey(SS2)} +a -`]);
    expect(s.cloud.on(SS2)).toEqual(['a']);
  });

  it('a write planned from a LIST is conditioned on the listed etag (a change since answers 412 and is re-read)', async () => {
    const s = await threeLive();
    s.cloud.seed(SS2, []);
    await s.clock.advance(DRIFT_MS);
    await s.worker.process(KEY);
    s.cloud.seed(SS2, [B]); // someone else writes after the list
    s.worker.setDemand(live(all));
    await s.worker.process(targetKey(SS2));
    expect(s.hooks).toContain('precondition');
    expect(s.cloud.calls.slice(1, 3)).toEqual([`update ${targetKey(SS2)} +a -`, `get ${targetKey(SS2)}`]);
    await waitFor(async () => (await s.worker.process(targetKey(SS2))).kind === 'done', 'the write to settle');
    expect(s.cloud.on(SS2)).toEqual(['a', 'b']);
  });

  it('a target missing from the LIST is read with a GET, never concluded gone from the list alone', async () => {
    const s = await threeLive();
    s.cloud.hiddenFromList.add(targetKey(SS2));
    await s.clock.advance(DRIFT_MS);
    await s.worker.process(targetKey(SS2));
    expect(s.cloud.calls).toEqual([LIST, `get ${targetKey(SS2)}`]);
    expect(s.worker.observed(targetKey(SS2))).toEqual(new Set([A]));
    expect(s.worker.states().get(targetKey(SS2))?.observed).toEqual(new Set([A])); // still known, not forgotten as gone
    // The others were refreshed by that LIST: their passes cost nothing.
    await s.worker.process(KEY);
    await s.worker.process(targetKey(SS3));
    expect(s.cloud.calls).toHaveLength(2);
  });

  it('passes due while a LIST is in flight wait for it; a LIST sent before a write does not overwrite its answer', async () => {
    const s = await threeLive();
    await s.clock.advance(DRIFT_MS / 2);
    s.worker.setDemand(new Map([...live([SS1, SS3]), ...live([SS2], [A, B])]));
    await s.worker.process(targetKey(SS2)); // written: SS2's next check is half an interval after the others'
    await s.clock.advance(DRIFT_MS / 2);
    s.cloud.calls.length = 0;
    let release!: () => void;
    s.cloud.listGate = new Promise((r) => (release = r));
    const p1 = s.worker.process(KEY); // starts the LIST (held in flight)
    const p3 = s.worker.process(targetKey(SS3)); // due too: joins it
    // SS2 gets another identity meanwhile: its write answers after the LIST was sent.
    s.worker.setDemand(new Map([...live([SS1, SS3]), ...live([SS2], [A, B, KUBELET])]));
    await s.worker.process(targetKey(SS2));
    release();
    await Promise.all([p1, p3]);
    expect(s.cloud.calls).toEqual([LIST, `update ${targetKey(SS2)} +kubelet -`]);
    // The LIST's snapshot of SS2 (taken before the write) did not replace the write's answer.
    expect(s.worker.observed(targetKey(SS2))).toEqual(new Set([A, B, KUBELET]));
    expect(s.worker.dueForDriftCheck()).toEqual([]);
  });

  it('a failed LIST falls back to GETs for one interval; a throttled one retries the pass later without GETs', async () => {
    const s = await threeLive();
    await s.clock.advance(DRIFT_MS);
    s.cloud.listErrors.push(new TransientArmError('boom', { statusCode: 500 }));
    await s.worker.process(KEY);
    expect(s.cloud.calls).toEqual([LIST, `get ${KEY}`]);
    s.cloud.calls.length = 0;
    await s.worker.process(targetKey(SS2)); // not refreshed by the failed LIST; no new LIST this interval
    expect(s.cloud.calls).toEqual([`get ${targetKey(SS2)}`]);
    s.cloud.calls.length = 0;
    await s.clock.advance(DRIFT_MS); // the next interval lists again
    await s.worker.process(targetKey(SS3));
    expect(s.cloud.calls).toEqual([LIST]);
    s.cloud.calls.length = 0;
    await s.clock.advance(DRIFT_MS);
    s.cloud.listErrors.push(new ThrottledError('slow down', { retryAfterMs: 7_000, scope: 'target', statusCode: 429 }));
    expect(await s.worker.process(KEY)).toEqual({ kind: 'retry', afterMs: 7_000 });
    expect(s.cloud.calls).toEqual([LIST]);
  });

  it('targets of another resource group or kind are listed separately', async () => {
    const s = setup();
    const VM: Target = { kind: 'vm', subscriptionId: SUB, resourceGroup: RG, name: 'vm1' };
    for (const t of [SS1, OTHER_RG, VM]) s.cloud.seed(t, [A]);
    s.worker.setDemand(live([SS1, OTHER_RG, VM]));
    for (const t of [SS1, OTHER_RG, VM]) await s.worker.process(targetKey(t));
    s.cloud.calls.length = 0;
    await s.clock.advance(DRIFT_MS);
    for (const t of [SS1, OTHER_RG, VM]) await s.worker.process(targetKey(t));
    expect(s.cloud.calls.sort()).toEqual([LIST, `list vm:${SUB}/${RG}`.toLowerCase(), `list vmss:${SUB}/rg-other`.toLowerCase()].sort());
  });
});
