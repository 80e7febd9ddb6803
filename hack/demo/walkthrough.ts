/**
 * The demo walkthrough (after the upstream tutorial): emulated cluster + two MIC replicas, an
 * AzureIdentity and binding, a labelled pod whose identity gets assigned on the VMSS, the pod's
 * deletion and the unassignment; identity validation through arm-msi (an identity absent from Azure
 * held back alone next to a healthy one, a wrong clientID reported); then an identity MIC may not
 * assign and the Warning it causes.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { assignedIdentityName } from '../../controller/api/naming.js';
import { identityId, vmssId } from '../emulators/azure/index.js';
import { launchEmulators } from '../emulators/launch.js';
import { defaultTopology, type Topology } from '../emulators/topology.js';
import { DemoCluster } from './cluster.js';
import { parseEnvFile } from './env-file.js';
import { describeEvents, eventsAbout, type EventTarget } from './events.js';
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
  healthyAzureIdentity: 'identity-2',
  healthyIdentity: 'healthy-identity',
  healthyBinding: 'healthy-identity-binding',
  healthySelector: 'healthy',
  healthyPod: 'demo-healthy',
  missingAzureIdentity: 'identity-missing',
  missingIdentity: 'missing-identity',
  missingBinding: 'missing-identity-binding',
  missingSelector: 'missing',
  missingPod: 'demo-missing',
  mismatchIdentity: 'mismatch-identity',
  mismatchBinding: 'mismatch-identity-binding',
  mismatchSelector: 'mismatch',
  mismatchPod: 'demo-mismatch',
  forbiddenAzureIdentity: 'identity-forbidden',
  forbiddenIdentity: 'forbidden-identity',
  forbiddenBinding: 'forbidden-identity-binding',
  forbiddenSelector: 'forbidden',
  forbiddenPod: 'demo-forbidden',
} as const;

/** Expected reason of the Warning for an identity MIC may not assign. */
export const FORBIDDEN_REASON = 'IdentityForbidden';

/** Expected reasons of the identity validation Warnings (controller/cloud/identity-screen.ts). */
export const VALIDATION_REASONS = { notFound: 'IdentityNotFound', clientIdMismatch: 'IdentityClientIDMismatch' } as const;

/** Titles of every step, in order (the summary lists the ones not reached as SKIPPED). */
export const STEP_TITLES = [
  'Start the Azure and Kubernetes emulators (CRDs, default topology)',
  'Start two MIC replicas',
  'Leader election',
  `Create AzureIdentity ${DEMO_NAMES.identity} and AzureIdentityBinding ${DEMO_NAMES.binding}`,
  `Start pod ${DEMO_NAMES.pod} and wait for its AzureAssignedIdentity to be Assigned`,
  'Show the VMSS identities in Azure',
  `Delete pod ${DEMO_NAMES.pod}: identity unassigned, kubelet identity kept`,
  `Create ${DEMO_NAMES.missingIdentity} (its Azure identity does not exist) and ${DEMO_NAMES.healthyIdentity}, pods ${DEMO_NAMES.missingPod} and ${DEMO_NAMES.healthyPod} on the same VMSS`,
  `${VALIDATION_REASONS.notFound} on the pod and the AzureIdentity, ${DEMO_NAMES.healthyPod} Assigned, no ARM write rejected`,
  `Create ${DEMO_NAMES.mismatchIdentity} with a wrong clientID and pod ${DEMO_NAMES.mismatchPod}: ${VALIDATION_REASONS.clientIdMismatch}`,
  `Create ${DEMO_NAMES.forbiddenIdentity} (no Managed Identity Operator) with a binding and pod ${DEMO_NAMES.forbiddenPod}`,
  `Wait for a Warning Event (${FORBIDDEN_REASON}) naming the problem`,
  'Both MIC replicas still healthy',
] as const;

const CLIENT_IDS = {
  'identity-1': '1d000001-0000-4000-8000-000000000001',
  'identity-2': '1d000002-0000-4000-8000-000000000002',
  'identity-forbidden': '1d0000ff-0000-4000-8000-0000000000ff',
} as const;

/** Client ID written into the AzureIdentity of the identity that does not exist. */
const MISSING_CLIENT_ID = '1d0000aa-0000-4000-8000-0000000000aa';
/** A client ID that is not `identity-1`'s, for the mismatch scene. */
const WRONG_CLIENT_ID = '1d0000ee-0000-4000-8000-0000000000ee';

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
  let missingId: string | undefined;
  /** Wall-clock ms at which the missing-identity scene began (ARM writes are counted from then). */
  let missingSceneFrom: number | undefined;
  const events = async (target: EventTarget) => eventsAbout(await cluster().events(N.namespace), target);
  const warningOf = async (target: EventTarget, reason: string) => (await events(target)).find((ev) => ev.type === 'Warning' && ev.reason === reason);
  const describe = async (say: Say, target: EventTarget): Promise<void> => {
    say(`kubectl describe ${target.kind.toLowerCase()} ${target.name} -n ${N.namespace}   (Events)`);
    for (const line of describeEvents(await events(target), Date.now())) say(`  ${line}`);
  };
  const assignedStatus = async (name: string): Promise<string> => {
    const a = await cluster().getAssigned(name, N.namespace);
    return a ? (a.status?.status ?? '(no status)') : '(absent)';
  };

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
    // 8. An AzureIdentity whose Azure identity does not exist, next to a healthy one on the same VMSS.
    async (say) => {
      const e = em();
      const vmssNodes = need(e.topology.vmss[0]?.nodes, 'the VMSS nodes');
      const healthyNode = need(vmssNodes[0], 'a VMSS node');
      const missingNode = need(vmssNodes[1] ?? vmssNodes[0], 'a VMSS node');
      const healthyId = need(e.identities[N.healthyAzureIdentity], `Azure identity ${N.healthyAzureIdentity}`);
      missingId = identityId(e.topology.subscription, e.topology.resourceGroup, N.missingAzureIdentity);
      if (e.identities[N.missingAzureIdentity] !== undefined) throw new DemoCheckError(`${N.missingAzureIdentity} exists in the emulator, the scene needs it absent`);
      missingSceneFrom = Date.now();
      say(`Azure identity ${N.missingAzureIdentity}: does not exist (a typo or a deleted identity)`);
      await cluster().createIdentity(N.missingIdentity, N.namespace, missingId, MISSING_CLIENT_ID);
      await cluster().createBinding(N.missingBinding, N.namespace, N.missingIdentity, N.missingSelector);
      say(`AzureIdentity ${N.missingIdentity}: resourceID …/${shortId(missingId)}; AzureIdentityBinding ${N.missingBinding}, selector ${N.missingSelector}`);
      await cluster().createIdentity(N.healthyIdentity, N.namespace, healthyId, CLIENT_IDS['identity-2']);
      await cluster().createBinding(N.healthyBinding, N.namespace, N.healthyIdentity, N.healthySelector);
      say(`AzureIdentity ${N.healthyIdentity}: resourceID …/${shortId(healthyId)}; AzureIdentityBinding ${N.healthyBinding}, selector ${N.healthySelector}`);
      await Promise.all([
        cluster().createPod(N.missingPod, N.namespace, missingNode, N.missingSelector),
        cluster().createPod(N.healthyPod, N.namespace, healthyNode, N.healthySelector),
      ]);
      say(`pods ${N.missingPod} on ${missingNode} and ${N.healthyPod} on ${healthyNode} (both VMSS ${vmss().name}), created together`);
      return 'created';
    },
    // 9. The missing identity is held back alone, with Events; the healthy one is assigned.
    async (say) => {
      const started = Date.now();
      const from = need(missingSceneFrom, 'the start of the scene');
      const missing = need(missingId, `the resource ID of ${N.missingAzureIdentity}`);
      const healthyId = need(em().identities[N.healthyAzureIdentity], `Azure identity ${N.healthyAzureIdentity}`);
      const healthyAai = assignedIdentityName(N.healthyPod, N.namespace, N.healthyIdentity);
      const missingAai = assignedIdentityName(N.missingPod, N.namespace, N.missingIdentity);
      const podTarget: EventTarget = { kind: 'Pod', name: N.missingPod };
      const identityTarget: EventTarget = { kind: 'AzureIdentity', name: N.missingIdentity };
      const at: Record<'pod' | 'identity' | 'healthy', number | undefined> = { pod: undefined, identity: undefined, healthy: undefined };
      const mark = (key: keyof typeof at, line: string): void => {
        if (at[key] !== undefined) return;
        at[key] = Date.now() - started;
        say(`+${formatSeconds(at[key])}  ${line}`);
      };
      await wait(`Warning ${VALIDATION_REASONS.notFound} on Pod/${N.missingPod} and AzureIdentity/${N.missingIdentity}, and AzureAssignedIdentity ${healthyAai} Assigned`, async (seen) => {
        if (await warningOf(podTarget, VALIDATION_REASONS.notFound)) mark('pod', `Warning ${VALIDATION_REASONS.notFound} on Pod/${N.missingPod}`);
        if (await warningOf(identityTarget, VALIDATION_REASONS.notFound)) mark('identity', `Warning ${VALIDATION_REASONS.notFound} on AzureIdentity/${N.missingIdentity}`);
        const status = await assignedStatus(healthyAai);
        if (status === 'Assigned') mark('healthy', `AzureAssignedIdentity ${healthyAai}: Assigned`);
        seen(`pod event ${at.pod === undefined ? 'missing' : 'seen'}, AzureIdentity event ${at.identity === undefined ? 'missing' : 'seen'}, ${healthyAai} ${status}`);
        return Object.values(at).every((t) => t !== undefined);
      });
      await describe(say, podTarget);
      await describe(say, identityTarget);
      const identityEvent = need(await warningOf(identityTarget, VALIDATION_REASONS.notFound), 'the IdentityNotFound event');
      if (!(identityEvent.message ?? '').includes(N.missingAzureIdentity)) {
        throw new DemoCheckError(`the ${VALIDATION_REASONS.notFound} event does not name ${N.missingAzureIdentity}: "${identityEvent.message ?? ''}"`);
      }
      const missingStatus = await assignedStatus(missingAai);
      say(`AzureAssignedIdentity ${missingAai}: ${missingStatus} (held back)`);
      if (missingStatus === 'Assigned') throw new DemoCheckError(`${missingAai} is Assigned although ${N.missingAzureIdentity} does not exist`);
      const ids = vmssIdentities();
      say(`VMSS ${vmss().name} now has: ${ids.map(shortId).join(', ')}`);
      if (!ids.some((id) => sameId(id, healthyId))) throw new DemoCheckError(`${N.healthyAzureIdentity} is not on the VMSS although ${healthyAai} is Assigned`);
      if (ids.some((id) => sameId(id, missing))) throw new DemoCheckError(`${N.missingAzureIdentity} is on the VMSS although it does not exist`);
      const writes = em().azure.controls.auditLog().filter((a) => a.kind === 'write' && a.at >= from);
      const rejected = writes.filter((a) => a.status >= 400 || a.status === 0);
      say(`ARM writes since the scene began: ${writes.length}, rejected: ${rejected.length}`);
      if (rejected.length > 0) {
        throw new DemoCheckError(`ARM rejected ${rejected.length} write(s): ${rejected.map((a) => `${a.method} ${a.path} → ${a.status}`).join('; ')}`);
      }
      return `${VALIDATION_REASONS.notFound} on Pod and AzureIdentity after ${formatSeconds(Math.max(at.pod ?? 0, at.identity ?? 0))}; ${N.healthyPod} Assigned after ${formatSeconds(at.healthy ?? 0)}; 0 of ${writes.length} ARM writes rejected`;
    },
    // 10. An AzureIdentity whose clientID is not the one Azure reports.
    async (say) => {
      const e = em();
      const resourceId = need(e.identities[N.azureIdentity], `Azure identity ${N.azureIdentity}`);
      const node = need(e.topology.vmss[0]?.nodes.at(-1), 'a VMSS node');
      await cluster().createIdentity(N.mismatchIdentity, N.namespace, resourceId, WRONG_CLIENT_ID);
      await cluster().createBinding(N.mismatchBinding, N.namespace, N.mismatchIdentity, N.mismatchSelector);
      say(`AzureIdentity ${N.mismatchIdentity}: resourceID …/${shortId(resourceId)}, clientID ${WRONG_CLIENT_ID} (Azure: ${CLIENT_IDS['identity-1']})`);
      const started = Date.now();
      await cluster().createPod(N.mismatchPod, N.namespace, node, N.mismatchSelector);
      say(`AzureIdentityBinding ${N.mismatchBinding}, pod ${N.mismatchPod} on ${node}`);
      const identityTarget: EventTarget = { kind: 'AzureIdentity', name: N.mismatchIdentity };
      const podTarget: EventTarget = { kind: 'Pod', name: N.mismatchPod };
      const [event] = await wait(`Warning ${VALIDATION_REASONS.clientIdMismatch} on AzureIdentity/${N.mismatchIdentity} and Pod/${N.mismatchPod}`, async (seen) => {
        const onIdentity = await warningOf(identityTarget, VALIDATION_REASONS.clientIdMismatch);
        const onPod = await warningOf(podTarget, VALIDATION_REASONS.clientIdMismatch);
        seen(`AzureIdentity event ${onIdentity ? 'seen' : 'missing'}, pod event ${onPod ? 'seen' : 'missing'}`);
        return onIdentity && onPod ? [onIdentity, onPod] : undefined;
      });
      const took = Date.now() - started;
      say(`+${formatSeconds(took)}  Warning ${VALIDATION_REASONS.clientIdMismatch} on AzureIdentity/${N.mismatchIdentity} and Pod/${N.mismatchPod}`);
      await describe(say, identityTarget);
      const message = event.message ?? '';
      if (!message.includes(CLIENT_IDS['identity-1']) || !message.includes(WRONG_CLIENT_ID)) {
        throw new DemoCheckError(`the ${VALIDATION_REASONS.clientIdMismatch} event does not name both client IDs: "${message}"`);
      }
      // A mismatch is a warning, not a hold: the identity exists, so it is still assigned.
      const mismatchAai = assignedIdentityName(N.mismatchPod, N.namespace, N.mismatchIdentity);
      await wait(`AzureAssignedIdentity ${mismatchAai} to be Assigned`, async (seen) => {
        const status = await assignedStatus(mismatchAai);
        seen(`status ${status}`);
        return status === 'Assigned';
      });
      say(`+${formatSeconds(Date.now() - started)}  AzureAssignedIdentity ${mismatchAai}: Assigned, with the Warning above (NMI token requests fail until spec.clientID is fixed)`);
      return `${VALIDATION_REASONS.clientIdMismatch} after ${formatSeconds(took)}, then Assigned`;
    },
    // 11. Forbidden identity.
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
    // 12. Warning Event.
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
    // 13. Replicas healthy.
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
