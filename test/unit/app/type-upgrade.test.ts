import { describe, expect, it } from '@jest/globals';
import { sameJsonValue } from '../../../controller/app/type-upgrade.js';

describe('sameJsonValue', () => {
  it('ignores key order at every depth', () => {
    expect(sameJsonValue({ a: 1, b: { c: [1, { d: 'x', e: null }] } }, { b: { c: [1, { e: null, d: 'x' }] }, a: 1 })).toBe(true);
  });
  it('treats undefined properties as absent', () => {
    expect(sameJsonValue({ a: 1, b: undefined }, { a: 1 })).toBe(true);
  });
  it('sees value, type, array order and missing-key differences', () => {
    expect(sameJsonValue({ a: 1 }, { a: '1' })).toBe(false);
    expect(sameJsonValue([1, 2], [2, 1])).toBe(false);
    expect(sameJsonValue({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameJsonValue({ a: null }, { a: {} })).toBe(false);
    expect(sameJsonValue([], {})).toBe(false);
  });
});
