import { describe, it, expect } from '@jest/globals';
import { FakeClock } from '../../../controller/util/clock.js';
import { ArmRateLimiter, TokenBucket } from '../../../controller/cloud/throttle.js';
import type { Target } from '../../../controller/cloud/provider.js';

const vmss = (name: string, subscriptionId = 'sub'): Target => ({ kind: 'vmss', subscriptionId, resourceGroup: 'rg', name });

describe('TokenBucket', () => {
  it('starts full, empties, and refills continuously', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(3, 6, clock); // one token every 10 s
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    expect(bucket.msUntilAvailable()).toBe(10_000);
    await clock.advance(9_999);
    expect(bucket.tryTake()).toBe(false);
    await clock.advance(1);
    expect(bucket.msUntilAvailable()).toBe(0);
    expect(bucket.tryTake()).toBe(true);
  });

  it('never exceeds its capacity', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(2, 60, clock);
    await clock.advance(3_600_000);
    expect(bucket.available()).toBe(2);
    expect(bucket.msUntilAvailable(2)).toBe(0);
  });

  it('rejects nonsensical limits', () => {
    expect(() => new TokenBucket(0, 1, new FakeClock())).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0, new FakeClock())).toThrow(RangeError);
  });
});

describe('ArmRateLimiter', () => {
  it('allows the Compute write burst (12) per target, then 4/min', async () => {
    const clock = new FakeClock();
    const limiter = new ArmRateLimiter({ clock });
    const target = vmss('a');
    for (let i = 0; i < 12; i++) expect(limiter.reserveWrite(target)).toEqual({ ok: true });
    expect(limiter.reserveWrite(target)).toEqual({ ok: false, waitMs: 15_000, scope: 'target', reason: 'budget' });
    await clock.advance(15_000);
    expect(limiter.reserveWrite(target)).toEqual({ ok: true });
  });

  it('keeps budgets per target and per kind', () => {
    const limiter = new ArmRateLimiter({ clock: new FakeClock() });
    for (let i = 0; i < 12; i++) limiter.reserveWrite(vmss('a'));
    expect(limiter.reserveWrite(vmss('a')).ok).toBe(false);
    expect(limiter.reserveWrite(vmss('b')).ok).toBe(true);
    expect(limiter.reserveRead(vmss('a')).ok).toBe(true);
    expect(limiter.reserveWrite({ ...vmss('a'), kind: 'vm' }).ok).toBe(true);
  });

  it('treats target names case-insensitively', () => {
    const limiter = new ArmRateLimiter({ clock: new FakeClock(), limits: { targetWrite: { perMinute: 1, burst: 1 } } });
    expect(limiter.reserveWrite(vmss('Pool')).ok).toBe(true);
    expect(limiter.reserveWrite(vmss('pool')).ok).toBe(false);
  });

  it('applies Retry-After to one target only (not globally)', async () => {
    const clock = new FakeClock();
    const limiter = new ArmRateLimiter({ clock });
    limiter.noteRetryAfter(vmss('a'), 20_000);
    expect(limiter.reserveWrite(vmss('a'))).toEqual({ ok: false, waitMs: 20_000, scope: 'target', reason: 'retry-after' });
    expect(limiter.reserveWrite(vmss('b')).ok).toBe(true);
    expect(limiter.reserveRead(vmss('a')).ok).toBe(true);
    await clock.advance(20_000);
    expect(limiter.reserveWrite(vmss('a')).ok).toBe(true);
  });

  it('a read Retry-After gates reads only', () => {
    const limiter = new ArmRateLimiter({ clock: new FakeClock() });
    limiter.noteRetryAfter(vmss('a'), 1000, 'read');
    expect(limiter.reserveRead(vmss('a')).ok).toBe(false);
    expect(limiter.reserveWrite(vmss('a')).ok).toBe(true);
  });

  it('a subscription Retry-After gates every target of that subscription', () => {
    const limiter = new ArmRateLimiter({ clock: new FakeClock() });
    limiter.noteSubscriptionRetryAfter('SUB', 5000);
    expect(limiter.reserveRead(vmss('x'))).toEqual({ ok: false, waitMs: 5000, scope: 'subscription', reason: 'retry-after' });
    expect(limiter.reserveWrite(vmss('x', 'other')).ok).toBe(true);
  });

  it('enforces the subscription budget and consumes nothing when refusing', () => {
    const limiter = new ArmRateLimiter({
      clock: new FakeClock(),
      limits: { subscriptionWrite: { perMinute: 1, burst: 2 }, targetWrite: { perMinute: 1, burst: 1 } },
    });
    expect(limiter.reserveWrite(vmss('a')).ok).toBe(true);
    expect(limiter.reserveWrite(vmss('a')).ok).toBe(false); // target empty; subscription token not taken
    expect(limiter.reserveWrite(vmss('b')).ok).toBe(true);
    const refused = limiter.reserveWrite(vmss('c'));
    expect(refused).toEqual({ ok: false, waitMs: 60_000, scope: 'subscription', reason: 'budget' });
  });

  it('timeScale speeds up refills', async () => {
    const clock = new FakeClock();
    const limiter = new ArmRateLimiter({ clock, timeScale: 60, limits: { targetWrite: { perMinute: 4, burst: 1 } } });
    expect(limiter.reserveWrite(vmss('a')).ok).toBe(true);
    const refused = limiter.reserveWrite(vmss('a'));
    expect(refused.ok === false && refused.waitMs).toBe(250);
    await clock.advance(250);
    expect(limiter.reserveWrite(vmss('a')).ok).toBe(true);
  });

  it('forgets idle targets on sweep', async () => {
    const clock = new FakeClock();
    const limiter = new ArmRateLimiter({ clock });
    limiter.reserveWrite(vmss('a'));
    limiter.noteRetryAfter(vmss('b'), 60_000);
    expect(limiter.trackedTargets).toBe(2);
    await clock.advance(30_000);
    limiter.sweep();
    expect(limiter.trackedTargets).toBe(1);
  });
});
