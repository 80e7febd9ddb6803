/** The real-apiserver harness itself: admin and declared users authenticate, RBAC applies, stop() ends both processes. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { isEnvtestUndeclaredUserError, serviceAccountUser, startEnvtest, type Envtest } from '../support/envtest.js';

const sa = serviceAccountUser('ns-a', 'reader');

describe('envtest harness (real kube-apiserver)', () => {
  let env: Envtest;
  beforeAll(async () => {
    env = await startEnvtest({ users: [{ name: 'bob' }, sa] });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('gives a cluster-admin kubeconfig', async () => {
    const list = await env.kc.makeApiClient(CoreV1Api).listNamespace();
    expect(list.items.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(['default', 'kube-system']));
  });

  it('authenticates declared users, and RBAC denies what no role grants', async () => {
    const bob = env.kubeConfigFor('bob').makeApiClient(CoreV1Api);
    await expect(bob.listNamespace()).rejects.toMatchObject({ code: 403 });
    expect(() => env.tokenFor('carol')).toThrow(expect.objectContaining({ name: 'EnvtestUndeclaredUserError' }));
    let caught: unknown;
    try {
      env.tokenFor('bob', ['system:masters']);
    } catch (e) {
      caught = e;
    }
    expect(isEnvtestUndeclaredUserError(caught)).toBe(true);
  });

  it('a ServiceAccount subject in a RoleBinding applies to serviceAccountUser', async () => {
    const admin = env.kc.makeApiClient(CoreV1Api);
    await admin.createNamespace({ body: { metadata: { name: 'ns-a' } } });
    const rbac = env.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: 'ns-a', body: { metadata: { name: 'cm-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: 'ns-a',
      body: { metadata: { name: 'cm-reader' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' }, subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'ns-a' }] },
    });
    const reader = env.kubeConfigFor(sa.name, sa.groups).makeApiClient(CoreV1Api);
    const cms = await reader.listNamespacedConfigMap({ namespace: 'ns-a' });
    expect(Array.isArray(cms.items)).toBe(true);
    await expect(reader.listNamespacedSecret({ namespace: 'ns-a' })).rejects.toMatchObject({ code: 403 });
  });

  it('stop() ends both processes and removes the data dir', async () => {
    const other = await startEnvtest();
    const pids = execFileSync('pgrep', ['-f', other.dir]).toString().trim().split('\n').filter(Boolean);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    await other.stop();
    let left: string;
    try {
      left = execFileSync('pgrep', ['-f', other.dir]).toString().trim();
    } catch {
      left = '';
    }
    expect(left).toBe('');
    expect(existsSync(other.dir)).toBe(false);
  });
});
