/** The identity readiness gate through the pods/status subresource, against both emulators. */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { V1PodCondition } from '@kubernetes/client-node';
import { IDENTITY_READY_CONDITION } from '../../../controller/api/types.js';
import { startHarness, type Harness } from '../../support/harness.js';
import { waitFor } from '../../support/wait.js';

const NODE0 = 'aks-nodepool1-12345678-vmss000000';
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function condition(harness: Harness, pod: string): Promise<V1PodCondition | undefined> {
  const p = await harness.core.readNamespacedPodStatus({ name: pod, namespace: 'default' });
  return p.status?.conditions?.find((c) => c.type === IDENTITY_READY_CONDITION);
}

describe('identity readiness gate', () => {
  it('is False while the assignment is pending and True once the identity is assigned', async () => {
    h = await startHarness({ lroLatencyMs: 1500 });
    await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    await h.startMic();
    await h.addPod('gated', NODE0, 'sel', 'default', { readinessGate: true });
    const pending = await waitFor(async () => {
      const c = await condition(h!, 'gated');
      return c?.status === 'False' ? c : undefined;
    }, 'a False condition');
    expect(pending.reason).toBe('AssignmentPending');
    const ready = await waitFor(async () => {
      const c = await condition(h!, 'gated');
      return c?.status === 'True' ? c : undefined;
    }, 'a True condition');
    expect(ready.reason).toBe('IdentityAssigned');
    const [aai] = await h.listAssigned();
    expect(aai!.status?.status).toBe('Assigned');
  });

  it('explains a forbidden identity in the condition reason', async () => {
    h = await startHarness();
    await h.addIdentity('denied', { assignable: false });
    await h.addBinding('b', 'denied', 'sel');
    await h.startMic();
    await h.addPod('gated', NODE0, 'sel', 'default', { readinessGate: true });
    const c = await waitFor(async () => {
      const cond = await condition(h!, 'gated');
      return cond?.reason === 'IdentityForbidden' ? cond : undefined;
    }, 'an IdentityForbidden condition');
    expect(c.status).toBe('False');
  });

  it('leaves pods without the gate alone', async () => {
    h = await startHarness();
    await h.addIdentity('id');
    await h.addBinding('b', 'id', 'sel');
    await h.startMic();
    await h.addPod('plain', NODE0, 'sel');
    await h.waitForAssigned(1);
    expect(await condition(h, 'plain')).toBeUndefined();
  });
});
