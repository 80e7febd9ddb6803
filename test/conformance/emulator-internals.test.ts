/** Pure building blocks of the Kubernetes emulator: selectors, patches, time parsing, store history, protobuf bodies. */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isKubeStatusError } from '../../hack/emulators/kube/errors.js';
import { humanDuration, microTime } from '../../hack/emulators/kube/objects.js';
import { decodeKubeProtobuf, PROTOBUF_MEDIA_TYPE } from '../../hack/emulators/kube/protobuf.js';
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

describe('protobuf request bodies', () => {
  // A tiny proto2 encoder for the test: [fieldNo, value] pairs; strings/Buffers/nested arrays are
  // length-delimited, numbers/booleans varints.
  type Field = [number, string | Buffer | number | boolean | Field[]];
  const varint = (n: bigint): Buffer => {
    const out: number[] = [];
    let v = BigInt.asUintN(64, n);
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      out.push(b);
    } while (v > 0n);
    return Buffer.from(out);
  };
  const encode = (fields: Field[]): Buffer =>
    Buffer.concat(fields.map(([no, v]) => {
      if (typeof v === 'number' || typeof v === 'boolean') return Buffer.concat([varint(BigInt(no << 3)), varint(BigInt(Number(v)))]);
      const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.isBuffer(v) ? v : encode(v);
      return Buffer.concat([varint(BigInt((no << 3) | 2)), varint(BigInt(bytes.length)), bytes]);
    }));
  const envelope = (kind: string, raw: Field[], apiVersion = 'v1'): Buffer =>
    Buffer.concat([Buffer.from('k8s\0', 'latin1'), encode([[1, [[1, apiVersion], [2, kind]]], [2, encode(raw)], [3, ''], [4, '']])]);
  const meta: Field[] = [
    [1, 'cm'], [2, ''], [3, 'ns'], [8, []], // empty creationTimestamp, as Go sends a zero Time
    [11, [[1, 'app'], [2, 'mic']]], [11, [[1, 'tier'], [2, 'x']]],
    [12, [[1, 'note'], [2, 'ä☃']]],
    [13, [[1, 'Deployment'], [3, 'owner'], [4, 'u-1'], [5, 'apps/v1'], [6, true]]],
    [14, 'example.com/a'], [14, 'example.com/b'],
  ];

  it('decodes a ConfigMap with every ObjectMeta field kubectl can send, keeping binary data and explicit false', () => {
    const body = envelope('ConfigMap', [[1, meta], [2, [[1, 'k'], [2, 'v']]], [3, [[1, 'bin'], [2, Buffer.from([0, 255])]]], [4, false]]);
    expect(decodeKubeProtobuf(body, PROTOBUF_MEDIA_TYPE)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'cm', namespace: 'ns', labels: { app: 'mic', tier: 'x' }, annotations: { note: 'ä☃' },
        ownerReferences: [{ kind: 'Deployment', name: 'owner', uid: 'u-1', apiVersion: 'apps/v1', controller: true }],
        finalizers: ['example.com/a', 'example.com/b'],
      },
      data: { k: 'v' },
      binaryData: { bin: Buffer.from([0, 255]).toString('base64') },
      immutable: false,
    });
  });

  it('decodes Secret data as base64 and a creationTimestamp as RFC 3339', () => {
    const body = envelope('Secret', [[1, [[1, 's'], [8, [[1, 1_700_000_000]]]]], [2, [[1, 'azure.json'], [2, Buffer.from('{}\n')]]], [3, 'Opaque']]);
    expect(decodeKubeProtobuf(body, PROTOBUF_MEDIA_TYPE)).toEqual({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', creationTimestamp: '2023-11-14T22:13:20Z' }, data: { 'azure.json': 'e30K' }, type: 'Opaque',
    });
  });

  it('answers 415 for kinds it does not decode and 400 for unknown fields or a missing prefix', () => {
    const status = (f: () => unknown): number => {
      try {
        f();
      } catch (e) {
        return isKubeStatusError(e) ? e.code : -1;
      }
      return 0;
    };
    expect(status(() => decodeKubeProtobuf(envelope('Pod', [[1, meta]]), PROTOBUF_MEDIA_TYPE))).toBe(415);
    expect(status(() => decodeKubeProtobuf(envelope('ConfigMap', [[1, meta]], 'apps/v1'), PROTOBUF_MEDIA_TYPE))).toBe(415);
    expect(status(() => decodeKubeProtobuf(envelope('ConfigMap', [[9, 'x']]), PROTOBUF_MEDIA_TYPE))).toBe(400);
    expect(status(() => decodeKubeProtobuf(Buffer.from('{"kind":"ConfigMap"}'), PROTOBUF_MEDIA_TYPE))).toBe(400);
    expect(status(() => decodeKubeProtobuf(envelope('ServiceAccount', [[1, [[1, 'sa']]], [4, true]]), PROTOBUF_MEDIA_TYPE))).toBe(0);
  });
});
