import { describe, expect, it } from '@jest/globals';
import { Backoff, exponentialDelayMs, withJitter } from '../../../controller/kube/backoff.js';
import { formatMicroTime, isMicroTimeString, parseKubeTime, toMicroTime } from '../../../controller/kube/time.js';

describe('backoff helpers', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5].map((a) => exponentialDelayMs(a, 100, 1000))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(exponentialDelayMs(10_000, 100, 1000)).toBe(1000);
    expect(exponentialDelayMs(0, 5000, 1000)).toBe(1000);
  });

  it('adds jitter within [ms, ms * (1 + factor)]', () => {
    expect(withJitter(1000, 0.2, () => 0)).toBe(1000);
    expect(withJitter(1000, 0.2, () => 0.5)).toBe(1100);
    const max = withJitter(1000, 0.2, () => 0.999999);
    expect(max).toBeLessThan(1200);
    expect(max).toBeGreaterThan(1199);
    expect(withJitter(1000, 0)).toBe(1000);
    for (let i = 0; i < 50; i++) {
      const v = withJitter(500, 1.2);
      expect(v).toBeGreaterThanOrEqual(500);
      expect(v).toBeLessThan(1100);
    }
  });

  it('Backoff grows per call, caps, and resets', () => {
    const b = new Backoff({ baseMs: 10, maxMs: 50, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([10, 20, 40, 50, 50]);
    expect(b.attempts).toBe(5);
    b.reset();
    expect(b.next()).toBe(10);
  });
});

describe('MicroTime', () => {
  const ms = Date.UTC(2026, 10, 23, 11, 34, 5, 123);

  it('formats with exactly six fractional digits', () => {
    expect(formatMicroTime(ms)).toBe('2026-11-23T11:34:05.123000Z');
    expect(formatMicroTime(Date.UTC(2026, 0, 1))).toBe('2026-01-01T00:00:00.000000Z');
  });

  it('toMicroTime serialises with six digits inside a JSON body (where a plain Date gives three)', () => {
    const body = JSON.stringify({ spec: { renewTime: toMicroTime(ms), plain: new Date(ms) } });
    expect(body).toContain('"renewTime":"2026-11-23T11:34:05.123000Z"');
    expect(body).toContain('"plain":"2026-11-23T11:34:05.123Z"');
  });

  it('recognises valid MicroTime strings only', () => {
    expect(isMicroTimeString('2026-11-23T11:34:05.123000Z')).toBe(true);
    expect(isMicroTimeString('2026-11-23T11:34:05.123456+01:00')).toBe(true);
    expect(isMicroTimeString('2026-11-23T11:34:05.123Z')).toBe(false);
    expect(isMicroTimeString('2026-11-23T11:34:05Z')).toBe(false);
    expect(isMicroTimeString(42)).toBe(false);
  });

  it('parses wire times given as strings or Dates', () => {
    expect(parseKubeTime('2026-11-23T11:34:05.123000Z')).toBe(ms);
    expect(parseKubeTime(new Date(ms))).toBe(ms);
    expect(parseKubeTime(toMicroTime(ms))).toBe(ms);
    expect(parseKubeTime('')).toBeUndefined();
    expect(parseKubeTime('not a time')).toBeUndefined();
    expect(parseKubeTime(undefined)).toBeUndefined();
  });
});
