/**
 * The scenario shared by the failover and recovery figures: one VMSS of four nodes and one VM,
 * a kubelet identity on every target (immutable), `n` identities bound to selectors `sel-<i>`; plus
 * the write bookkeeping (duplicate adds) both failover variants use.
 */
import { CHAOS_RG, CHAOS_SUB, type ChaosEnv } from './env.js';
import { quiescenceProblems } from './oracle.js';

/** The VMSS of the figures topology. */
export const FIGURES_VMSS = 'aks-figures-11223344-vmss';
/** The standalone VM of the failover topology. */
export const FIGURES_VM = 'aks-figures-vm-0';
/** Client ID of the kubelet identity (passed as `--immutable-user-msis`). */
export const KUBELET_CLIENT_ID = 'c0ffee00-0000-4000-8000-00000000beef';
const CRD = 'aadpodidentity.k8s.io/v1';

/** Waits `ms` (pacing of polling loops only). */
export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Creates identities `fig-0..n-1` (Azure + AzureIdentity + AzureIdentityBinding) and puts the kubelet identity on every target. */
export function setupIdentities(env: ChaosEnv, n: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const clientId = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    ids.push(env.azure.controls.addIdentity(CHAOS_SUB, CHAOS_RG, `fig-${i}`, { clientId }));
    env.kube.controls.putObject({ apiVersion: CRD, kind: 'AzureIdentity', metadata: { name: `fig-${i}`, namespace: 'default' }, spec: { type: 0, resourceID: ids[i], clientID: clientId } });
    env.kube.controls.putObject({ apiVersion: CRD, kind: 'AzureIdentityBinding', metadata: { name: `fig-${i}`, namespace: 'default' }, spec: { azureIdentity: `fig-${i}`, selector: `sel-${i}` } });
  }
  const kubelet = env.azure.controls.addIdentity(CHAOS_SUB, CHAOS_RG, 'kubelet', { clientId: KUBELET_CLIENT_ID });
  for (const t of env.targetIds()) env.azure.controls.setResourceIdentities(t, [kubelet], 'initial');
  return ids;
}

/** Creates a pod scheduled on `node` and labelled for `selector`. */
export function addPod(env: ChaosEnv, name: string, node: string, selector: string): void {
  env.kube.controls.putObject({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { aadpodidbinding: selector } },
    spec: { nodeName: node, containers: [{ name: 'app', image: 'busybox' }] },
  });
}

/** Polls the oracle until the cluster is converged or `timeoutMs` passed; returns the remaining problems. */
export async function converge(env: ChaosEnv, timeoutMs: number, guard?: () => void): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    guard?.();
    const problems = quiescenceProblems(env.clusterView(false), { targets: env.azureTargets(), changes: env.azure.controls.identityChanges(), broken: new Set() });
    if (problems.length === 0 || Date.now() > deadline) return problems;
    await pause(50);
  }
}

/** The part of an ARM PATCH the duplicate count reads. */
export interface WriteDelta {
  status: number;
  /** Anything naming the target uniquely (URL or path; compared lower-cased, query ignored). */
  target: string;
  add: readonly string[];
  remove: readonly string[];
}

/**
 * Identity additions, in accepted PATCHes taken in order, of an identity that was already present:
 * on the target from the start (`initial`: lower-cased target path → lower-cased identities) or
 * added by an earlier accepted PATCH with no removal since.
 */
export function duplicateAdds(writes: readonly WriteDelta[], initial: ReadonlyMap<string, readonly string[]> = new Map()): number {
  const present = new Set<string>();
  for (const [target, ids] of initial) for (const id of ids) present.add(`${targetKey(target)}|${id.toLowerCase()}`);
  let dup = 0;
  for (const w of writes) {
    if (w.status < 200 || w.status >= 300) continue;
    const target = targetKey(w.target);
    for (const id of w.remove) present.delete(`${target}|${id}`);
    for (const id of w.add) {
      if (present.has(`${target}|${id}`)) dup++;
      present.add(`${target}|${id}`);
    }
  }
  return dup;
}

function targetKey(t: string): string {
  const path = /^https?:/i.test(t) ? new URL(t).pathname : t.split('?')[0]!;
  return path.toLowerCase().replace(/\/+$/, '');
}
