/**
 * Sync pass pacing: while changes keep arriving, a pass starts no sooner than eight times the previous
 * pass's planning time after that pass started, so planning stays a bounded share of a core at any
 * cluster size; a quiet controller still plans within the coalescing window.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { MemoryAssignedIdentityWriter } from '../../../controller/reconcile/aai-writer.js';
import { MicController, type ClusterState } from '../../../controller/reconcile/controller.js';
import { MemoryOwnershipStore } from '../../../controller/reconcile/ownership.js';
import { Quarantine } from '../../../controller/reconcile/quarantine.js';
import type { Snapshot } from '../../../controller/reconcile/snapshot.js';
import { TargetWorker } from '../../../controller/reconcile/target-worker.js';
import { createNullLogger } from '../../../controller/observability/logger.js';
import { FakeClock } from '../../../controller/util/clock.js';
import { RG, SUB } from '../../support/builders.js';
import { FakeCloud } from './fake-cloud.js';

/** A cluster state whose snapshot "costs" `planMs` of (fake) time and records when each pass began. */
class TimedState implements ClusterState {
  readonly passStarts: number[] = [];
  constructor(readonly clock: FakeClock, public planMs: number) {}
  synced(): boolean {
    return true;
  }
  snapshot(): Snapshot {
    this.passStarts.push(this.clock.now());
    // Planning is synchronous: time spent in it shows as the clock moving within the pass.
    this.clock.elapse(this.planMs);
    return { pods: [], nodes: new Map(), identities: [], bindings: [], assigned: [] };
  }
  noteWritten(): void {}
  noteDeleted(): void {}
}

let controller: MicController | undefined;
afterEach(async () => {
  await controller?.stop();
  controller = undefined;
});

function setup(planMs: number): { clock: FakeClock; state: TimedState; controller: MicController } {
  const clock = new FakeClock();
  const logger = createNullLogger();
  const worker = new TargetWorker({
    cloud: new FakeCloud(),
    ownership: new MemoryOwnershipStore(),
    quarantine: new Quarantine({ clock, baseMs: 30_000 }),
    gate: { blockedReason: () => undefined, fenceReason: () => undefined },
    clock,
    logger,
    hooks: { onObserved: () => undefined, onRejected: () => undefined, onFailure: () => undefined, onWrite: () => undefined, onDryRun: () => undefined, onPreconditionFailed: () => undefined },
    protectedIds: () => new Set(),
    immutableClientIds: new Set(),
    unassignGraceMs: 0,
    driftIntervalMs: 180_000,
    dryRun: false,
  });
  const state = new TimedState(clock, planMs);
  controller = new MicController({
    planConfig: { forceNamespaced: false, immutableClientIds: new Set(), defaults: { subscriptionId: SUB, resourceGroup: RG }, unassignGraceMs: 0 },
    state,
    writer: new MemoryAssignedIdentityWriter(),
    worker,
    events: { record: () => undefined },
    clock,
    logger,
    kubeWriteConcurrency: 4,
    resyncIntervalMs: 3_600_000,
  });
  return { clock, state, controller };
}

/** Requests a pass every `everyMs` for `forMs` of fake time (changes arriving without pause). */
async function keepChanging(clock: FakeClock, c: MicController, everyMs: number, forMs: number): Promise<void> {
  for (let t = 0; t < forMs; t += everyMs) {
    c.requestSync();
    await clock.advance(everyMs);
  }
}

/** Time between consecutive pass starts. */
function gapsOf(state: TimedState): number[] {
  return state.passStarts.slice(1).map((t, i) => t - state.passStarts[i]!);
}

describe('sync pass pacing', () => {
  it('starts a pass no sooner than 8 × the previous planning time after the previous start while changes keep coming', async () => {
    const { clock, state, controller: c } = setup(40);
    c.start();
    await keepChanging(clock, c, 10, 5_000);
    const gaps = gapsOf(state);
    expect(gaps.length).toBeGreaterThan(5);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(8 * 40);
    // …and not much later than that: pacing, not starvation.
    expect(Math.max(...gaps.slice(1))).toBeLessThanOrEqual(8 * 40 + 60);
  });

  it('caps the hold at 2 s however slow planning is', async () => {
    const { clock, state, controller: c } = setup(1_000);
    c.start();
    await keepChanging(clock, c, 50, 12_000);
    const gaps = gapsOf(state);
    expect(gaps.length).toBeGreaterThan(2);
    expect(Math.max(...gaps.slice(1))).toBeLessThanOrEqual(2_000 + 100);
  });

  it('plans a change within the coalescing window when the last pass was cheap', async () => {
    const { clock, state, controller: c } = setup(0);
    c.start();
    await clock.advance(1_000);
    const before = state.passStarts.length;
    c.requestSync();
    await clock.advance(60);
    expect(state.passStarts.length).toBe(before + 1);
  });
});
