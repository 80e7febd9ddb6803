/** lazyCloudProvider: loads the real provider once, on the first call, and forwards every call. */
import { describe, expect, it } from '@jest/globals';
import { lazyCloudProvider } from '../../../controller/app/lazy-cloud.js';
import type { CloudProvider, Target, TargetIdentities } from '../../../controller/cloud/provider.js';

const target: Target = { kind: 'vmss', subscriptionId: 's', resourceGroup: 'rg', name: 'ss1' };

/** A recording provider (a test double of the cloud, not of our Kubernetes or ARM clients). */
function recordingProvider(calls: string[]): CloudProvider {
  return {
    async getIdentities(t: Target): Promise<TargetIdentities> {
      calls.push(`get ${t.name}`);
      return { userAssigned: new Set(['/id/a']), type: 'UserAssigned' };
    },
    async updateIdentities(t: Target, add: readonly string[], remove: readonly string[]) {
      calls.push(`update ${t.name} +${add.join(',')} -${remove.join(',')}`);
      return { after: { userAssigned: new Set(add), type: 'UserAssigned' }, writes: 1 };
    },
  };
}

describe('lazyCloudProvider', () => {
  it('does not load until the first call, loads once for concurrent calls, and forwards arguments and results', async () => {
    const calls: string[] = [];
    let loads = 0;
    const cloud = lazyCloudProvider(async () => {
      loads++;
      return recordingProvider(calls);
    });
    expect(loads).toBe(0);
    const [ids, result] = await Promise.all([cloud.getIdentities(target), cloud.updateIdentities(target, ['/id/b'], ['/id/a'])]);
    expect(loads).toBe(1);
    expect([...ids.userAssigned]).toEqual(['/id/a']);
    expect(result.writes).toBe(1);
    expect([...result.after.userAssigned]).toEqual(['/id/b']);
    await cloud.getIdentities(target);
    expect(loads).toBe(1);
    expect(calls).toEqual(['get ss1', 'update ss1 +/id/b -/id/a', 'get ss1']);
  });

  it('reports a failed load once and rejects every call with its error', async () => {
    const reported: unknown[] = [];
    const boom = new Error('module not found');
    const cloud = lazyCloudProvider(async () => Promise.reject(boom), { onLoadError: (err) => reported.push(err) });
    await expect(cloud.getIdentities(target)).rejects.toBe(boom);
    await expect(cloud.updateIdentities(target, [], [])).rejects.toBe(boom);
    expect(reported).toEqual([boom]);
  });

  it('is not mistaken for a promise (await on it does not start loading)', async () => {
    let loads = 0;
    const cloud = lazyCloudProvider(async () => {
      loads++;
      return recordingProvider([]);
    });
    expect(await Promise.resolve(cloud)).toBe(cloud);
    expect(loads).toBe(0);
  });
});
