/** The real @azure/arm-compute client against the emulator: identity deltas, LROs and ARM errors. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { startAzureEmulator, vmId, vmssId, type AzureEmulator } from '../../hack/emulators/azure/index.js';
import { RG, SUB, caught, computeClient, msiClient } from './helpers.js';

type Delta = Record<string, Record<string, never> | null>;
const delta = (d: Delta): never => d as never;

describe('Azure emulator with @azure/arm-compute', () => {
  let emu: AzureEmulator;
  let compute: ComputeManagementClient;
  let idA: string;
  let idB: string;
  let idC: string;
  const poll = { updateIntervalInMs: 10 };

  beforeAll(async () => {
    emu = await startAzureEmulator({ lroLatencyMs: 50, throttling: false });
    compute = computeClient(emu);
    idA = emu.controls.addIdentity(SUB, RG, 'id-a');
    idB = emu.controls.addIdentity(SUB, RG, 'id-b');
    idC = emu.controls.addIdentity(SUB, RG, 'id-c');
  });
  afterAll(async () => {
    await emu.stop();
  });

  let n = 0;
  let vmss: string;
  beforeEach(() => {
    vmss = `vmss-${++n}`;
    emu.controls.addVmss(SUB, RG, vmss, { instances: 2 });
  });

  it('GETs a VMSS with its user-assigned identities showing clientId/principalId', async () => {
    emu.controls.setResourceIdentities(vmssId(SUB, RG, vmss), [idA]);
    const got = await compute.virtualMachineScaleSets.get(RG, vmss);
    expect(got.identity?.type).toBe('UserAssigned');
    const entries = Object.entries(got.identity?.userAssignedIdentities ?? {});
    expect(entries).toHaveLength(1);
    expect(entries[0]?.[0].toLowerCase()).toBe(idA.toLowerCase());
    expect(entries[0]?.[1].clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(entries[0]?.[1].principalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(got.provisioningState).toBe('Succeeded');
    const instance = await compute.virtualMachineScaleSetVMs.get(RG, vmss, '1');
    expect(instance.instanceId).toBe('1');
  });

  it('adds with {} and removes with null through the update() poller (case-insensitive IDs)', async () => {
    const added = await compute.virtualMachineScaleSets.update(
      RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idA.toUpperCase()]: {}, [idB]: {} }) } }, poll);
    expect(Object.keys(added.identity?.userAssignedIdentities ?? {}).map((k) => k.toLowerCase()).sort())
      .toEqual([idA.toLowerCase(), idB.toLowerCase()].sort());
    await compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idA]: null }) } }, poll);
    expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, vmss))).toEqual({ type: 'UserAssigned', userAssigned: [idB.toLowerCase()] });
    const changes = emu.controls.identityChanges(vmssId(SUB, RG, vmss));
    expect(changes.map((c) => `${c.op} ${c.identity} ${c.by}`)).toEqual([
      `add ${idA.toLowerCase()} arm-client`, `add ${idB.toLowerCase()} arm-client`, `remove ${idA.toLowerCase()} arm-client`,
    ]);
  });

  it('shows Updating while the operation runs and applies the change only when it completes', async () => {
    emu.controls.setLroLatency(60_000);
    try {
      const poller = compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idC]: {} }) } }, { updateIntervalInMs: 5 });
      await poller.submitted();
      const during = await compute.virtualMachineScaleSets.get(RG, vmss);
      expect(during.provisioningState).toBe('Updating');
      expect(during.identity).toBeUndefined();
      // A second write while the first runs is refused (409 OperationNotAllowed with Retry-After).
      const conflict = await caught(() => compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idA]: {} }) } }, poll).pollUntilDone());
      expect(conflict.statusCode).toBe(409);
      expect(conflict.code).toBe('OperationNotAllowed');
      expect(Number(conflict.response?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      emu.controls.setLroLatency(0);
      emu.controls.setTimeScale(100_000); // finish the long operation quickly
      const done = await poller.pollUntilDone();
      expect(done.provisioningState).toBe('Succeeded');
      expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, vmss)).userAssigned).toEqual([idC.toLowerCase()]);
    } finally {
      emu.controls.setTimeScale(1);
      emu.controls.setLroLatency(50);
    }
  });

  it('keeps the system-assigned identity through user identity changes', async () => {
    emu.controls.addVm(SUB, RG, `vm-${vmss}`, { systemAssigned: true });
    const vm = `vm-${vmss}`;
    const before = await compute.virtualMachines.get(RG, vm);
    expect(before.identity?.type).toBe('SystemAssigned');
    const principal = before.identity?.principalId;
    const added = await compute.virtualMachines.update(RG, vm, { identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: delta({ [idA]: {} }) } }, poll);
    expect(added.identity?.type).toBe('SystemAssigned, UserAssigned');
    expect(added.identity?.principalId).toBe(principal);
    const removed = await compute.virtualMachines.update(RG, vm, { identity: { type: 'SystemAssigned' } }, poll);
    expect(removed.identity?.type).toBe('SystemAssigned');
    expect(removed.identity?.principalId).toBe(principal);
    expect(removed.identity?.userAssignedIdentities).toBeUndefined();
  });

  it('clears user identities with type None and rejects UserAssigned without any identity', async () => {
    emu.controls.setResourceIdentities(vmssId(SUB, RG, vmss), [idA, idB]);
    const empty = await caught(() => compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idA]: null, [idB]: null }) } }, poll).pollUntilDone());
    expect(empty.statusCode).toBe(400);
    expect(empty.code).toBe('InvalidParameter');
    const none = await compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'None' } }, poll);
    expect(none.identity).toBeUndefined();
    expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, vmss))).toEqual({ type: 'None', userAssigned: [] });
  });

  it('answers 403 LinkedAuthorizationFailed naming the unassignable identity, atomically', async () => {
    const locked = emu.controls.addIdentity(SUB, RG, `locked-${vmss}`, { assignable: false });
    const err = await caught(() => compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idA]: {}, [locked]: {} }) } }, poll).pollUntilDone());
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe('LinkedAuthorizationFailed');
    expect(err.message).toContain(`on the linked scope(s) '${locked}' or the linked scope(s) are invalid`);
    expect(err.message).toContain(`on scope '${vmssId(SUB, RG, vmss)}'`);
    expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, vmss)).userAssigned).toEqual([]);
    emu.controls.setAssignable(locked, true);
    await compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [locked]: {} }) } }, poll);
    expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, vmss)).userAssigned).toEqual([locked.toLowerCase()]);
  });

  it('answers 400 FailedIdentityOperation listing every missing identity in one quoted list', async () => {
    const gone1 = emu.controls.addIdentity(SUB, RG, `gone1-${vmss}`);
    const gone2 = emu.controls.addIdentity(SUB, RG, `gone2-${vmss}`);
    emu.controls.removeIdentity(gone1);
    emu.controls.removeIdentity(gone2);
    const err = await caught(() => compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idA]: {}, [gone1]: {}, [gone2]: {} }) } }, poll).pollUntilDone());
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('FailedIdentityOperation');
    // The pattern upstream MIC uses to pull the bad IDs out of the message.
    const pattern = /'(,?\/subscriptions\/[a-zA-Z0-9-_]+\/resourcegroups\/[a-zA-Z0-9-_]+\/providers\/Microsoft.ManagedIdentity\/userAssignedIdentities\/[a-zA-Z0-9-_]+)+'/i;
    const listed = pattern.exec(err.message)?.[0].slice(1, -1).split(',');
    expect(listed).toEqual([gone1, gone2]);
    expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, vmss)).userAssigned).toEqual([]);
  });

  it('rejects more than 150 identities in one request with ARM\'s message', async () => {
    const many: Delta = {};
    for (let i = 0; i < 151; i++) many[`/subscriptions/${SUB}/resourcegroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x${i}`] = {};
    const err = await caught(() => compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta(many) } }, poll).pollUntilDone());
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain("User Assigned Identities Number '151' Assign exceed limit '150' in one request");
  });

  it('ends the operation Failed when failNext({ lro: true }) is set, without applying the change', async () => {
    emu.controls.failNext({ method: 'PATCH', resource: vmss, status: 500, code: 'InternalExecutionError', message: 'boom', lro: true });
    const err = await caught(() => compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idA]: {} }) } }, poll).pollUntilDone());
    expect(err.message).toContain('boom');
    expect(emu.controls.getResourceIdentities(vmssId(SUB, RG, vmss)).userAssigned).toEqual([]);
  });

  it('injects failures and dropped connections with failNext', async () => {
    emu.controls.failNext({ method: 'GET', resource: vmss, status: 503, code: 'ServiceUnavailable', retryAfterSeconds: 7 });
    const err = await caught(() => compute.virtualMachineScaleSets.get(RG, vmss));
    expect(err.statusCode).toBe(503);
    expect(err.response?.headers.get('retry-after')).toBe('7');
    emu.controls.failNext({ method: 'GET', resource: new RegExp(`/${vmss}$`), status: 0, drop: true });
    const dropped = await caught(() => compute.virtualMachineScaleSets.get(RG, vmss));
    expect(dropped.statusCode).toBeUndefined();
    const ok = await compute.virtualMachineScaleSets.get(RG, vmss);
    expect(ok.name).toBe(vmss);
    const statuses = emu.controls.auditLog().filter((e) => e.resource === vmssId(SUB, RG, vmss).toLowerCase()).map((e) => e.status);
    expect(statuses).toEqual([503, 0, 200]);
  });

  it('returns 401 InvalidAuthenticationToken for an unknown token', async () => {
    const bad = computeClient(emu, { credential: { getToken: async () => ({ token: 'not-a-token', expiresOnTimestamp: Date.now() + 60_000 }) } });
    const err = await caught(() => bad.virtualMachineScaleSets.get(RG, vmss));
    expect(err.statusCode).toBe(401);
    expect(err.code).toBe('InvalidAuthenticationToken');
  });

  it('serves user-assigned identities to @azure/arm-msi', async () => {
    const msi = msiClient(emu);
    const got = await msi.userAssignedIdentities.get(RG, 'id-a');
    expect(got.id).toBe(idA);
    expect(got.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(got.tenantId).toBe(emu.tenantId);
    const names: string[] = [];
    for await (const i of msi.userAssignedIdentities.listByResourceGroup(RG)) names.push(i.name ?? '');
    expect(names).toEqual(expect.arrayContaining(['id-a', 'id-b', 'id-c']));
    const missing = await caught(() => msi.userAssignedIdentities.get(RG, 'nope'));
    expect(missing.statusCode).toBe(404);
  });

  it('counts reads, writes and polls per resource and serves the state view', async () => {
    emu.controls.reset();
    await compute.virtualMachineScaleSets.update(RG, vmss, { identity: { type: 'UserAssigned', userAssignedIdentities: delta({ [idA]: {} }) } }, poll);
    await compute.virtualMachineScaleSets.get(RG, vmss);
    const counters = emu.controls.counters();
    const mine = counters.byResource[vmssId(SUB, RG, vmss).toLowerCase()];
    expect(mine?.writes).toBe(1);
    expect(mine?.reads).toBe(1);
    expect(mine?.polls).toBeGreaterThanOrEqual(1);
    expect(counters.writes).toBe(1);
    const kinds = new Set(emu.controls.auditLog().map((e) => e.kind));
    expect(kinds.has('poll')).toBe(true);
    const state = (await (await fetch(`${emu.armUrl}/_emulator/state`)).json()) as { resources: { id: string; userAssigned: string[] }[] };
    expect(state.resources.find((r) => r.id === vmssId(SUB, RG, vmss))?.userAssigned).toEqual([idA.toLowerCase()]);
    expect(vmId(SUB, RG, 'x')).toContain('/virtualMachines/x');
  });
});
