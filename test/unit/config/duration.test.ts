import { describe, expect, it } from '@jest/globals';
import { formatGoDuration, parseGoDuration } from '../../../controller/config/duration.js';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['1h30m', 5_400_000],
    ['3600s', 3_600_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['1.s', 1000],
    ['2m3s4ms', 123_004],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['2000000ns', 2],
    ['+10s', 10_000],
    ['-1m', -60_000],
  ])('parses %s', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '10', '1d', 'h', '.s', '1h 30m', ' 1s', '1s ', '1.2.3s', 's1', '--1s', '1hx'])('rejects %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe('formatGoDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [180_000, '3m0s'],
    [3_600_000, '1h0m0s'],
    [5_430_000, '1h30m30s'],
    [600_000, '10m0s'],
  ])('formats %d as %s', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
    expect(parseGoDuration(text)).toBe(ms);
  });
});
