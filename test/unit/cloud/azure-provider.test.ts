import { describe, it, expect, beforeEach } from '@jest/globals';
import type { TokenCredential } from '@azure/identity';
import { AzureCloudProvider } from '../../../controller/cloud/azure-provider.js';
import type { AzureCloudProviderOptions, CloudCallEvent } from '../../../controller/cloud/azure-provider.js';
import {
  isCallAbortedError,
  isIdentityRejectedError,
  isPreconditionFailedError,
  isTargetDeletingError,
  isTargetNotFoundError,
  isThrottledError,
  isTransientArmError,
} from '../../../controller/cloud/errors.js';
import { ArmRateLimiter } from '../../../controller/cloud/throttle.js';
import { FakeClock } from '../../../controller/util/clock.js';
import type { Target, TargetIdentities } from '../../../controller/cloud/provider.js';
import { targetArmId } from '../../../controller/cloud/provider.js';
import { FakeArmHttpClient } from './fake-arm-http.js';
import type { FakeResource } from './fake-arm-http.js';

const staticCredential: TokenCredential = {
  getToken: async () => ({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

const id = (name: string): string => `/subscriptions/sub/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/${name}`;
const VMSS: Target = { kind: 'vmss', subscriptionId: 'sub', resourceGroup: 'rg', name: 'pool' };
const VM: Target = { kind: 'vm', subscriptionId: 'sub', resourceGroup: 'rg', name: 'node-0' };

let arm: FakeArmHttpClient;
let calls: CloudCallEvent[];

function provider(extra: Partial<AzureCloudProviderOptions> = {}): AzureCloudProvider {
  return new AzureCloudProvider({
    credential: staticCredential,
    httpClient: arm,
    updateIntervalInMs: 1,
    readRetryDelayMs: 0,
    userAgent: 'mic-test/1.0',
    onCall: (e) => calls.push(e),
    ...extra,
  });
}

beforeEach(() => {
  arm = new FakeArmHttpClient();
  calls = [];
  arm.put(targetArmId(VMSS), { type: 'UserAssigned', userAssigned: [id('a')], provisioningState: 'Succeeded' });
  arm.put(targetArmId(VM), { type: 'SystemAssigned', userAssigned: [] });
});

describe('AzureCloudProvider (SDK wiring, in-memory httpClient)', () => {
  it('GETs a VMSS with a bearer token and maps identities to canonical IDs', async () => {
    const got = await provider().getIdentities(VMSS);
    expect(got).toEqual({
      type: 'UserAssigned',
      userAssigned: new Set([id('a')]),
      provisioningState: 'Succeeded',
      etag: arm.etag(targetArmId(VMSS)),
      clientIds: new Map([[id('a'), 'c']]),
    });
    const [request] = arm.requests;
    expect(request?.method).toBe('GET');
    expect(request?.path).toBe('/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool');
    expect(request?.authorization).toBe('Bearer test-token');
    expect(request?.userAgent).toMatch(/^mic-test\/1\.0 /);
    expect(calls).toEqual([{ op: 'vmss_get', outcome: 'success', durationMs: expect.any(Number) }]);
  });

  it('sends the exact PATCH delta (null removals survive serialisation) and awaits the LRO', async () => {
    const etag = arm.etag(targetArmId(VMSS));
    const current: TargetIdentities = { type: 'UserAssigned', userAssigned: new Set([id('a')]), ...(etag ? { etag } : {}) };
    const result = await provider().updateIdentities(VMSS, [id('b')], [id('a')], current);
    const patches = arm.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(1);
    expect(JSON.parse(patches[0]?.body ?? '')).toEqual({
      identity: { type: 'UserAssigned', userAssignedIdentities: { [id('a')]: null, [id('b')]: {} } },
    });
    expect(patches[0]?.body).toContain(`"${id('a')}":null`);
    expect(arm.requests.map((r) => r.method)).toEqual(['PATCH', 'GET', 'GET']); // no GET before: `current` was given, with its etag
    expect(patches[0]?.ifMatch).toBe(etag);
    expect(arm.requests[1]?.path).toBe('/operations/op1');
    expect(result).toEqual({
      after: { type: 'UserAssigned', userAssigned: new Set([id('b')]), provisioningState: 'Succeeded', etag: arm.etag(targetArmId(VMSS)), clientIds: new Map([[id('b'), 'c']]) },
      writes: 1,
    });
    expect(result.after.etag).not.toBe(etag);
    expect(arm.get(targetArmId(VMSS))?.userAssigned).toEqual([id('b')]);
    expect(calls.map((c) => `${c.op}:${c.outcome}`)).toEqual(['vmss_update:success']);
  });

  it('GETs first when no current state is given, and keeps the system identity on a VM', async () => {
    const result = await provider().updateIdentities(VM, [id('x')], []);
    expect(arm.armCalls.map((r) => r.method)).toEqual(['GET', 'PATCH']);
    expect(arm.requests[0]?.path).toMatch(/\/virtualMachines\/node-0$/);
    const patch = arm.requests.find((r) => r.method === 'PATCH');
    expect(JSON.parse(patch?.body ?? '')).toEqual({ identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [id('x')]: {} } } });
    expect(result.after.type).toBe('SystemAssigned, UserAssigned');
    expect(calls.map((c) => c.op)).toEqual(['vm_get', 'vm_update']);
  });

  it('removing the last identity sends type only', async () => {
    await provider().updateIdentities(VMSS, [], [id('a')]);
    const patch = arm.requests.find((r) => r.method === 'PATCH');
    expect(JSON.parse(patch?.body ?? '')).toEqual({ identity: { type: 'None' } });
    expect(arm.get(targetArmId(VMSS))).toMatchObject({ type: 'None', userAssigned: [] });
  });

  it('sends 200 additions as two sequential PATCHes of 150 and 50', async () => {
    const adds = Array.from({ length: 200 }, (_, i) => id(`n${i}`));
    const result = await provider().updateIdentities(VMSS, adds, []);
    const methods = arm.requests.map((r) => (r.path.startsWith('/operations/') ? 'POLL' : r.method));
    expect(methods).toEqual(['GET', 'PATCH', 'POLL', 'GET', 'PATCH', 'POLL', 'GET']);
    const sizes = arm.requests.filter((r) => r.method === 'PATCH').map((r) => Object.keys(JSON.parse(r.body ?? '').identity.userAssignedIdentities).length);
    expect(sizes).toEqual([150, 50]);
    expect(result.writes).toBe(2);
    expect(result.after.userAssigned.size).toBe(201);
  });

  it('does not PATCH when nothing changes, and makes no call at all for empty lists with a known state', async () => {
    const p = provider();
    const noop = await p.updateIdentities(VMSS, [id('a')], [id('zzz')]);
    expect(noop.writes).toBe(0);
    expect(arm.requests.map((r) => r.method)).toEqual(['GET']);
    const current: TargetIdentities = { type: 'UserAssigned', userAssigned: new Set([id('a')]) };
    expect(await p.updateIdentities(VMSS, [], [], current)).toEqual({ after: current, writes: 0 });
    expect(arm.requests).toHaveLength(1);
  });

  it('refuses a target in Deleting state without writing', async () => {
    arm.put(targetArmId(VMSS), { type: 'UserAssigned', userAssigned: [], provisioningState: 'Deleting' });
    expect(isTargetDeletingError(await provider().updateIdentities(VMSS, [id('b')], []).catch((e: unknown) => e))).toBe(true);
    expect(arm.requests.some((r) => r.method === 'PATCH')).toBe(false);
  });

  it('404 on the target → TargetNotFoundError', async () => {
    expect(isTargetNotFoundError(await provider().getIdentities({ ...VMSS, name: 'gone' }).catch((e: unknown) => e))).toBe(true);
  });

  it('429 → ThrottledError with Retry-After, a per-target gate, and no SDK retry', async () => {
    const clock = new FakeClock();
    const limiter = new ArmRateLimiter({ clock });
    const p = provider({ rateLimiter: limiter, clock });
    arm.failNext({ method: 'PATCH', status: 429, code: 'TooManyRequests', message: 'slow down', headers: { 'retry-after': '30' } });
    const current: TargetIdentities = { type: 'UserAssigned', userAssigned: new Set([id('a')]), etag: '*' };
    const error = await p.updateIdentities(VMSS, [id('b')], [], current).catch((e: unknown) => e);
    expect(isThrottledError(error) && error.retryAfterMs).toBe(30_000);
    expect(isThrottledError(error) && error.local).toBe(false);
    expect(arm.requests).toHaveLength(1);
    expect(calls.at(-1)).toMatchObject({ op: 'vmss_update', outcome: 'throttled', statusCode: 429 });

    const refused = await p.updateIdentities(VMSS, [id('b')], [], current).catch((e: unknown) => e);
    expect(isThrottledError(refused) && refused.local).toBe(true);
    expect(isThrottledError(refused) && refused.retryAfterMs).toBe(30_000);
    expect(arm.requests).toHaveLength(1); // nothing sent
    await p.updateIdentities(VM, [id('b')], [], { type: 'SystemAssigned', userAssigned: new Set(), etag: '*' }); // other targets unaffected
    await clock.advance(30_000);
    await p.updateIdentities(VMSS, [id('b')], [], current);
    expect(arm.get(targetArmId(VMSS))?.userAssigned).toContain(id('b'));
  });

  it('a failed LRO naming a forbidden identity → IdentityRejectedError with its ID', async () => {
    arm.failNext({
      method: 'PATCH',
      status: 202,
      asyncFailure: true,
      code: 'LinkedAuthorizationFailed',
      message: `The client has no permission to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '${id('bad').replace('resourcegroups', 'resourceGroups')}'.`,
    });
    const error = await provider().updateIdentities(VMSS, [id('bad')], [], { type: 'UserAssigned', userAssigned: new Set() }).catch((e: unknown) => e);
    expect(isIdentityRejectedError(error) && error.identityIds).toEqual([id('bad')]);
    expect(isIdentityRejectedError(error) && error.reason).toBe('forbidden');
  });

  it('retries a transient read once, then gives up', async () => {
    arm.failNext({ method: 'GET', status: 503, code: 'ServiceUnavailable' });
    await expect(provider().getIdentities(VMSS)).resolves.toMatchObject({ type: 'UserAssigned' });
    expect(arm.requests).toHaveLength(2);
    arm.failNext({ method: 'GET', status: 500 });
    arm.failNext({ method: 'GET', status: 500 });
    expect(isTransientArmError(await provider().getIdentities(VMSS).catch((e: unknown) => e))).toBe(true);
  });

  it('times out a hanging call with the injected clock', async () => {
    const clock = new FakeClock();
    arm.failNext({ method: 'GET', status: 0, hang: true });
    const pending = provider({ clock, readRetries: 0, readTimeoutMs: 5000 }).getIdentities(VMSS).catch((e: unknown) => e);
    await clock.advance(5000);
    const error = await pending;
    expect(isTransientArmError(error) && error.timedOut).toBe(true);
  });

  it('the caller aborting → CallAbortedError', async () => {
    arm.failNext({ method: 'GET', status: 0, hang: true });
    const controller = new AbortController();
    const pending = provider().getIdentities(VMSS, controller.signal).catch((e: unknown) => e);
    controller.abort();
    expect(isCallAbortedError(await pending)).toBe(true);
  });

  it('uses one client per subscription, honouring endpoint and token scope', async () => {
    const scopes: string[] = [];
    const credential: TokenCredential = {
      getToken: async (s) => {
        scopes.push(...(Array.isArray(s) ? s : [s]));
        return { token: 't', expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const p = provider({ credential, resourceManagerEndpoint: 'https://management.azure.com/', tokenAudience: 'https://management.core.windows.net/' });
    expect(p.clientFor('SUB')).toBe(p.clientFor('sub'));
    await p.getIdentities(VMSS);
    expect(scopes).toEqual(['https://management.core.windows.net/.default']);
  });
});

describe('AzureCloudProvider: LIST of a resource group (drift checks, issue 12 item 3)', () => {
  const VMSS2: Target = { ...VMSS, name: 'pool2' };
  const VMSS3: Target = { ...VMSS, name: 'pool3' };

  it('lists every VMSS of the group across pages with identities, etags and client IDs, keyed by target key', async () => {
    arm.put(targetArmId(VMSS2), { type: 'SystemAssigned, UserAssigned', userAssigned: [id('b')] });
    arm.put(targetArmId(VMSS3), { type: 'None', userAssigned: [] });
    arm.put(targetArmId({ ...VMSS, resourceGroup: 'other', name: 'elsewhere' }), { type: 'None', userAssigned: [] });
    const listed = await provider().listIdentities('sub', 'rg', 'vmss');
    expect([...listed.keys()].sort()).toEqual(['vmss:sub/rg/pool', 'vmss:sub/rg/pool2', 'vmss:sub/rg/pool3']);
    expect(listed.get('vmss:sub/rg/pool2')).toEqual({
      type: 'SystemAssigned, UserAssigned',
      userAssigned: new Set([id('b')]),
      etag: arm.etag(targetArmId(VMSS2)),
      clientIds: new Map([[id('b'), 'c']]),
    });
    // Two pages of two (the SDK follows nextLink), reported as one operation.
    expect(arm.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets',
      'GET /subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets',
    ]);
    expect(calls).toEqual([{ op: 'vmss_list', outcome: 'success', durationMs: expect.any(Number) }]);
  });

  it('lists VMs as vm_list', async () => {
    const listed = await provider().listIdentities('sub', 'rg', 'vm');
    expect([...listed.keys()]).toEqual(['vm:sub/rg/node-0']);
    expect(listed.get('vm:sub/rg/node-0')?.type).toBe('SystemAssigned');
    expect(calls.map((c) => c.op)).toEqual(['vm_list']);
  });

  it('is rate limited as a read of the group: a refusal sends nothing', async () => {
    const clock = new FakeClock();
    const rateLimiter = new ArmRateLimiter({ clock, limits: { targetRead: { burst: 1, perMinute: 0.001 } } });
    const p = provider({ rateLimiter, clock });
    await p.listIdentities('sub', 'rg', 'vmss');
    const err = await p.listIdentities('sub', 'rg', 'vmss').catch((e: unknown) => e);
    expect(isThrottledError(err) && err.local).toBe(true);
    expect(arm.requests.filter((r) => r.path.endsWith('virtualMachineScaleSets'))).toHaveLength(1);
    expect(calls.map((c) => `${c.op} ${c.outcome}`)).toEqual(['vmss_list success', 'vmss_list throttled']);
  });

  it('a 429 on the LIST → ThrottledError with Retry-After', async () => {
    arm.failNext({ method: 'GET', path: /virtualMachineScaleSets$/, status: 429, code: 'TooManyRequests', headers: { 'retry-after': '9' } });
    const err = await provider().listIdentities('sub', 'rg', 'vmss').catch((e: unknown) => e);
    expect(isThrottledError(err) && err.retryAfterMs).toBe(9_000);
  });
});

describe('AzureCloudProvider: optimistic concurrency (etag / If-Match)', () => {
  it('a view without an etag is never written from: GET first, and the type comes from that read', async () => {
    // The cached view says UserAssigned; ARM meanwhile has a system identity too.
    arm.put(targetArmId(VMSS), { type: 'SystemAssigned, UserAssigned', userAssigned: [id('a')] });
    const stale: TargetIdentities = { type: 'UserAssigned', userAssigned: new Set([id('a')]) };
    const readEtag = arm.etag(targetArmId(VMSS));
    await provider().updateIdentities(VMSS, [id('b')], [], stale);
    expect(arm.armCalls.map((r) => r.method)).toEqual(['GET', 'PATCH']);
    const patch = arm.requests.find((r) => r.method === 'PATCH');
    expect(JSON.parse(patch?.body ?? '').identity.type).toBe('SystemAssigned, UserAssigned');
    expect(patch?.ifMatch).toBe(readEtag);
  });

  it('412 → PreconditionFailedError, nothing retried inside the provider', async () => {
    const stale: TargetIdentities = { type: 'UserAssigned', userAssigned: new Set([id('a')]), etag: '"1"' };
    arm.put(targetArmId(VMSS), { type: 'SystemAssigned, UserAssigned', userAssigned: [id('a')] }); // someone wrote: etag "2"
    const error = await provider().updateIdentities(VMSS, [id('b')], [], stale).catch((e: unknown) => e);
    expect(isPreconditionFailedError(error)).toBe(true);
    expect(arm.requests.map((r) => r.method)).toEqual(['PATCH']);
    expect(arm.get(targetArmId(VMSS))).toMatchObject({ type: 'SystemAssigned, UserAssigned', userAssigned: [id('a')] });
    expect(calls.at(-1)).toMatchObject({ op: 'vmss_update', outcome: 'error', statusCode: 412, errorClass: 'PreconditionFailedError' });
  });

  it('chains etags across chunks: each PATCH is conditioned on the previous chunk\'s final state', async () => {
    const adds = Array.from({ length: 200 }, (_, i) => id(`n${i}`));
    const seen: (string | undefined)[] = [];
    await provider().updateIdentities(VMSS, adds, [], undefined, { beforeWrite: () => seen.push(arm.etag(targetArmId(VMSS))) });
    const ifMatches = arm.requests.filter((r) => r.method === 'PATCH').map((r) => r.ifMatch);
    expect(ifMatches).toEqual(seen);
    expect(new Set(ifMatches).size).toBe(2);
  });

  it('reports each confirmed chunk while more follow (onProgress), with ARM\'s state and etag; a single-chunk change reports nothing', async () => {
    const adds = Array.from({ length: 200 }, (_, i) => id(`n${i}`));
    const progress: { size: number; etag: string | undefined; patches: number }[] = [];
    const result = await provider().updateIdentities(VMSS, adds, [], undefined, {
      onProgress: (state) => progress.push({ size: state.userAssigned.size, etag: state.etag, patches: arm.requests.filter((r) => r.method === 'PATCH').length }),
    });
    // After the first chunk (150 added to the one present), before the second PATCH was sent.
    expect(progress).toEqual([{ size: 151, etag: expect.any(String), patches: 1 }]);
    expect(progress[0]!.etag).not.toBe(result.after.etag);
    expect(result.after.userAssigned.size).toBe(201);

    const single: unknown[] = [];
    await provider().updateIdentities(VMSS, [id('one-more')], [], undefined, { onProgress: (s) => single.push(s) });
    expect(single).toEqual([]);
  });

  it('a write between two chunks → 412 on the second chunk, which is not applied', async () => {
    const adds = Array.from({ length: 200 }, (_, i) => id(`n${i}`));
    let chunk = 0;
    const error = await provider()
      .updateIdentities(VMSS, adds, [], undefined, {
        beforeWrite: () => {
          if (++chunk === 2) arm.put(targetArmId(VMSS), { ...(arm.get(targetArmId(VMSS)) as FakeResource), type: 'SystemAssigned, UserAssigned' });
        },
      })
      .catch((e: unknown) => e);
    expect(isPreconditionFailedError(error)).toBe(true);
    expect(arm.get(targetArmId(VMSS))?.userAssigned).toHaveLength(151);
  });

  it('beforeWrite throwing stops the update before anything is sent', async () => {
    const notLeader = new Error('not leader');
    const error = await provider()
      .updateIdentities(VMSS, [id('b')], [], { type: 'UserAssigned', userAssigned: new Set([id('a')]), etag: '"1"' }, {
        beforeWrite: () => {
          throw notLeader;
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBe(notLeader);
    expect(arm.requests).toHaveLength(0);
  });

  it('the caller aborting while the credential hangs → CallAbortedError (the credential ignores the signal)', async () => {
    const hanging: TokenCredential = { getToken: () => new Promise(() => undefined) };
    const controller = new AbortController();
    const pending = provider({ credential: hanging }).getIdentities(VMSS, controller.signal).catch((e: unknown) => e);
    controller.abort();
    expect(isCallAbortedError(await pending)).toBe(true);
    expect(arm.requests).toHaveLength(0);
  });
});
