/**
 * One user agent for every client of a replica: Kubernetes reads, watches, AAI writes, the Lease,
 * Events and ConfigMaps, ARM calls and AAD token requests all carry the agent built from the
 * version, build and `--custom-user-agent` (the Lease and Event clients used to send
 * `aad-pod-identity/MIC/unknown/...` and drop the custom part).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MicApp } from '../../../controller/app/mic-app.js';
import { createAzureCloudProvider, createCloudCredential } from '../../../controller/app/cloud.js';
import { defaultMicOptions } from '../../../controller/config/options.js';
import { reuseConnections, userAgent, withUserAgent } from '../../../controller/kube/client.js';
import { createNullLogger } from '../../../controller/observability/logger.js';
import { startHarness, type Harness, RG, SUB, VMSS } from '../../support/harness.js';
import { waitFor } from '../../support/wait.js';

const UA = userAgent('1.2.3', 'contoso-platform/7', { gitCommit: 'abc1234', buildDate: '2026-11-30' });
let h: Harness;
let app: MicApp | undefined;

beforeAll(async () => {
  if (!process.env.NODE_EXTRA_CA_CERTS) throw new Error('run through `npm test`/`make`: NODE_EXTRA_CA_CERTS must name the emulator test CA');
  h = await startHarness();
});
afterAll(async () => {
  await app?.stop();
  await h?.stop();
});

describe('user agent', () => {
  it('is the same, custom part included, on every Kubernetes, ARM and token request of a replica', async () => {
    const { resourceId } = await h.addIdentity('ua-id');
    await h.addBinding('ua-binding', 'ua-id', 'ua');
    await h.addPod('ua-pod', 'aks-nodepool1-12345678-vmss000000', 'ua');
    h.kube.controls.clearRequestLog();
    h.azure.controls.reset();

    const logger = createNullLogger();
    const kc = withUserAgent(reuseConnections(h.kc), UA);
    app = new MicApp({
      options: { ...defaultMicOptions({}), micPodNamespace: 'default', leaderElectionInstance: 'ua-mic', leaderElectionDurationMs: 3000, armBatchWindowMs: 50 },
      subscriptionId: SUB,
      resourceGroup: RG,
      clusterIdentityClientId: '',
      cloud: createAzureCloudProvider(h.cloudConfig, { logger, userAgent: UA, credential: createCloudCredential(h.cloudConfig, UA), updateIntervalInMs: 50 }),
      kc,
      logger,
      serveProbes: false,
    });
    await app.start();
    await waitFor(() => h.vmssIdentities(VMSS).includes(resourceId.toLowerCase()), 'the identity on the scale set');
    await waitFor(
      () => h.kube.controls.requestLog().some((r) => r.path.startsWith('/api/v1/namespaces/default/events') && r.verb === 'create'),
      'an Event written by the replica',
    );
    await app.stop();
    app = undefined;

    const kubeRequests = h.kube.controls.requestLog();
    const paths = new Set(kubeRequests.map((r) => r.path));
    // The replica's clients all showed up: Lease, Events, watches/lists of the CRDs and pods, AAI writes.
    expect([...paths].join(' ')).toMatch(/leases/);
    expect([...paths].join(' ')).toMatch(/events/);
    expect([...paths].join(' ')).toMatch(/azureassignedidentities/);
    expect(kubeRequests.filter((r) => r.verb === 'watch').length).toBeGreaterThan(0);
    const wrongKube = kubeRequests.filter((r) => r.userAgent !== UA).map((r) => `${r.verb} ${r.path}: ${r.userAgent ?? ''}`);
    expect(wrongKube).toEqual([]);

    const azureRequests = h.azure.controls.auditLog();
    expect(azureRequests.some((r) => r.kind === 'token')).toBe(true);
    expect(azureRequests.some((r) => r.kind === 'write')).toBe(true);
    const wrongAzure = azureRequests.filter((r) => !(r.userAgent ?? '').startsWith(UA)).map((r) => `${r.method} ${r.path}: ${r.userAgent ?? ''}`);
    expect(wrongAzure).toEqual([]);
  });
});
