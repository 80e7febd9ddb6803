import { describe, expect, it } from '@jest/globals';
import { FakeClock, flushMicrotasks } from '../../../controller/util/clock.js';
import { WorkQueue } from '../../../controller/kube/workqueue.js';

/** Resolves to the key if `get()` settles before microtasks drain, else 'pending'. */
async function peek(p: Promise<string | undefined>): Promise<string | undefined | 'pending'> {
  let result: string | undefined | 'pending' = 'pending';
  void p.then((k) => {
    result = k;
  });
  await flushMicrotasks();
  return result;
}

describe('WorkQueue', () => {
  it('deduplicates keys that are already queued and keeps FIFO order', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('re-queues a key added while it is processed only on done(), never to a second worker', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0); // dirty, not queued
    const second = q.get();
    expect(await peek(second)).toBe('pending');
    q.done('a');
    expect(await second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('hands one key to exactly one of several waiting workers', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const w1 = q.get();
    const w2 = q.get();
    q.add('a');
    q.add('a');
    expect(await peek(w1)).toBe('a');
    expect(await peek(w2)).toBe('pending');
    q.add('b');
    expect(await w2).toBe('b');
  });

  it('grows the per-key backoff exponentially up to the cap and forget() resets it', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimit: { baseDelayMs: 1000, maxDelayMs: 5000 } });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      delays.push(q.nextBackoffMs('a'));
      q.addRateLimited('a');
    }
    expect(delays).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(q.numRequeues('a')).toBe(5);
    expect(q.numRequeues('b')).toBe(0);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    expect(q.nextBackoffMs('a')).toBe(1000);
  });

  it('delivers a rate-limited key only after its backoff elapsed', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimit: { baseDelayMs: 1000, maxDelayMs: 60_000 } });
    q.addRateLimited('a'); // 1000 ms
    await clock.advance(999);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    q.addRateLimited('a'); // 2000 ms
    await clock.advance(1999);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
  });

  it('uses client-go defaults of 5 ms base when no bounds are given', () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    expect(q.nextBackoffMs('x')).toBe(5);
  });

  it('orders delayed adds by ready time and keeps the earliest of duplicate delays', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter('a', 300);
    q.addAfter('b', 100);
    q.addAfter('c', 200);
    q.addAfter('b', 500); // later than the pending one: ignored
    q.addAfter('c', 50); // earlier: wins
    await clock.advance(50);
    expect(q.len()).toBe(1);
    await clock.advance(250);
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['c', 'b', 'a']);
    await clock.advance(1000);
    expect(q.len()).toBe(0); // no duplicate from the superseded timers
    expect(clock.pendingTimers).toBe(0);
  });

  it('adds immediately for a non-positive delay', () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.addAfter('a', 0);
    expect(q.len()).toBe(1);
  });

  it('shutDown releases waiting workers, drops queued keys, ignores adds and cancels timers', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    const waiting = q.get();
    q.addAfter('later', 1000);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('x');
    q.addRateLimited('y');
    expect(q.len()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(await q.get()).toBeUndefined();
    expect(q.isShuttingDown()).toBe(true);
  });

  it('shutDownWithDrain hands out queued keys and resolves once in-flight keys are done', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('a');
    q.add('b');
    expect(await q.get()).toBe('a'); // in flight
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => {
      drained = true;
    });
    q.add('c'); // ignored
    expect(await q.get()).toBe('b');
    q.done('b');
    await flushMicrotasks();
    expect(drained).toBe(false); // 'a' still in flight
    q.done('a');
    await drain;
    expect(drained).toBe(true);
    expect(await q.get()).toBeUndefined();
  });

  it('reports depth, adds, retries and work duration to the metrics hook', async () => {
    const clock = new FakeClock();
    const depths: number[] = [];
    const work: number[] = [];
    let adds = 0;
    let retries = 0;
    const q = new WorkQueue({
      clock,
      rateLimit: { baseDelayMs: 10, maxDelayMs: 10 },
      metrics: { onDepth: (n) => depths.push(n), onAdd: () => adds++, onRetry: () => retries++, onWork: (ms) => work.push(ms) },
    });
    q.add('a');
    q.add('a');
    q.add('b');
    const key = await q.get();
    await clock.advance(250);
    q.done(key as string);
    q.addRateLimited('c');
    await clock.advance(10);
    expect(adds).toBe(3);
    expect(retries).toBe(1);
    expect(work).toEqual([250]);
    expect(depths).toEqual([1, 2, 1, 2]);
  });

  it('reports time queued (since the first add) and in-flight ages through its metrics hooks', async () => {
    const clock = new FakeClock();
    const queued: number[] = [];
    let probe: { processingAgesMs(): number[] } | undefined;
    const q = new WorkQueue({ clock, metrics: { onQueued: (ms) => queued.push(ms), observe: (p) => (probe = p) } });
    q.add('a');
    await clock.advance(100);
    q.add('a'); // already waiting: the first add's time counts
    await clock.advance(100);
    expect(await q.get()).toBe('a');
    expect(queued).toEqual([200]);
    await clock.advance(50);
    q.add('a'); // re-added while in flight: waits from now until handed out again
    expect(probe?.processingAgesMs()).toEqual([50]);
    await clock.advance(30);
    q.done('a');
    expect(probe?.processingAgesMs()).toEqual([]);
    expect(await q.get()).toBe('a');
    expect(queued).toEqual([200, 30]);
  });
});
