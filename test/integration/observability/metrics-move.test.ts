/**
 * The documented controller metrics move when the controller works: one MIC against both emulators,
 * its registries read after an assignment, a removal, a forbidden identity and a pause.
 * test/unit/docs/metric-coverage.test.ts maps each metric name below to this file.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { createAzureCloudProvider } from '../../../controller/app/cloud.js';
import type { MicApp } from '../../../controller/app/mic-app.js';
import { createLogger } from '../../../controller/observability/logger.js';
import { createMetrics } from '../../../controller/observability/metrics.js';
import { GROUP, PLURALS, VERSION } from '../../../controller/api/types.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { metricSample } from '../../support/metrics.js';
import { waitFor } from '../../support/wait.js';

const NODE0 = 'aks-nodepool1-12345678-vmss000000';
const NODE1 = 'aks-nodepool1-12345678-vmss000001';


let h: Harness;
let app: MicApp;
let registry: Registry;
/** ARM series: recorded by the cloud provider's hook, as run.ts wires it (there on the same registry). */
let armRegistry: Registry;
const at = (name: string, labels?: Record<string, string>): Promise<number> =>
  metricSample(/arm_requests|cloud_provider/u.test(name) ? armRegistry : registry, name, labels);
const until = (what: string, cond: () => Promise<boolean>): Promise<unknown> => waitFor(async () => ((await cond()) ? true : undefined), what);

beforeAll(async () => {
  h = await startHarness();
  await h.addIdentity('ok-id');
  await h.addBinding('ok-binding', 'ok-id', 'ok');
  const armMetrics = createMetrics(new Registry(), { defaultMetrics: false });
  armRegistry = armMetrics.registry;
  const logger = createLogger({ stream: new PassThrough(), level: 'error' });
  app = await h.startMic({ cloud: createAzureCloudProvider(h.cloudConfig, { logger, metrics: armMetrics, updateIntervalInMs: 100 }) });
  registry = app.metrics.registry;
});

afterAll(async () => {
  await h?.stop();
});

describe('controller metrics', () => {
  it('leadership and informers', async () => {
    await until('leader', async () => (await at('aadpodidentity_mic_is_leader')) === 1);
    expect(await at('aadpodidentity_mic_new_leader_election_count')).toBeGreaterThanOrEqual(1);
    expect(await at('aadpodidentity_mic_leader_transitions_total')).toBeGreaterThanOrEqual(1);
    expect(await at('leader_election_master_status', { name: 'aad-pod-identity-mic' })).toBe(1);
    await until('informers synced', async () => (await at('aadpodidentity_mic_informer_synced', { resource: 'pods' })) === 1);
  });

  it('an assignment', async () => {
    await h.addPod('p1', NODE0, 'ok');
    await h.waitForAssigned(1);
    await until('assignment counted', async () => (await at('aadpodidentity_mic_assigned_identities', { state: 'Assigned' })) === 1);
    expect(await at('aadpodidentity_assigned_identity_addition_count')).toBeGreaterThanOrEqual(1);
    expect(await at('aadpodidentity_assigned_identity_addition_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(await at('aadpodidentity_mic_cycle_count')).toBeGreaterThanOrEqual(1);
    expect(await at('aadpodidentity_mic_cycle_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(await at('aadpodidentity_mic_arm_requests_total', { operation: 'vmss_update', result: 'success' })).toBeGreaterThanOrEqual(1);
    expect(await at('aadpodidentity_cloud_provider_operations_duration_seconds_count', { operation_type: 'vmss_update' })).toBeGreaterThanOrEqual(1);
    await until('latency observed', async () => (await at('aadpodidentity_mic_assignment_latency_seconds_count')) >= 1);
    await until('binding applied event counted', async () => (await at('aadpodidentity_mic_events_emitted_total', { type: 'Normal', reason: 'binding applied' })) >= 1);
  });

  it('an update when the identity changes', async () => {
    const ref = { group: GROUP, version: VERSION, namespace: 'default', plural: PLURALS.AzureIdentity, name: 'ok-id' };
    const identity = (await h.custom.getNamespacedCustomObject(ref)) as { metadata: { labels?: Record<string, string> } };
    identity.metadata.labels = { ...identity.metadata.labels, touched: 'yes' };
    await h.custom.replaceNamespacedCustomObject({ ...ref, body: identity });
    await until('AAI replaced', async () => (await at('aadpodidentity_assigned_identity_update_count')) >= 1);
    expect(await at('aadpodidentity_assigned_identity_update_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  });

  it('a removal', async () => {
    await h.deletePod('p1');
    await until('AAI deleted', async () => (await h.listAssigned()).length === 0);
    expect(await at('aadpodidentity_assigned_identity_deletion_count')).toBeGreaterThanOrEqual(1);
    expect(await at('aadpodidentity_assigned_identity_deletion_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  });

  it('a forbidden identity', async () => {
    await h.addIdentity('denied', { assignable: false });
    await h.addBinding('denied-binding', 'denied', 'denied');
    await h.addPod('p2', NODE1, 'denied');
    await until('quarantined', async () => (await at('aadpodidentity_mic_quarantined_identities')) >= 1);
    expect(await at('aadpodidentity_mic_arm_requests_total', { result: 'forbidden' })).toBeGreaterThanOrEqual(1);
    expect(await at('aadpodidentity_cloud_provider_operations_errors_count')).toBeGreaterThanOrEqual(1);
    await until('IdentityForbidden counted', async () => (await at('aadpodidentity_mic_events_emitted_total', { type: 'Warning', reason: 'IdentityForbidden' })) >= 1);
    await until('Created AAI ages', async () => (await at('aadpodidentity_mic_oldest_created_age_seconds')) > 0);
  });

  it('the pause switch', async () => {
    await h.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'aad-pod-identity-mic-pause', namespace: 'default' }, data: { reason: 'test' } } });
    await until('paused', async () => (await at('aadpodidentity_mic_paused')) === 1);
    await h.core.deleteNamespacedConfigMap({ name: 'aad-pod-identity-mic-pause', namespace: 'default' });
    await until('resumed', async () => (await at('aadpodidentity_mic_paused')) === 0);
  });
});
