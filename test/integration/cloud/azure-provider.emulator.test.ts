/**
 * AzureCloudProvider through the real SDK, LRO poller and credential against the Azure emulator
 * (HTTPS with the committed test CA; jest is started with NODE_EXTRA_CA_CERTS pointing at it).
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startAzureEmulator, vmId, vmssId } from '../../../hack/emulators/azure/index.js';
import type { AzureEmulator } from '../../../hack/emulators/azure/index.js';
import { AzureCloudProvider } from '../../../controller/cloud/azure-provider.js';
import type { CloudCallEvent } from '../../../controller/cloud/azure-provider.js';
import { createCredential } from '../../../controller/cloud/credential.js';
import { isIdentityRejectedError, isThrottledError } from '../../../controller/cloud/errors.js';
import { ArmRateLimiter } from '../../../controller/cloud/throttle.js';
import type { Target } from '../../../controller/cloud/provider.js';
import { systemClock } from '../../../controller/util/clock.js';

const SUB = '00000000-0000-0000-0000-000000000001';
const RG = 'mc_rg';

let emu: AzureEmulator;
let provider: AzureCloudProvider;
let limiter: ArmRateLimiter;
const calls: CloudCallEvent[] = [];
const ids: Record<string, string> = {};

beforeAll(async () => {
  if (!process.env.NODE_EXTRA_CA_CERTS) throw new Error('run through `npm test`/`make`: NODE_EXTRA_CA_CERTS must name the emulator test CA');
  emu = await startAzureEmulator({ lroLatencyMs: 20, throttling: false });
  const env = emu.environmentJson() as { resourceManagerEndpoint: string; activeDirectoryEndpoint: string; tokenAudience: string };
  const credential = createCredential(
    { tenantId: emu.tenantId, aadClientId: emu.clientId, aadClientSecret: emu.clientSecret, activeDirectoryEndpoint: env.activeDirectoryEndpoint, environmentName: 'AzureStackCloud' },
  );
  limiter = new ArmRateLimiter({ clock: systemClock });
  provider = new AzureCloudProvider({
    credential,
    resourceManagerEndpoint: env.resourceManagerEndpoint,
    tokenAudience: env.tokenAudience,
    updateIntervalInMs: 10,
    rateLimiter: limiter,
    onCall: (e) => calls.push(e),
  });
  for (const name of ['id1', 'id2', 'id3']) ids[name] = emu.controls.addIdentity(SUB, RG, name).toLowerCase();
  ids.forbidden = emu.controls.addIdentity(SUB, RG, 'forbidden', { assignable: false }).toLowerCase();
  emu.controls.addVmss(SUB, RG, 'pool1', { systemAssigned: true });
  emu.controls.addVmss(SUB, RG, 'pool2');
  emu.controls.addVmss(SUB, RG, 'pool3');
  emu.controls.addVm(SUB, RG, 'node-a');
});

afterAll(async () => {
  await emu?.stop();
});

const vmss = (name: string): Target => ({ kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name });

describe('AzureCloudProvider against the Azure emulator', () => {
  it('adds and removes identities on a VMSS through the real SDK and LRO, keeping the system identity', async () => {
    const target = vmss('pool1');
    const added = await provider.updateIdentities(target, [ids.id1 as string, ids.id2 as string], []);
    expect(added.writes).toBe(1);
    expect(added.after.userAssigned).toEqual(new Set([ids.id1, ids.id2]));
    expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, 'pool1'))).toEqual({
      type: 'SystemAssigned, UserAssigned',
      userAssigned: expect.arrayContaining([ids.id1, ids.id2]),
    });

    const removed = await provider.updateIdentities(target, [], [ids.id1 as string, ids.id2 as string], added.after);
    expect(removed.after).toMatchObject({ type: 'SystemAssigned', userAssigned: new Set() });
    expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, 'pool1'))).toEqual({ type: 'SystemAssigned', userAssigned: [] });
    expect(calls.some((c) => c.op === 'vmss_update' && c.outcome === 'success')).toBe(true);
  });

  it('adds and removes identities on a VM', async () => {
    const target: Target = { kind: 'vm', subscriptionId: SUB, resourceGroup: RG, name: 'node-a' };
    await provider.updateIdentities(target, [ids.id3 as string], []);
    expect(await provider.getIdentities(target)).toMatchObject({ type: 'UserAssigned', userAssigned: new Set([ids.id3]) });
    await provider.updateIdentities(target, [], [ids.id3 as string]);
    expect(emu.controls.getResourceIdentities(vmId(SUB, RG, 'node-a'))).toEqual({ type: 'None', userAssigned: [] });
  });

  it('a forbidden identity → IdentityRejectedError naming it, nothing assigned', async () => {
    const error = await provider.updateIdentities(vmss('pool2'), [ids.forbidden as string, ids.id1 as string], []).catch((e: unknown) => e);
    expect(isIdentityRejectedError(error)).toBe(true);
    expect(isIdentityRejectedError(error) && error.reason).toBe('forbidden');
    expect(isIdentityRejectedError(error) && error.identityIds).toEqual([ids.forbidden]);
    expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, 'pool2')).userAssigned).toEqual([]);
  });

  it('429 → ThrottledError with retryAfterMs; the gate then refuses locally for that VMSS only', async () => {
    emu.controls.failNext({ method: 'PATCH', resource: 'pool3', status: 429, code: 'TooManyRequests', message: 'throttled', retryAfterSeconds: 120 });
    const before = emu.controls.counters().writes;
    const error = await provider.updateIdentities(vmss('pool3'), [ids.id1 as string], []).catch((e: unknown) => e);
    expect(isThrottledError(error) && error.retryAfterMs).toBe(120_000);
    expect(isThrottledError(error) && error.local).toBe(false);

    const again = await provider.updateIdentities(vmss('pool3'), [ids.id1 as string], []).catch((e: unknown) => e);
    expect(isThrottledError(again) && again.local).toBe(true);
    expect(emu.controls.counters().writes - before).toBeLessThanOrEqual(1);
    await expect(provider.updateIdentities(vmss('pool2'), [ids.id1 as string], [])).resolves.toMatchObject({ writes: 1 });
  });

  it('authenticated with a client secret against the emulator token endpoint', () => {
    const kinds = emu.controls.auditLog().map((e) => e.kind);
    expect(kinds).toContain('token');
    expect(emu.controls.counters().tokens).toBeGreaterThanOrEqual(1);
  });
});
