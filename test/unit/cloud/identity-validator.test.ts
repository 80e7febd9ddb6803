import { describe, it, expect, beforeEach } from '@jest/globals';
import { PassThrough } from 'node:stream';
import {
  IdentityReadForbiddenError,
  IdentityValidator,
  validateIdentity,
  type IdentityCheck,
  type IdentityReader,
} from '../../../controller/cloud/identity-validator.js';
import { IdentityScreen } from '../../../controller/cloud/identity-screen.js';
import { Quarantine } from '../../../controller/reconcile/quarantine.js';
import type { DesiredAssignment } from '../../../controller/reconcile/desired.js';
import type { EventObjectRef } from '../../../controller/reconcile/controller.js';
import { createLogger } from '../../../controller/observability/logger.js';
import { FakeClock } from '../../../controller/util/clock.js';

const id = (name: string): string => `/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/${name}`;
const CLIENT = '11111111-1111-1111-1111-111111111111';

let clock: FakeClock;
let reads: string[];
let world: Map<string, string>;
let forbidden: boolean;
let results: [string, IdentityCheck][];

const reader: IdentityReader = async (resourceId) => {
  reads.push(resourceId);
  if (forbidden) throw new IdentityReadForbiddenError('AuthorizationFailed');
  const clientId = world.get(resourceId);
  return clientId === undefined ? 'not-found' : { clientId };
};

function validator(extra: Partial<ConstructorParameters<typeof IdentityValidator>[0]> = {}): IdentityValidator {
  return new IdentityValidator({ read: reader, clock, notFoundBaseMs: 1000, notFoundMaxMs: 4000, okTtlMs: 60_000, onResult: (i, c) => results.push([i, c]), ...extra });
}

beforeEach(() => {
  clock = new FakeClock();
  reads = [];
  world = new Map([[id('a'), CLIENT]]);
  forbidden = false;
  results = [];
});

describe('IdentityValidator', () => {
  it('reads once in the background, then serves the cached answer until it is due', async () => {
    const v = validator();
    expect(v.check(id('a'))).toEqual({ kind: 'unknown' });
    await v.idle();
    expect(v.check(id('a'))).toEqual({ kind: 'found', clientId: CLIENT });
    expect(v.check(id('A'))).toEqual({ kind: 'found', clientId: CLIENT });
    expect(reads).toEqual([id('a')]);
    expect(results).toEqual([[id('a'), { kind: 'found', clientId: CLIENT }]]);
    await clock.advance(60_000);
    v.check(id('a'));
    await v.idle();
    expect(reads).toHaveLength(2);
    expect(results).toHaveLength(1); // unchanged answer → no second callback
  });

  it('rechecks a missing identity with backoff and notices when it appears', async () => {
    const v = validator();
    v.check(id('gone'));
    await v.idle();
    expect(v.check(id('gone')).kind).toBe('not-found');
    await clock.advance(999);
    v.check(id('gone'));
    await v.idle();
    expect(reads).toHaveLength(1); // not due yet
    await clock.advance(1);
    v.check(id('gone'));
    await v.idle();
    expect(reads).toHaveLength(2);
    await clock.advance(1999);
    v.check(id('gone'));
    await v.idle();
    expect(reads).toHaveLength(2); // second wait is doubled
    world.set(id('gone'), CLIENT);
    await clock.advance(1);
    v.check(id('gone'));
    await v.idle();
    expect(v.check(id('gone'))).toEqual({ kind: 'found', clientId: CLIENT });
  });

  it('limits concurrent reads', async () => {
    let running = 0;
    let peak = 0;
    const release: (() => void)[] = [];
    const v = new IdentityValidator({
      clock,
      concurrency: 2,
      read: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => release.push(r));
        running--;
        return { clientId: CLIENT };
      },
    });
    for (const n of ['a', 'b', 'c', 'd', 'e']) v.check(id(n));
    const done = v.idle();
    while (release.length > 0 || running > 0) {
      const r = release.shift();
      if (r) r();
      await Promise.resolve();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    expect(peak).toBe(2);
  });

  it('a 403 turns validation off with one log line', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
    forbidden = true;
    const v = validator({ logger: createLogger({ stream, level: 'warn' }) });
    v.check(id('a'));
    v.check(id('b'));
    await v.idle();
    expect(v.disabled).toBe(true);
    expect(v.check(id('c'))).toEqual({ kind: 'unknown' });
    await v.idle();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((l) => l.includes('Identity validation disabled'))).toHaveLength(1);
    expect(reads.length).toBeLessThanOrEqual(2);
  });

  it('validateIdentity compares client IDs case-insensitively', () => {
    expect(validateIdentity({ kind: 'found', clientId: CLIENT }, CLIENT.toUpperCase())).toEqual({ kind: 'ok' });
    expect(validateIdentity({ kind: 'found', clientId: CLIENT }, '22222222-2222-2222-2222-222222222222')).toEqual({
      kind: 'client-id-mismatch',
      expected: '22222222-2222-2222-2222-222222222222',
      actual: CLIENT,
    });
    expect(validateIdentity({ kind: 'found', clientId: CLIENT }, undefined)).toEqual({ kind: 'ok' });
    expect(validateIdentity({ kind: 'unknown' }, CLIENT)).toEqual({ kind: 'unknown' });
  });
});

function assignment(pod: string, identityName: string, resourceId: string, clientID: string): DesiredAssignment {
  return {
    key: `default/${pod}-${identityName}`,
    aai: {} as DesiredAssignment['aai'],
    pod: { name: pod, namespace: 'default', uid: `uid-${pod}`, labels: {} },
    identity: { apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureIdentity', metadata: { name: identityName, namespace: 'default', uid: `uid-${identityName}` }, spec: { type: 0, resourceID: resourceId, clientID } },
    binding: {} as DesiredAssignment['binding'],
    nodeName: 'node-0',
    identityId: resourceId,
  } as DesiredAssignment;
}

describe('IdentityScreen', () => {
  it('holds back a missing identity alone, reports each problem once per object, and releases it when it appears', async () => {
    const v = validator();
    const quarantine = new Quarantine({ clock, baseMs: 1000 });
    const events: [EventObjectRef, string, string][] = [];
    const screen = new IdentityScreen({ validator: v, quarantine, events: { record: (ref, _type, reason, message) => events.push([ref, reason, message]) } });
    const pass = [
      assignment('web-0', 'good', id('a'), CLIENT),
      assignment('web-1', 'missing', id('gone'), CLIENT),
      assignment('web-2', 'missing', id('gone'), CLIENT),
      assignment('web-3', 'typo', id('a'), '99999999-9999-9999-9999-999999999999'),
    ];
    await screen.screen(pass); // waits for the first reads, bounded
    expect(events).toHaveLength(5);
    expect(quarantine.active()).toEqual(new Set([id('gone')]));
    expect(quarantine.get(id('gone'))?.reason).toBe('IdentityNotFound');
    expect(events.map(([ref, reason]) => `${ref.kind}/${ref.name} ${reason}`).sort()).toEqual([
      'AzureIdentity/missing IdentityNotFound',
      'AzureIdentity/typo IdentityClientIDMismatch',
      'Pod/web-1 IdentityNotFound',
      'Pod/web-2 IdentityNotFound',
      'Pod/web-3 IdentityClientIDMismatch',
    ]);
    await screen.screen(pass);
    expect(events).toHaveLength(5); // no repeats while unchanged

    world.set(id('gone'), CLIENT);
    await clock.advance(1000);
    await screen.screen(pass); // recheck due: runs in the background, no wait
    await v.idle();
    await screen.screen(pass);
    expect(quarantine.active().has(id('gone'))).toBe(false);
    expect(quarantine.get(id('gone'))).toBeUndefined();
  });

  it('a first check that does not answer in time lets the pass go on (bounded wait)', async () => {
    const v = new IdentityValidator({ clock, read: () => new Promise(() => undefined) });
    const quarantine = new Quarantine({ clock });
    const screen = new IdentityScreen({ validator: v, quarantine, events: { record: () => undefined }, firstCheckTimeoutMs: 2000 });
    const pending = screen.screen([assignment('p', 'slow', id('slow'), CLIENT)]);
    await clock.advance(2000);
    await pending;
    expect(quarantine.active().size).toBe(0);
  });
});
