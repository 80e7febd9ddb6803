/**
 * AzureCloudProvider when others write too: etags and If-Match through the real SDK against the Azure
 * emulator, with out-of-band writers played by the emulator's controls.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAzureEmulator, vmssId } from '../../../hack/emulators/azure/index.js';
import type { AzureEmulator } from '../../../hack/emulators/azure/index.js';
import { AzureCloudProvider } from '../../../controller/cloud/azure-provider.js';
import { createCredential } from '../../../controller/cloud/credential.js';
import { isCallAbortedError, isIdentityRejectedError, isPreconditionFailedError, isTargetNotFoundError } from '../../../controller/cloud/errors.js';
import type { Target } from '../../../controller/cloud/provider.js';
import { waitFor } from '../../support/wait.js';

const SUB = '00000000-0000-0000-0000-000000000002';
const RG = 'mc_rg_concurrency';

let emu: AzureEmulator;
let provider: AzureCloudProvider;
/** `If-Match` of every PATCH the SDK sent (undefined: none). */
const ifMatches: (string | undefined)[] = [];
const ids: string[] = [];

const recordIfMatch: PipelinePolicy = {
  name: 'record-if-match',
  sendRequest: (request, next) => {
    if (request.method === 'PATCH') ifMatches.push(request.headers.get('if-match'));
    return next(request);
  },
};

function newProvider(extra: { updateIntervalInMs?: number } = {}): AzureCloudProvider {
  const env = emu.environmentJson() as { resourceManagerEndpoint: string; activeDirectoryEndpoint: string; tokenAudience: string };
  const credential = createCredential(
    { tenantId: emu.tenantId, aadClientId: emu.clientId, aadClientSecret: emu.clientSecret, activeDirectoryEndpoint: env.activeDirectoryEndpoint, environmentName: 'AzureStackCloud' },
  );
  return new AzureCloudProvider({
    credential,
    resourceManagerEndpoint: env.resourceManagerEndpoint,
    tokenAudience: env.tokenAudience,
    updateIntervalInMs: extra.updateIntervalInMs ?? 10,
    additionalPolicies: [{ policy: recordIfMatch, position: 'perCall' }],
  });
}

beforeAll(async () => {
  if (!process.env.NODE_EXTRA_CA_CERTS) throw new Error('run through `npm test`/`make`: NODE_EXTRA_CA_CERTS must name the emulator test CA');
  emu = await startAzureEmulator({ lroLatencyMs: 20, throttling: false });
  provider = newProvider();
  for (let i = 0; i < 200; i++) ids.push(emu.controls.addIdentity(SUB, RG, `id${i}`).toLowerCase());
});

afterAll(async () => {
  await emu?.stop();
});

let n = 0;
let target: Target;
let armId: string;
beforeEach(() => {
  const name = `pool${++n}`;
  emu.controls.addVmss(SUB, RG, name);
  target = { kind: 'vmss', subscriptionId: SUB, resourceGroup: RG, name };
  armId = vmssId(SUB, RG, name);
  ifMatches.length = 0;
});

const id = (i: number): string => ids[i] as string;

describe('AzureCloudProvider with other writers (emulator)', () => {
  it('reads report the etag and the client ID of every identity', async () => {
    emu.controls.setResourceIdentities(armId, [id(0)]);
    const read = await provider.getIdentities(target);
    expect(read.etag).toBe(emu.controls.getEtag(armId));
    expect(read.clientIds?.get(id(0))).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('an out-of-band change after our read → PreconditionFailedError, their change intact', async () => {
    emu.controls.setResourceIdentities(armId, [id(0)]);
    const read = await provider.getIdentities(target);
    emu.controls.setResourceIdentities(armId, [id(0), id(1)], 'addon');
    const error = await provider.updateIdentities(target, [id(2)], [], read).catch((e: unknown) => e);
    expect(isPreconditionFailedError(error)).toBe(true);
    expect(ifMatches).toEqual([read.etag]);
    expect(emu.controls.getResourceIdentities(armId)).toEqual({ type: 'UserAssigned', userAssigned: [id(0), id(1)] });
  });

  it('a system-assigned identity enabled out of band survives our add (never downgraded to UserAssigned)', async () => {
    emu.controls.setResourceIdentities(armId, [id(0)]);
    const read = await provider.getIdentities(target);
    emu.controls.setSystemAssigned(armId, true, 'policy');
    // Planned from the stale read: refused by ARM instead of destroying the system identity.
    expect(isPreconditionFailedError(await provider.updateIdentities(target, [id(1)], [], read).catch((e: unknown) => e))).toBe(true);
    expect(emu.controls.getResourceIdentities(armId).type).toBe('SystemAssigned, UserAssigned');
    // A cached view without an etag is never written from: the provider reads first.
    const { etag: _dropped, ...noEtag } = read;
    const result = await provider.updateIdentities(target, [id(1)], [], noEtag);
    expect(result.after.type).toBe('SystemAssigned, UserAssigned');
    expect(emu.controls.getResourceIdentities(armId)).toEqual({ type: 'SystemAssigned, UserAssigned', userAssigned: [id(0), id(1)] });
  });

  it('removing what our read says is the last identity keeps one someone added out of band', async () => {
    emu.controls.setResourceIdentities(armId, [id(0)]);
    const read = await provider.getIdentities(target);
    emu.controls.setResourceIdentities(armId, [id(0), id(3)], 'human');
    expect(isPreconditionFailedError(await provider.updateIdentities(target, [], [id(0)], read).catch((e: unknown) => e))).toBe(true);
    expect(emu.controls.getResourceIdentities(armId).userAssigned).toEqual([id(0), id(3)]);
    // Re-read and re-plan (what the reconciler does on 412): theirs stays.
    const fresh = await provider.getIdentities(target);
    await provider.updateIdentities(target, [], [id(0)], fresh);
    expect(emu.controls.getResourceIdentities(armId)).toEqual({ type: 'UserAssigned', userAssigned: [id(3)] });
  });

  it('chains etags across chunks; a write between chunks stops the second one with 412', async () => {
    const adds = ids.slice(0, 200);
    const result = await provider.updateIdentities(target, adds, []);
    expect(result.writes).toBe(2);
    expect(ifMatches).toHaveLength(2);
    expect(ifMatches.every((e) => e !== undefined)).toBe(true);
    expect(ifMatches[0]).not.toBe(ifMatches[1]);
    expect(result.after.etag).toBe(emu.controls.getEtag(armId));

    const other: Target = { ...target, name: `${target.name}-b` };
    emu.controls.addVmss(SUB, RG, other.name);
    let chunk = 0;
    const error = await provider
      .updateIdentities(other, adds, [], undefined, {
        beforeWrite: () => {
          if (++chunk === 2) emu.controls.setSystemAssigned(vmssId(SUB, RG, other.name), true, 'policy');
        },
      })
      .catch((e: unknown) => e);
    expect(isPreconditionFailedError(error)).toBe(true);
    expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, other.name))).toMatchObject({ type: 'SystemAssigned, UserAssigned' });
    expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, other.name)).userAssigned).toHaveLength(150);
  });

  it('an identity in a missing resource group → rejected identity, not "target gone"', async () => {
    const typo = `/subscriptions/${SUB}/resourcegroups/no-such-rg/providers/microsoft.managedidentity/userassignedidentities/x`;
    const error = await provider.updateIdentities(target, [typo, id(0)], []).catch((e: unknown) => e);
    expect(isTargetNotFoundError(error)).toBe(false);
    expect(isIdentityRejectedError(error) && [error.reason, error.identityIds]).toEqual(['not-found', [typo]]);
    // The target's own resource group missing is target-gone.
    const gone = await provider.getIdentities({ ...target, resourceGroup: 'no-such-rg' }).catch((e: unknown) => e);
    expect(isTargetNotFoundError(gone)).toBe(true);
  });

  it('aborting during the LRO interrupts the poller\'s sleep (pollUntilDone with the signal)', async () => {
    const slow = newProvider({ updateIntervalInMs: 600_000 });
    emu.controls.setLroLatency(600_000);
    try {
      const controller = new AbortController();
      const pending = slow.updateIdentities(target, [id(0)], [], undefined, { signal: controller.signal }).catch((e: unknown) => e);
      // Wait until the PATCH was accepted and its first poll answered (the poller then sleeps 10 min).
      await waitFor(() => emu.controls.auditLog().some((e) => e.kind === 'poll' && e.resource === armId.toLowerCase()), 'the first poll of the PATCH', 5000);
      controller.abort();
      expect(isCallAbortedError(await pending)).toBe(true);
      expect(emu.controls.getResourceIdentities(armId).userAssigned).toEqual([]); // the operation is still running
    } finally {
      emu.controls.setLroLatency(20);
    }
  });
});
