/**
 * The one-time type upgrade rewrites an object only when its spec differs in value: a spec whose
 * keys come back in another order than the parser emits is not written at all.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { runTypeUpgrade } from '../../../controller/app/type-upgrade.js';
import { GROUP, PLURALS, VERSION } from '../../../controller/api/types.js';
import { createNullLogger } from '../../../controller/observability/logger.js';
import { startHarness, type Harness, SUB, RG } from '../../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function resourceVersion(harness: Harness, name: string): Promise<string | undefined> {
  const o = (await harness.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURALS.AzureIdentity, name })) as { metadata?: { resourceVersion?: string } };
  return o.metadata?.resourceVersion;
}

describe('type upgrade', () => {
  it('leaves a spec alone when only its key order differs, and records the marker', async () => {
    h = await startHarness();
    const resourceID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id`;
    await h.custom.createNamespacedCustomObject({
      group: GROUP, version: VERSION, namespace: 'default', plural: PLURALS.AzureIdentity,
      // Keys in the opposite order to the one the parser produces.
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AzureIdentity', metadata: { name: 'id', namespace: 'default' }, spec: { clientID: '00000000-0000-0000-0000-00000000000a', resourceID, type: 0 } },
    });
    const before = await resourceVersion(h, 'id');
    const ran = await runTypeUpgrade({ kc: h.kc, namespace: 'default', configMapName: 'aad-pod-identity-config', statusKey: 'type-upgrade-status', version: 'test', logger: createNullLogger() });
    expect(ran).toBe(true);
    expect(await resourceVersion(h, 'id')).toBe(before);
    // Not even a no-op write (the API server would not bump the version for one, but it is a request per object).
    expect(h.kube.controls.requestLog().filter((r) => r.verb === 'update' && r.path.includes('/azureidentities/'))).toEqual([]);
    const cm = await h.core.readNamespacedConfigMap({ name: 'aad-pod-identity-config', namespace: 'default' });
    expect(cm.data?.['type-upgrade-status']).toBe('test');
  });
});
