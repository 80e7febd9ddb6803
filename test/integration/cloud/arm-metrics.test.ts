/**
 * The ARM metrics that used to stay flat move: `aadpodidentity_mic_arm_writes_inflight` while an
 * identity update (PATCH + long-running operation) runs, `aadpodidentity_mic_throttle_wait_seconds`
 * on a client-side refusal (`source="client"`) and on ARM's Retry-After (`source="arm"`).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createAzureCloudProvider } from '../../../controller/app/cloud.js';
import type { AzureCloudProvider } from '../../../controller/cloud/azure-provider.js';
import { isThrottledError } from '../../../controller/cloud/errors.js';
import { createNullLogger } from '../../../controller/observability/logger.js';
import { createMetrics, type MicMetrics } from '../../../controller/observability/metrics.js';
import { emulatorCloudConfig } from '../../../hack/emulators/azure/cloud-config.js';
import { startAzureEmulator, type AzureEmulator } from '../../../hack/emulators/azure/index.js';
import { waitFor } from '../../support/wait.js';

const SUB = '00000000-0000-0000-0000-0000000000bb';
const RG = 'MC_metrics';
const vmss = (name: string) => ({ kind: 'vmss' as const, subscriptionId: SUB, resourceGroup: RG, name });

let emu: AzureEmulator;
let metrics: MicMetrics;
let provider: AzureCloudProvider;

async function gauge(name: string): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values[0]?.value ?? NaN;
}

async function waitCount(source: 'client' | 'arm'): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'aadpodidentity_mic_throttle_wait_seconds');
  const count = metric?.values.find((v) => v.labels.source === source && (v as { metricName?: string }).metricName?.endsWith('_count'));
  return count?.value ?? 0;
}

beforeAll(async () => {
  if (!process.env.NODE_EXTRA_CA_CERTS) throw new Error('run through `npm test`/`make`: NODE_EXTRA_CA_CERTS must name the emulator test CA');
  emu = await startAzureEmulator({ lroLatencyMs: 400, throttling: false });
  for (const name of ['slow', 'busy', 'throttled']) emu.controls.addVmss(SUB, RG, name);
  metrics = createMetrics(new Registry(), { defaultMetrics: false });
  provider = createAzureCloudProvider(emulatorCloudConfig(emu, SUB, RG), { logger: createNullLogger(), metrics, updateIntervalInMs: 20 });
});
afterAll(async () => {
  await emu?.stop();
});

describe('ARM metrics', () => {
  it('counts an identity update in flight until it completes', async () => {
    const id = emu.controls.addIdentity(SUB, RG, 'id-inflight').toLowerCase();
    expect(await gauge('aadpodidentity_mic_arm_writes_inflight')).toBe(0);
    const update = provider.updateIdentities(vmss('slow'), [id], []);
    await waitFor(async () => (await gauge('aadpodidentity_mic_arm_writes_inflight')) === 1, 'one write in flight');
    await update;
    expect(await gauge('aadpodidentity_mic_arm_writes_inflight')).toBe(0);
  });

  it('observes the wait of a client-side budget refusal', async () => {
    let refused: unknown;
    for (let i = 0; i < 100 && refused === undefined; i++) {
      await provider.getIdentities(vmss('busy')).catch((e: unknown) => (refused = e));
    }
    expect(isThrottledError(refused)).toBe(true);
    expect(await waitCount('client')).toBe(1);
  });

  it("observes ARM's Retry-After", async () => {
    emu.controls.failNext({ method: 'GET', resource: '/virtualMachineScaleSets/throttled', status: 429, code: 'TooManyRequests', retryAfterSeconds: 7, count: 5 });
    await expect(provider.getIdentities(vmss('throttled'))).rejects.toThrow();
    expect(await waitCount('arm')).toBeGreaterThanOrEqual(1);
    const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'aadpodidentity_mic_throttle_wait_seconds');
    const sum = metric?.values.find((v) => v.labels.source === 'arm' && (v as { metricName?: string }).metricName?.endsWith('_sum'));
    expect(sum?.value).toBeGreaterThanOrEqual(7);
  });
});
