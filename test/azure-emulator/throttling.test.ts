/** Token buckets (unit) and throttled ARM requests with Retry-After (end to end, scaled time). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Throttler, type ThrottleTarget } from '../../hack/emulators/azure/throttling.js';
import { EmulatedClock } from '../../hack/emulators/azure/emulated-clock.js';
import { startAzureEmulator, vmssId, type AzureEmulator } from '../../hack/emulators/azure/index.js';
import { RG, SUB, computeClient, emulatorCredential } from './helpers.js';

const vmssWrite: ThrottleTarget = { kind: 'write', subscription: 's', provider: 'vmss', resourceId: 'r1' };

describe('Throttler buckets', () => {
  it('allows a burst of 12 VMSS updates, then one per 15 s (4/min)', () => {
    const t = new Throttler();
    for (let i = 0; i < 12; i++) expect(t.admit(vmssWrite, 0).ok).toBe(true);
    const refused = t.admit(vmssWrite, 0);
    expect(refused).toMatchObject({ ok: false, retryAfterMs: 15_000, policy: 'UpdateVMScaleSet' });
    expect(t.admit(vmssWrite, 14_999).ok).toBe(false);
    expect(t.admit(vmssWrite, 15_000).ok).toBe(true);
    // Another VMSS has its own bucket.
    expect(t.admit({ ...vmssWrite, resourceId: 'r2' }, 15_000).ok).toBe(true);
  });

  it('limits VMSS GETs (36 burst) and operation polls (45 burst) per resource', () => {
    const t = new Throttler();
    const read: ThrottleTarget = { kind: 'read', subscription: 's', provider: 'vmss', resourceId: 'r1' };
    const poll: ThrottleTarget = { kind: 'poll', subscription: 's', provider: 'vmss', resourceId: 'r1' };
    for (let i = 0; i < 36; i++) expect(t.admit(read, 0).ok).toBe(true);
    expect(t.admit(read, 0)).toMatchObject({ ok: false, retryAfterMs: 5_000, policy: 'GetVMScaleSet' });
    for (let i = 0; i < 45; i++) expect(t.admit(poll, 0).ok).toBe(true);
    expect(t.admit(poll, 0)).toMatchObject({ ok: false, retryAfterMs: 4_000, policy: 'GetOperation' });
  });

  it('applies the ARM front-door read bucket per subscription (250 + 25/s)', () => {
    const t = new Throttler();
    const read = (i: number): ThrottleTarget => ({ kind: 'read', subscription: 's', provider: 'identity', resourceId: `id${i}` });
    for (let i = 0; i < 250; i++) expect(t.admit(read(i), 0).ok).toBe(true);
    const refused = t.admit(read(999), 0);
    expect(refused).toMatchObject({ ok: false, retryAfterMs: 40, policy: 'SubscriptionReads' });
    expect(refused.headers['x-ms-ratelimit-remaining-subscription-reads']).toBe('0');
    expect(t.admit({ ...read(1), subscription: 'other' }, 0).ok).toBe(true);
    expect(t.admit(read(1), 40).ok).toBe(true);
  });

  it('reports remaining tokens in x-ms-ratelimit-remaining-* headers and admits all when disabled', () => {
    const t = new Throttler(false);
    const first = t.admit(vmssWrite, 0);
    expect(first.headers['x-ms-ratelimit-remaining-subscription-writes']).toBe('199');
    expect(first.headers['x-ms-ratelimit-remaining-resource']).toBe('Microsoft.Compute/UpdateSubscription;1499,Microsoft.Compute/UpdateVMScaleSet;11');
    for (let i = 0; i < 50; i++) expect(t.admit(vmssWrite, 0).ok).toBe(true);
  });

  it('scales emulated time with the time scale, continuously across changes', () => {
    let real = 1000;
    const clock = new EmulatedClock(60, () => real);
    real += 1000;
    expect(clock.now()).toBe(1000 + 60_000);
    clock.setScale(2);
    real += 500;
    expect(clock.now()).toBe(1000 + 61_000);
    expect(clock.toRealMs(10_000)).toBe(5_000);
  });
});

describe('throttled ARM requests', () => {
  let emu: AzureEmulator;
  let token: string;
  const url = (name: string): string => `${emu?.armUrl}${vmssId(SUB, RG, name)}?api-version=2024-11-01`;

  beforeAll(async () => {
    // 5x: a 5 s emulated wait is 1 s real.
    emu = await startAzureEmulator({ timeScale: 5, lroLatencyMs: 0 });
    emu.controls.addVmss(SUB, RG, 'reads');
    emu.controls.addVmss(SUB, RG, 'writes');
    emu.controls.addVmss(SUB, RG, 'sdk');
    token = (await emulatorCredential(emu).getToken('https://management.azure.com/.default')).token;
  });
  afterAll(async () => {
    await emu.stop();
  });

  it('answers 429 with Retry-After in real seconds once the GET bucket is empty; waiting that long succeeds', async () => {
    const get = (): Promise<Response> => fetch(url('reads'), { headers: { authorization: `Bearer ${token}` } });
    let firstRefusal = -1;
    let refused: Response | undefined;
    for (let i = 0; i < 60 && !refused; i++) {
      const res = await get();
      if (res.status === 429) {
        firstRefusal = i;
        refused = res;
      } else {
        expect(res.status).toBe(200);
        expect(res.headers.get('x-ms-ratelimit-remaining-subscription-reads')).toMatch(/^\d+$/);
        expect(res.headers.get('x-ms-ratelimit-remaining-resource')).toContain('Microsoft.Compute/GetVMScaleSet;');
        await res.arrayBuffer();
      }
    }
    expect(firstRefusal).toBeGreaterThanOrEqual(36);
    expect(firstRefusal).toBeLessThanOrEqual(38);
    const body = (await refused?.json()) as { error: { code: string; details: { target: string }[] } };
    expect(body.error.code).toBe('OperationNotAllowed');
    expect(body.error.details[0]?.target).toBe('GetVMScaleSet');
    const retryAfter = Number(refused?.headers.get('retry-after'));
    expect(retryAfter).toBe(1); // 5 s emulated at 5x
    expect(Number(refused?.headers.get('x-ms-retry-after-ms'))).toBeLessThanOrEqual(1000);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000)); // the client honours Retry-After
    const again = await get();
    expect(again.status).toBe(200);
    await again.arrayBuffer();
    expect(emu.controls.counters().byResource[vmssId(SUB, RG, 'reads').toLowerCase()]?.throttled).toBe(1);
  });

  it('throttles VMSS updates after a burst of 12 and the SDK retries after the advertised wait', async () => {
    const patch = (): Promise<Response> =>
      fetch(url('writes'), { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({}) });
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) {
      const res = await patch();
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses.slice(0, 12).every((s) => s === 202)).toBe(true);
    expect(statuses[12]).toBe(429);

    // Same for the SDK: one retry honouring the wait gets through.
    const sdk = computeClient(emu, { maxRetries: 1 });
    for (let i = 0; i < 36; i++) await sdk.virtualMachineScaleSets.get(RG, 'sdk');
    const before = emu.controls.counters().throttled;
    const got = await sdk.virtualMachineScaleSets.get(RG, 'sdk');
    expect(got.name).toBe('sdk');
    expect(emu.controls.counters().throttled).toBeGreaterThanOrEqual(before + 1);
  });
});
