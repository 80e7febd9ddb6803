/**
 * The production bundle (`dist/bundle/controller`, what the image runs; `make build` makes it) as a
 * controller process against the kube emulator and the Azure emulator, with the image's glibc
 * malloc variables: it prints its version, becomes leader, assigns an identity to a VMSS (which
 * loads the Azure SDK chunk through `import()` and reads azure.json), and removes it when the pod
 * goes. The same flows on tsc's output are in controller-process.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { CONTROLLER_MALLOC_ENV } from '../../hack/bench/controller-child.js';
import { startKubeTarget, type KubeTarget } from '../support/kube-target.js';
import { MIC_BUNDLE_MAIN, startControllerEnv, type ControllerEnv } from '../support/controller-processes.js';
import { waitFor } from '../support/wait.js';

let target: KubeTarget;
let env: ControllerEnv;

beforeAll(async () => {
  if (!existsSync(MIC_BUNDLE_MAIN)) throw new Error(`${MIC_BUNDLE_MAIN} is missing: run make build (make test builds first)`);
  target = await startKubeTarget({ crdDir: path.resolve('crds') });
  env = await startControllerEnv({ kc: target.kc });
}, 90_000);

afterAll(async () => {
  await env?.stop();
  await target?.stop();
});

describe('the production bundle', () => {
  it('prints its version without any node_modules in reach', () => {
    const r = spawnSync(process.execPath, [MIC_BUNDLE_MAIN, '--version'], { cwd: tmpdir(), encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: tmpdir(), NODE_PATH: '' } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^MIC Version: \d+\.\d+\.\d+ - Commit: /);
  });

  it('assigns an identity to the VMSS of a labelled pod and removes both when the pod goes', async () => {
    const ns = 'bundle-e2e';
    await target.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    await env.addVmss('pool-bundle', ['bundle-node-0']);
    const { resourceId } = await env.addIdentity('id-bundle', ns);
    const replica = await env.startReplica('mic-bundle-0', { leaseName: 'lease-bundle', mainPath: MIC_BUNDLE_MAIN, env: { ...CONTROLLER_MALLOC_ENV } });
    await env.addPod('app-0', ns, 'bundle-node-0', 'id-bundle');
    await waitFor(async () => {
      const items = await env.assigned(ns);
      return items.length === 1 && items[0]?.status?.status === 'Assigned';
    }, 'AAI Assigned', 30_000, 100);
    expect(env.vmssIdentities('pool-bundle')).toEqual([resourceId.toLowerCase()]);

    await env.deletePod('app-0', ns);
    await waitFor(async () => (await env.assigned(ns)).length === 0, 'AAI removed', 30_000, 100);
    await waitFor(() => env.vmssIdentities('pool-bundle').length === 0, 'identity removed from the VMSS', 30_000, 100);
    replica.assertRunning();
    const errors = (await env.logs(replica)).filter((l) => l.includes('"level":"error"'));
    expect(errors).toEqual([]);
  });
});
