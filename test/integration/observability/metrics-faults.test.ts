/**
 * The metrics that only move when something goes wrong or waits: a refused AzureAssignedIdentity
 * write (kube emulator fault injection) and targets waiting behind a slow ARM write (one worker,
 * long LRO latency in the Azure emulator).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { startHarness, type Harness } from '../../support/harness.js';
import { metricSample } from '../../support/metrics.js';
import { waitFor } from '../../support/wait.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});


describe('fault-driven controller metrics', () => {
  it('aadpodidentity_kubernetes_api_operations_errors_count counts an AzureAssignedIdentity create the API server refuses', async () => {
    h = await startHarness();
    await h.addIdentity('id');
    await h.addBinding('bind', 'id', 'sel');
    const app = await h.startMic();
    const errors = (): Promise<number> =>
      metricSample(app.metrics.registry, 'aadpodidentity_kubernetes_api_operations_errors_count', { operation_type: 'assigned_identity_addition' });
    expect(await errors()).toBe(0);
    h.kube.controls.failNext({ verb: 'create', path: /azureassignedidentities/u, status: 500, message: 'etcd unavailable' });
    await h.addPod('p', 'aks-nodepool1-12345678-vmss000000', 'sel');
    await waitFor(async () => (await errors()) === 1, 'the refused create counted');
    await h.waitForAssigned(1, 'the AAI after the retry');
    expect(await errors()).toBe(1);
  });

  it('aadpodidentity_mic_queue_depth shows a target waiting while the only worker is busy, and 0 once drained', async () => {
    h = await startHarness({ vmss: { 'vmss-a': ['node-a'], 'vmss-b': ['node-b'] }, lroLatencyMs: 2_000 });
    await h.addIdentity('id');
    await h.addBinding('bind', 'id', 'sel');
    const app = await h.startMic({ targetConcurrency: 1 });
    const depth = (): Promise<number> => metricSample(app.metrics.registry, 'aadpodidentity_mic_queue_depth');
    await waitFor(() => app.active, 'the controller to lead');
    await h.addPod('pa', 'node-a', 'sel');
    await h.addPod('pb', 'node-b', 'sel');
    await waitFor(async () => (await depth()) >= 1, 'a target waiting in the queue');
    await h.waitForAssigned(2, 'both pods Assigned', 20_000);
    await waitFor(async () => (await depth()) === 0, 'the queue drained');
  });
});
