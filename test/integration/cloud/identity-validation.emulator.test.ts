/**
 * Identity validation through the real @azure/arm-msi client against the Azure emulator: the reader
 * itself, and the controller holding back a missing identity alone with Warning Events.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startAzureEmulator, type AzureEmulator } from '../../../hack/emulators/azure/index.js';
import { emulatorCloudConfig } from '../../../hack/emulators/azure/cloud-config.js';
import { createIdentityReader } from '../../../controller/app/cloud.js';
import { isIdentityReadForbiddenError, type IdentityReader } from '../../../controller/cloud/identity-validator.js';
import { startHarness, type Harness, SUB, RG } from '../../support/harness.js';
import { waitFor } from '../../support/wait.js';

const NODE0 = 'aks-nodepool1-12345678-vmss000000';

describe('armIdentityReader (arm-msi) against the emulator', () => {
  let emu: AzureEmulator;
  let read: IdentityReader;
  const signal = (): AbortSignal => AbortSignal.timeout(10_000);

  beforeAll(async () => {
    if (!process.env.NODE_EXTRA_CA_CERTS) throw new Error('NODE_EXTRA_CA_CERTS must name the emulator test CA');
    emu = await startAzureEmulator({ throttling: false });
    read = createIdentityReader(emulatorCloudConfig(emu, SUB, RG));
  });
  afterAll(async () => {
    await emu?.stop();
  });

  it('found → its client ID (lower-cased)', async () => {
    const id = emu.controls.addIdentity(SUB, RG, 'reader-a', { clientId: 'AAAAAAAA-0000-0000-0000-000000000001' });
    expect(await read(id.toLowerCase(), signal())).toEqual({ clientId: 'aaaaaaaa-0000-0000-0000-000000000001' });
  });

  it('a missing identity, or a missing resource group → not-found', async () => {
    expect(await read(`/subscriptions/${SUB}/resourcegroups/${RG}/providers/microsoft.managedidentity/userassignedidentities/nope`, signal())).toBe('not-found');
    expect(await read(`/subscriptions/${SUB}/resourcegroups/no-such-rg/providers/microsoft.managedidentity/userassignedidentities/x`, signal())).toBe('not-found');
  });

  it('403 → IdentityReadForbiddenError', async () => {
    const id = emu.controls.addIdentity(SUB, RG, 'reader-b');
    emu.controls.failNext({ method: 'GET', resource: 'reader-b', status: 403, code: 'AuthorizationFailed' });
    expect(isIdentityReadForbiddenError(await read(id, signal()).catch((e: unknown) => e))).toBe(true);
  });
});

describe('controller with identity validation (both emulators)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  const eventsFor = async (name: string, reason: string) =>
    (await h!.core.listNamespacedEvent({ namespace: 'default' })).items.filter((e) => e.involvedObject.name === name && e.reason === reason);

  it('a missing identity is held back alone with IdentityNotFound Events; another on the same VMSS is assigned; no rejected write', async () => {
    h = await startHarness();
    const good = await h.addIdentity('good');
    await h.addBinding('good', 'good', 'good');
    const missing = await h.addIdentity('missing', { create: false });
    await h.addBinding('missing', 'missing', 'missing');
    await h.startMic({ identityValidation: true });
    await h.addPod('missing-pod', NODE0, 'missing');
    await h.addPod('good-pod', NODE0, 'good');

    await waitFor(async () => (await h!.listAssigned()).find((a) => a.spec.pod === 'good-pod' && a.status?.status === 'Assigned'), 'good-pod Assigned');
    expect(h.vmssIdentities()).toContain(good.resourceId.toLowerCase());
    expect(h.vmssIdentities()).not.toContain(missing.resourceId.toLowerCase());
    await waitFor(async () => (await eventsFor('missing-pod', 'IdentityNotFound')).length > 0, 'IdentityNotFound on the pod');
    await waitFor(async () => (await eventsFor('missing', 'IdentityNotFound')).length > 0, 'IdentityNotFound on the AzureIdentity');
    const [podEvent] = await eventsFor('missing-pod', 'IdentityNotFound');
    expect(podEvent?.type).toBe('Warning');
    expect(podEvent?.involvedObject.kind).toBe('Pod');
    expect((await h.listAssigned()).find((a) => a.spec.pod === 'missing-pod')?.status?.status).not.toBe('Assigned');
    // Held back by the check, not by ARM rejecting a write that carried it.
    expect(h.azure.controls.auditLog().filter((e) => e.method === 'PATCH' && e.status >= 400)).toEqual([]);
  });

  it('a clientID that differs from what Azure reports → IdentityClientIDMismatch on the pod and the AzureIdentity', async () => {
    h = await startHarness();
    const real = h.azure.controls.addIdentity(SUB, RG, 'typo', { clientId: '0000aaaa-0000-0000-0000-000000000000' });
    await h.custom.createNamespacedCustomObject({
      group: 'aadpodidentity.k8s.io', version: 'v1', namespace: 'default', plural: 'azureidentities',
      body: { apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureIdentity', metadata: { name: 'typo', namespace: 'default' }, spec: { type: 0, resourceID: real, clientID: '0000bbbb-0000-0000-0000-000000000000' } },
    });
    await h.addBinding('typo', 'typo', 'typo');
    await h.startMic({ identityValidation: true });
    await h.addPod('typo-pod', NODE0, 'typo');
    const [event] = await waitFor(async () => {
      const list = await eventsFor('typo-pod', 'IdentityClientIDMismatch');
      return list.length > 0 ? list : undefined;
    }, 'IdentityClientIDMismatch on the pod');
    expect(event?.message).toContain('0000bbbb-0000-0000-0000-000000000000');
    expect(event?.message).toContain('0000aaaa-0000-0000-0000-000000000000');
    await waitFor(async () => (await eventsFor('typo', 'IdentityClientIDMismatch')).length > 0, 'IdentityClientIDMismatch on the AzureIdentity');
  });
});
