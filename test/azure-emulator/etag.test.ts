/**
 * Optimistic concurrency in the emulator through the real @azure/arm-compute client: `etag` on GET and
 * LRO results, changing on every write by anyone (SDK or control), and `If-Match` on PATCH (412).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { startAzureEmulator, vmId, vmssId, type AzureEmulator } from '../../hack/emulators/azure/index.js';
import { RG, SUB, caught, computeClient, msiClient } from './helpers.js';

type Delta = Record<string, Record<string, never> | null>;
const delta = (d: Delta): never => d as never;

describe('Azure emulator: etag and If-Match', () => {
  let emu: AzureEmulator;
  let compute: ComputeManagementClient;
  let idA: string;
  let idB: string;
  const poll = { updateIntervalInMs: 10 };

  beforeAll(async () => {
    emu = await startAzureEmulator({ lroLatencyMs: 20, throttling: false });
    compute = computeClient(emu);
    idA = emu.controls.addIdentity(SUB, RG, 'etag-a');
    idB = emu.controls.addIdentity(SUB, RG, 'etag-b');
  });
  afterAll(async () => {
    await emu.stop();
  });

  let n = 0;
  let vmss: string;
  beforeEach(() => {
    vmss = `etag-vmss-${++n}`;
    emu.controls.addVmss(SUB, RG, vmss);
  });

  it('GET reports the etag as a body field and an ETag header, stable while nothing is written', async () => {
    let header: string | undefined;
    const got = await compute.virtualMachineScaleSets.get(RG, vmss, { onResponse: (r) => void (header = r.headers.get('etag') ?? undefined) });
    expect(got.etag).toMatch(/^"\d+"$/);
    expect(header).toBe(got.etag);
    expect((await compute.virtualMachineScaleSets.get(RG, vmss)).etag).toBe(got.etag);
    expect(got.etag).toBe(emu.controls.getEtag(vmssId(SUB, RG, vmss)));
  });

  it('a PATCH changes the etag; the LRO final state carries the new one', async () => {
    const before = (await compute.virtualMachineScaleSets.get(RG, vmss)).etag;
    const after = await compute.virtualMachineScaleSets.update(
      RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idA]: {} }) } }, { ...poll, ifMatch: before },
    );
    expect(after.etag).toMatch(/^"\d+"$/);
    expect(after.etag).not.toBe(before);
    expect((await compute.virtualMachineScaleSets.get(RG, vmss)).etag).toBe(after.etag);
  });

  it('writes through the controls (out-of-band actors) change the etag too', async () => {
    const armId = vmssId(SUB, RG, vmss);
    const e0 = emu.controls.getEtag(armId);
    emu.controls.setResourceIdentities(armId, [idA], 'policy');
    const e1 = emu.controls.getEtag(armId);
    emu.controls.setSystemAssigned(armId, true, 'policy');
    const e2 = emu.controls.getEtag(armId);
    expect(new Set([e0, e1, e2]).size).toBe(3);
    expect(emu.controls.getResourceIdentities(armId)).toEqual({ type: 'SystemAssigned, UserAssigned', userAssigned: [idA.toLowerCase()] });
    const state = (await (await fetch(`${emu.armUrl}/_emulator/state`)).json()) as { resources: { id: string; etag: string }[] };
    expect(state.resources.find((r) => r.id === armId)?.etag).toBe(e2);
  });

  it('the HTTP control POST /_emulator/resource-identities writes out of band and bumps the etag', async () => {
    const armId = vmssId(SUB, RG, vmss);
    const before = emu.controls.getEtag(armId);
    const res = await fetch(`${emu.armUrl}/_emulator/resource-identities`, {
      method: 'POST',
      body: JSON.stringify({ armId, userAssigned: [idB], systemAssigned: true, by: 'policy' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { type: string; etag: string };
    expect(body.type).toBe('SystemAssigned, UserAssigned');
    expect(body.etag).not.toBe(before);
    expect(body.etag).toBe(emu.controls.getEtag(armId));
    expect(emu.controls.identityChanges(armId).map((c) => c.by)).toEqual(['backdoor:policy']);
    const bad = await fetch(`${emu.armUrl}/_emulator/resource-identities`, { method: 'POST', body: JSON.stringify({ armId: 'nope' }) });
    expect(bad.status).toBe(404);
  });

  it('If-Match with a stale etag → 412 PreconditionFailed in ARM error shape, nothing written', async () => {
    const armId = vmssId(SUB, RG, vmss);
    const stale = (await compute.virtualMachineScaleSets.get(RG, vmss)).etag;
    emu.controls.setSystemAssigned(armId, true, 'policy');
    const before = emu.controls.counters();
    const error = await caught(() =>
      compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idB]: {} }) } }, { ...poll, ifMatch: stale }),
    );
    expect(error.statusCode).toBe(412);
    expect(error.code).toBe('PreconditionFailed');
    // Counted (the bench's ARM column shows them).
    expect(emu.controls.counters().preconditionFailed).toBe(before.preconditionFailed + 1);
    expect(emu.controls.counters().byResource[armId.toLowerCase()]?.preconditionFailed).toBe((before.byResource[armId.toLowerCase()]?.preconditionFailed ?? 0) + 1);
    expect(emu.controls.getResourceIdentities(armId)).toEqual({ type: 'SystemAssigned', userAssigned: [] });
  });

  it('If-Match: * and no If-Match write unconditionally (as ARM)', async () => {
    const armId = vmssId(SUB, RG, vmss);
    emu.controls.setResourceIdentities(armId, [idA], 'human');
    await compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idB]: {} }) } }, { ...poll, ifMatch: '*' });
    await compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idA]: null }) } }, poll);
    expect(emu.controls.getResourceIdentities(armId).userAssigned).toEqual([idB.toLowerCase()]);
  });

  it('VMs have an etag and honour If-Match too', async () => {
    emu.controls.addVm(SUB, RG, `vm-${vmss}`);
    const vm = await compute.virtualMachines.get(RG, `vm-${vmss}`);
    expect(vm.etag).toMatch(/^"\d+"$/);
    emu.controls.setResourceIdentities(vmId(SUB, RG, `vm-${vmss}`), [idA], 'human');
    const error = await caught(() =>
      compute.virtualMachines.update(RG, `vm-${vmss}`, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idB]: {} }) } }, { ...poll, ifMatch: vm.etag }),
    );
    expect(error.statusCode).toBe(412);
    const fresh = await compute.virtualMachines.get(RG, `vm-${vmss}`);
    const updated = await compute.virtualMachines.update(
      RG, `vm-${vmss}`, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idB]: {} }) } }, { ...poll, ifMatch: fresh.etag },
    );
    expect(updated.etag).not.toBe(fresh.etag);
  });

  it('an identity in a missing resource group → 404 ResourceGroupNotFound naming that group', async () => {
    const missing = `/subscriptions/${SUB}/resourceGroups/no-such-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x`;
    const error = await caught(() =>
      compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [missing]: {} }) } }, poll),
    );
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe('ResourceGroupNotFound');
    expect(error.message).toContain("'no-such-rg'");
    const read = await caught(() => msiClient(emu).userAssignedIdentities.get('no-such-rg', 'x'));
    expect([read.statusCode, read.code]).toEqual([404, 'ResourceGroupNotFound']);
    const target = await caught(() => compute.virtualMachineScaleSets.get('no-such-rg', vmss));
    expect([target.statusCode, target.code]).toEqual([404, 'ResourceGroupNotFound']);
  });
});
