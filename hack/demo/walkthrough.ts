/**
 * The demo walkthrough (after the upstream tutorial): emulated cluster + two MIC replicas, an
 * AzureIdentity and binding, a labelled pod whose identity gets assigned on the VMSS, the pod's
 * deletion and the unassignment, then an identity MIC may not assign and the Warning it causes.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { assignedIdentityName } from '../../controller/api/naming.js';
import { vmssId } from '../emulators/azure/index.js';
import { launchEmulators } from '../emulators/launch.js';
import { defaultTopology, type Topology } from '../emulators/topology.js';
import { DemoCluster } from './cluster.js';
import { parseEnvFile } from './env-file.js';
import { pollUntil, type Seen } from './poll.js';
import { freePort, Replica } from './replicas.js';
import type { DemoSession } from './session.js';
import { formatSeconds, type Say, type StepRunner } from './steps.js';

/** Settings of one walkthrough. */
export interface WalkthroughOptions {
  stateDir: string;
  stepTimeoutMs: number;
  lroLatencyMs: number;
  /** Node binary for the replicas. */
  nodePath: string;
  /** Built controller entry point (`dist/controller/main.js`). */
  micMain: string;
}

/** Names used by the walkthrough (all in namespace `default`). */
export const DEMO_NAMES = {
  namespace: 'default',
  lease: 'aad-pod-identity-mic',
  replicas: ['mic-a', 'mic-b'],
  identity: 'demo-identity',
  binding: 'demo-identity-binding',
  selector: 'demo',
  pod: 'demo',
  azureIdentity: 'identity-1',
  forbiddenAzureIdentity: 'identity-forbidden',
  forbiddenIdentity: 'forbidden-identity',
  forbiddenBinding: 'forbidden-identity-binding',
  forbiddenSelector: 'forbidden',
  forbiddenPod: 'demo-forbidden',
} as const;

/** Expected reason of the Warning for an identity MIC may not assign. */
export const FORBIDDEN_REASON = 'IdentityForbidden';

/** Titles of every step, in order (the summary lists the ones not reached as SKIPPED). */
export const STEP_TITLES = [
  'Start the Azure and Kubernetes emulators (CRDs, default topology)',
  'Start two MIC replicas',
  'Leader election',
  `Create AzureIdentity ${DEMO_NAMES.identity} and AzureIdentityBinding ${DEMO_NAMES.binding}`,
  `Start pod ${DEMO_NAMES.pod} and wait for its AzureAssignedIdentity to be Assigned`,
  'Show the VMSS identities in Azure',
  `Delete pod ${DEMO_NAMES.pod}: identity unassigned, kubelet identity kept`,
  `Create ${DEMO_NAMES.forbiddenIdentity} (no Managed Identity Operator) with a binding and pod ${DEMO_NAMES.forbiddenPod}`,
  `Wait for a Warning Event (${FORBIDDEN_REASON}) naming the problem`,
  'Both MIC replicas still healthy',
] as const;

const CLIENT_IDS = {
  'identity-1': '1d000001-0000-4000-8000-000000000001',
  'identity-2': '1d000002-0000-4000-8000-000000000002',
  'identity-forbidden': '1d0000ff-0000-4000-8000-0000000000ff',
} as const;

/** The default topology, with fixed client IDs so the AzureIdentity objects can name them. */
function demoTopology(): Topology {
  const topo = defaultTopology();
  topo.identities = topo.identities.map((i) => ({ ...i, clientId: CLIENT_IDS[i.name as keyof typeof CLIENT_IDS] ?? i.clientId }));
  return topo;
}

const shortId = (armId: string): string => armId.split('/').at(-1) ?? armId;
const sameId = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** A precondition of the walkthrough did not hold (the message says what was observed). */
export class DemoCheckError extends Error {
  override readonly name = 'DemoCheckError';
}

/** True for {@link DemoCheckError}. */
export function isDemoCheckError(e: unknown): e is DemoCheckError {
  return e instanceof DemoCheckError;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new DemoCheckError(`${what} is not available (an earlier step did not finish)`);
  return value;
}

/** Runs every step in order; the first failure is thrown (as DemoStepError) and the rest recorded as skipped. */
export async function runWalkthrough(session: DemoSession, runner: StepRunner, opts: WalkthroughOptions): Promise<void> {
  const N = DEMO_NAMES;
  const guard = (): void => session.assertReplicasRunning();
  const wait = <T>(what: string, check: (seen: Seen) => Promise<T | undefined | false>): Promise<T> =>
    pollUntil(check, { what, timeoutMs: opts.stepTimeoutMs, intervalMs: 100, guard });
  const em = () => need(session.emulators, 'the emulators');
  const cluster = () => need(session.cluster, 'the cluster client');
  const vmss = (): { id: string; name: string } => {
    const e = em();
    const name = need(e.topology.vmss[0]?.name, 'a VMSS in the topology');
    return { id: vmssId(e.topology.subscription, e.topology.resourceGroup, name), name };
  };
  const vmssIdentities = (): string[] => em().azure.controls.getResourceIdentities(vmss().id).userAssigned;
  const kubeletId = (): string => need(em().identities[need(em().topology.kubeletIdentity, 'the kubelet identity').name], 'the kubelet identity ID');
  const aaiName = assignedIdentityName(N.pod, N.namespace, N.identity);
  const forbiddenAaiName = assignedIdentityName(N.forbiddenPod, N.namespace, N.forbiddenIdentity);
  let forbiddenId: string | undefined;

  const steps: ((say: Say) => Promise<string | void>)[] = [
    // 1. Emulators.
    async (say) => {
      await access(opts.micMain).catch((err: unknown) => {
        throw new DemoCheckError(`controller not built: ${opts.micMain} is missing (run make build)`, { cause: err });
      });
      session.emulators = await launchEmulators({ stateDir: opts.stateDir, topology: demoTopology(), lroLatencyMs: opts.lroLatencyMs });
      session.cluster = DemoCluster.fromKubeconfig(session.emulators.files.kubeconfig);
      const e = session.emulators;
      say(`Azure (ARM, Entra ID, IMDS): ${e.azure.armUrl}   Kubernetes API: ${e.kube.url}`);
      say(`state dir: ${path.resolve(opts.stateDir)} (kubeconfig, azure.json, environment.json, ca.pem, env)`);
      say(`nodes: ${e.nodes.map((n) => n.name).join(', ')}`);
      say(`VMSS ${vmss().name} starts with: ${vmssIdentities().map(shortId).join(', ') || '(no identities)'}`);
      say(`ARM identity updates take ${opts.lroLatencyMs} ms (long-running operation)`);
      return `${e.nodes.length} nodes, ${Object.keys(e.identities).length} identities`;
    },
    // 2. Replicas.
    async (say) => {
      const e = em();
      const env = { ...process.env, ...parseEnvFile(await readFile(e.files.env, 'utf8')) };
      for (const name of N.replicas) {
        const probePort = await freePort();
        const promPort = await freePort();
        const args = [
          '--kubeconfig', e.files.kubeconfig,
          '--cloudconfig', e.files.azureJson,
          '--leader-election-instance', name,
          '--http-probe-port', String(probePort),
          '--prometheus-port', String(promPort),
          '--log-format', 'json',
        ];
        const logFile = path.join(path.resolve(opts.stateDir), `${name}.log`);
        const replica = await Replica.start({ name, nodePath: opts.nodePath, mainPath: opts.micMain, args, env, logFile, probePort });
        session.replicas.push(replica);
        say(`${name}: pid ${String(replica.pid)}, probes :${probePort}, metrics :${promPort}, log ${logFile}`);
      }
      for (const r of session.replicas) {
        const h = await wait(`${r.name} to answer /healthz on port ${r.probePort}`, async () => r.healthz());
        say(`${r.name}: /healthz ${h.status} ${h.body}`);
      }
      return `${session.replicas.length} replicas answering`;
    },
    // 3. Leader.
    async (say) => {
      const started = Date.now();
      const holder = await wait(`Lease ${N.namespace}/${N.lease} to have a holder`, async (seen) => {
        const h = await cluster().leaseHolder(N.namespace, N.lease);
        seen(h === undefined ? 'no Lease or no holder yet' : `holder ${h}`);
        return h;
      });
      if (!(N.replicas as readonly string[]).includes(holder)) throw new DemoCheckError(`Lease holder is "${holder}", which is none of ${N.replicas.join(', ')}`);
      const standby = N.replicas.filter((r) => r !== holder);
      say(`Lease ${N.namespace}/${N.lease}: holderIdentity=${holder} (elected within ${formatSeconds(Date.now() - started)})`);
      say(`leader: ${holder}   standby: ${standby.join(', ')}`);
      return `leader ${holder}`;
    },
    // 4. Identity + binding.
    async (say) => {
      const resourceId = need(em().identities[N.azureIdentity], `Azure identity ${N.azureIdentity}`);
      await cluster().createIdentity(N.identity, N.namespace, resourceId, CLIENT_IDS['identity-1']);
      say(`AzureIdentity ${N.namespace}/${N.identity}: type 0 (user-assigned), resourceID …/${shortId(resourceId)}`);
      await cluster().createBinding(N.binding, N.namespace, N.identity, N.selector);
      say(`AzureIdentityBinding ${N.namespace}/${N.binding}: azureIdentity ${N.identity}, selector ${N.selector}`);
      return 'created';
    },
    // 5. Pod → Assigned.
    async (say) => {
      const node = need(em().topology.vmss[0]?.nodes[0], 'a VMSS node');
      const started = Date.now();
      await cluster().createPod(N.pod, N.namespace, node, N.selector);
      say(`pod ${N.namespace}/${N.pod} (aadpodidbinding=${N.selector}) on node ${node}`);
      let lastStatus: string | undefined;
      const aai = await wait(`AzureAssignedIdentity ${N.namespace}/${aaiName} to be Assigned`, async (seen) => {
        const a = await cluster().getAssigned(aaiName, N.namespace);
        const status = a ? (a.status?.status ?? '(no status)') : '(absent)';
        if (status !== lastStatus) {
          say(`+${formatSeconds(Date.now() - started)}  AzureAssignedIdentity ${aaiName}: ${status}`);
          lastStatus = status;
        }
        seen(`status ${status}`);
        return a?.status?.status === 'Assigned' ? a : undefined;
      });
      const took = Date.now() - started;
      if (aai.spec.nodename !== node) throw new DemoCheckError(`AzureAssignedIdentity is for node ${aai.spec.nodename}, expected ${node}`);
      say(`identity assigned for pod ${N.pod} in ${formatSeconds(took)} (includes the ${opts.lroLatencyMs} ms ARM operation)`);
      return `Assigned after ${formatSeconds(took)}`;
    },
    // 6. VMSS identities.
    async (say) => {
      const ids = vmssIdentities();
      const wanted = need(em().identities[N.azureIdentity], `Azure identity ${N.azureIdentity}`);
      say(`VMSS ${vmss().name} user-assigned identities (Azure emulator):`);
      for (const id of ids) say(`  - ${shortId(id)}${sameId(id, kubeletId()) ? '  (kubelet identity)' : ''}${sameId(id, wanted) ? `  (assigned by MIC for ${N.identity})` : ''}`);
      const byMic = em().azure.controls.identityChanges(vmss().id).filter((c) => c.by === 'arm-client');
      for (const c of byMic) say(`  change through ARM: ${c.op} ${shortId(c.identity)}`);
      if (!ids.some((id) => sameId(id, wanted))) throw new DemoCheckError(`${N.azureIdentity} is not on the VMSS although the AzureAssignedIdentity says Assigned`);
      if (!ids.some((id) => sameId(id, kubeletId()))) throw new DemoCheckError('the kubelet identity is missing from the VMSS');
      return `${ids.length} identities on ${vmss().name}`;
    },
    // 7. Delete pod → unassigned.
    async (say) => {
      const wanted = need(em().identities[N.azureIdentity], `Azure identity ${N.azureIdentity}`);
      const started = Date.now();
      await cluster().deletePod(N.pod, N.namespace);
      say(`deleted pod ${N.namespace}/${N.pod}`);
      let aaiGoneAt: number | undefined;
      let vmssClearAt: number | undefined;
      await wait(`AzureAssignedIdentity ${aaiName} deleted and ${N.azureIdentity} removed from the VMSS`, async (seen) => {
        if (aaiGoneAt === undefined && !(await cluster().getAssigned(aaiName, N.namespace))) {
          aaiGoneAt = Date.now();
          say(`+${formatSeconds(aaiGoneAt - started)}  AzureAssignedIdentity ${aaiName} deleted`);
        }
        if (vmssClearAt === undefined && !vmssIdentities().some((id) => sameId(id, wanted))) {
          vmssClearAt = Date.now();
          say(`+${formatSeconds(vmssClearAt - started)}  ${N.azureIdentity} removed from VMSS ${vmss().name}`);
        }
        seen(`AzureAssignedIdentity ${aaiGoneAt ? 'deleted' : 'still present'}, VMSS ${vmssClearAt ? 'cleared' : `still has ${N.azureIdentity}`}`);
        return aaiGoneAt !== undefined && vmssClearAt !== undefined;
      });
      const ids = vmssIdentities();
      if (!ids.some((id) => sameId(id, kubeletId()))) throw new DemoCheckError(`the kubelet identity was removed from the VMSS (left: ${ids.map(shortId).join(', ') || 'none'})`);
      say(`VMSS ${vmss().name} now has: ${ids.map(shortId).join(', ')} (kubelet identity kept)`);
      return `unassigned after ${formatSeconds(Date.now() - started)}`;
    },
    // 8. Forbidden identity.
    async (say) => {
      const e = em();
      const resourceId = (forbiddenId = e.azure.controls.addIdentity(e.topology.subscription, e.topology.resourceGroup, N.forbiddenAzureIdentity, {
        clientId: CLIENT_IDS['identity-forbidden'],
        assignable: false,
      }));
      say(`Azure identity ${N.forbiddenAzureIdentity}: exists, but MIC's service principal lacks Managed Identity Operator on it`);
      await cluster().createIdentity(N.forbiddenIdentity, N.namespace, resourceId, CLIENT_IDS['identity-forbidden']);
      await cluster().createBinding(N.forbiddenBinding, N.namespace, N.forbiddenIdentity, N.forbiddenSelector);
      const node = need(e.topology.vmss[0]?.nodes[1] ?? e.topology.vmss[0]?.nodes[0], 'a VMSS node');
      await cluster().createPod(N.forbiddenPod, N.namespace, node, N.forbiddenSelector);
      say(`AzureIdentity ${N.forbiddenIdentity}, AzureIdentityBinding ${N.forbiddenBinding}, pod ${N.forbiddenPod} on ${node}`);
      return 'created';
    },
    // 9. Warning Event.
    async (say) => {
      const started = Date.now();
      const related = new Set<string>([`Pod/${N.forbiddenPod}`, `AzureIdentityBinding/${N.forbiddenBinding}`]);
      const event = await wait(`a Warning Event with reason ${FORBIDDEN_REASON} on pod ${N.forbiddenPod} or binding ${N.forbiddenBinding}`, async (seen) => {
        const warnings = (await cluster().warningEvents(N.namespace)).filter((ev) => related.has(`${ev.involvedObject.kind}/${ev.involvedObject.name}`));
        seen(warnings.length ? warnings.map((w) => `${w.involvedObject.kind}/${w.involvedObject.name} ${w.reason}: ${w.message}`).join(' | ') : 'no Warning Events for these objects');
        return warnings.find((w) => w.reason === FORBIDDEN_REASON);
      });
      say(`+${formatSeconds(Date.now() - started)}  Warning ${event.reason} on ${event.involvedObject.kind}/${event.involvedObject.name}`);
      const message = event.message ?? '';
      say(`message: ${message.length > 400 ? `${message.slice(0, 400)}…` : message}`);
      if (!/Managed Identity Operator/i.test(message)) {
        throw new DemoCheckError(`the ${FORBIDDEN_REASON} event does not tell the operator to grant Managed Identity Operator: "${message}"`);
      }
      const aai = await cluster().getAssigned(forbiddenAaiName, N.namespace);
      say(`AzureAssignedIdentity ${forbiddenAaiName}: ${aai ? (aai.status?.status ?? '(no status)') : '(absent)'}`);
      const forbidden = need(forbiddenId, `Azure identity ${N.forbiddenAzureIdentity}`);
      if (vmssIdentities().some((id) => sameId(id, forbidden))) {
        throw new DemoCheckError(`${N.forbiddenAzureIdentity} is on the VMSS although ARM must refuse it`);
      }
      return `${event.reason} on ${event.involvedObject.kind}/${event.involvedObject.name}`;
    },
    // 10. Replicas healthy.
    async (say) => {
      for (const r of session.replicas) {
        r.assertRunning();
        const h = await r.healthz();
        say(`${r.name}: /healthz ${h.status} ${h.body}`);
        if (h.status !== 200) throw new DemoCheckError(`${r.name} /healthz answered ${h.status}: ${h.body}`);
      }
      return 'both running';
    },
  ];

  for (const [i, step] of steps.entries()) {
    try {
      await runner.run(STEP_TITLES[i]!, step);
    } catch (err) {
      runner.skip(STEP_TITLES.slice(i + 1));
      throw err;
    }
  }
}
