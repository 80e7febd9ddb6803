import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../../controller/util/clock.js';
import { RateLimiter } from '../../../controller/util/token-bucket.js';

describe('RateLimiter (--clientQps)', () => {
  it('lets a burst through at once, then paces takes at the configured rate in FIFO order', async () => {
    const clock = new FakeClock(0);
    const limiter = new RateLimiter(5, 5, clock);
    const done: number[] = [];
    const takes = Array.from({ length: 8 }, (_, i) => limiter.take().then(() => done.push(i)));
    await clock.advance(0);
    expect(done).toEqual([0, 1, 2, 3, 4]);
    await clock.advance(200);
    expect(done).toEqual([0, 1, 2, 3, 4, 5]);
    await clock.advance(400);
    await Promise.all(takes);
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('treats a fractional rate as a burst of one', async () => {
    const clock = new FakeClock(0);
    const limiter = new RateLimiter(0.5, 0, clock);
    let n = 0;
    void limiter.take().then(() => n++);
    void limiter.take().then(() => n++);
    await clock.advance(0);
    expect(n).toBe(1);
    await clock.advance(1999);
    expect(n).toBe(1);
    await clock.advance(1);
    expect(n).toBe(2);
  });
});
