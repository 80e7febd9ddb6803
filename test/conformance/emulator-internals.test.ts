/** Pure building blocks of the Kubernetes emulator: selectors, patches, time parsing, store history. */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isKubeStatusError } from '../../hack/emulators/kube/errors.js';
import { humanDuration, microTime } from '../../hack/emulators/kube/objects.js';
import { jsonPatch, mergePatch, strategicMergePatch } from '../../hack/emulators/kube/patch.js';
import { matchesLabels, parseFieldSelector, parseLabelSelector } from '../../hack/emulators/kube/selectors.js';
import { microTimeError } from '../../hack/emulators/kube/service.js';
import { ObjectStore } from '../../hack/emulators/kube/store.js';

describe('label selectors', () => {
  it('matches equality, set-based and existence requirements like the real server', () => {
    const labels = { app: 'web', tier: 'front', n: '5' };
    const ok = (s: string) => matchesLabels(parseLabelSelector(s), labels);
    expect(ok('')).toBe(true);
    expect(ok('app=web,tier==front')).toBe(true);
    expect(ok('app!=web')).toBe(false);
    expect(ok('missing!=x')).toBe(true);
    expect(ok('tier in (back, front)')).toBe(true);
    expect(ok('tier notin (front)')).toBe(false);
    expect(ok('missing notin (front)')).toBe(true);
    expect(ok('app,!missing')).toBe(true);
    expect(ok('!app')).toBe(false);
    expect(ok('n>4,n<6')).toBe(true);
  });

  it('rejects malformed selectors with 400 BadRequest', () => {
    for (const bad of ['a in (', 'a=b=c', ',', 'Bad Key=1']) {
      let err: unknown;
      try {
        parseLabelSelector(bad);
      } catch (e) {
        err = e;
      }
      expect(isKubeStatusError(err) && err.code === 400).toBe(true);
    }
  });

  it('parses field selectors with escapes', () => {
    expect(parseFieldSelector('metadata.name=a\\,b,status.phase!=Running')).toEqual([
      { field: 'metadata.name', op: '=', value: 'a,b' },
      { field: 'status.phase', op: '!=', value: 'Running' },
    ]);
  });
});

describe('patches', () => {
  it('merge patch: null deletes, objects merge, arrays replace', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { a: null, b: { c: 9 }, l: [3] })).toEqual({ b: { c: 9, d: 3 }, l: [3] });
  });

  it('JSON patch supports move/copy and fails test ops with 422', () => {
    expect(jsonPatch({ a: { x: 1 }, l: [1] }, [{ op: 'copy', from: '/a/x', path: '/b' }, { op: 'move', from: '/a', path: '/c' }, { op: 'add', path: '/l/-', value: 2 }])).toEqual({ b: 1, c: { x: 1 }, l: [1, 2] });
    let err: unknown;
    try {
      jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]);
    } catch (e) {
      err = e;
    }
    expect(isKubeStatusError(err) && err.code === 422 && err.reason === 'Invalid').toBe(true);
  });

  it('strategic merge: keyed lists merge, $patch delete/replace, $retainKeys, $deleteFromPrimitiveList, finalizers as a set', () => {
    const pod = { metadata: { finalizers: ['a'] }, spec: { containers: [{ name: 'x', image: '1', env: [{ name: 'E', value: 'v' }] }, { name: 'y', image: '2' }], strategy: { type: 'R', rolling: { n: 1 } } } };
    const out = strategicMergePatch(pod, {
      metadata: { finalizers: ['b'] },
      spec: {
        containers: [{ name: 'x', env: [{ name: 'F', value: 'w' }] }, { name: 'y', $patch: 'delete' }],
        strategy: { $retainKeys: ['type'], type: 'Recreate' },
        '$setElementOrder/containers': [{ name: 'x' }],
      },
    }) as typeof pod;
    expect(out.metadata.finalizers).toEqual(['a', 'b']);
    expect(out.spec.containers).toEqual([{ name: 'x', image: '1', env: [{ name: 'E', value: 'v' }, { name: 'F', value: 'w' }] }]);
    expect(out.spec.strategy).toEqual({ type: 'Recreate' });
    expect(Object.keys(out.spec)).toEqual(['containers', 'strategy']);
    expect(strategicMergePatch({ metadata: { finalizers: ['a', 'b'] } }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } })).toEqual({ metadata: { finalizers: ['b'] } });
    expect(strategicMergePatch({ spec: { containers: [{ name: 'a' }] } }, { spec: { containers: [{ name: 'b' }, { $patch: 'replace' }] } })).toEqual({ spec: { containers: [{ name: 'b' }] } });
  });
});

describe('time', () => {
  it('accepts exactly six fractional digits for MicroTime, with Go-style errors otherwise', () => {
    expect(microTimeError('2026-01-01T00:00:00.123456Z')).toBeUndefined();
    expect(microTimeError('2026-01-01T00:00:00.123456+02:00')).toBeUndefined();
    expect(microTimeError('2026-01-01T00:00:00.123Z')).toContain('cannot parse ".123Z" as ".000000"');
    expect(microTimeError('2026-01-01T00:00:00Z')).toContain('cannot parse "Z" as ".000000"');
    expect(microTimeError('2026-01-01T00:00:00.123456789Z')).toContain('cannot parse "789Z" as "Z07:00"');
  });

  it('formats MicroTime so that it always parses', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => microTimeError(microTime(ms)) === undefined));
  });

  it('prints ages like kubectl', () => {
    expect([5_000, 119_000, 150_000, 600_000, 3 * 3600_000 + 60_000, 30 * 3600_000, 50 * 3600_000, 400 * 24 * 3600_000].map(humanDuration)).toEqual(['5s', '119s', '2m30s', '10m', '3h1m', '30h', '2d2h', '400d']);
  });
});

describe('store history', () => {
  it('reconstructs past states for continue tokens and expires after compaction', () => {
    const store = new ObjectStore(100);
    const a = store.put('core/configmaps', { metadata: { name: 'a', namespace: 'n' }, data: { v: '1' } });
    const rvAfterA = Number((a.metadata as { resourceVersion: string }).resourceVersion);
    store.put('core/configmaps', { metadata: { name: 'a', namespace: 'n' }, data: { v: '2' } });
    store.put('core/configmaps', { metadata: { name: 'b', namespace: 'n' } });
    store.remove('core/configmaps', 'n', 'a');
    const past = store.listAt('core/configmaps', rvAfterA);
    expect(past.map((o) => (o.data as { v: string }).v)).toEqual(['1']);
    expect(store.eventsSince('core/configmaps', rvAfterA).map((e) => e.type)).toEqual(['MODIFIED', 'ADDED', 'DELETED']);
    store.compact();
    expect(() => store.eventsSince('core/configmaps', rvAfterA)).toThrow(/too old resource version/);
    expect(() => store.listAt('core/configmaps', rvAfterA)).toThrow();
  });

  it('keeps a bounded window of history', () => {
    const store = new ObjectStore(10);
    for (let i = 0; i < 50; i++) store.put('core/configmaps', { metadata: { name: `c${i}`, namespace: 'n' } });
    expect(() => store.eventsSince('core/configmaps', 2)).toThrow(/too old/);
    expect(store.eventsSince('core/configmaps', store.currentRV() - 5)).toHaveLength(5);
  });
});
