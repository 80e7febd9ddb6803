/**
 * A test-only stand-in for upstream MIC v1.8 (standard mode), for migration and rollback runs. It
 * behaves as upstream does where another controller can observe it:
 * - leader election on the Endpoints lock alone (`control-plane.alpha.kubernetes.io/leader`, client-go's
 *   record and algorithm, upstream's timing ratios 1 : ½ : ¼), no release on shutdown;
 * - each cycle lists everything, computes the desired AzureAssignedIdentities with upstream's rules,
 *   creates them `Created` with upstream's finalizer, adds the identity to the VMSS/VM (fresh GET, then
 *   PATCH when absent), then patches `Assigned`; removes not-desired ones: identity removed from the
 *   target when the AAI was `Assigned` and no other desired AAI on that target uses it, then
 *   `Unassigned`, finalizer dropped, DELETE. No ownership records (upstream has none).
 * It is NOT upstream's code and covers only what the migration scenario exercises.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { parseAzureAssignedIdentity, parseAzureIdentity, parseAzureIdentityBinding, parseNodeInfo, parsePodInfo } from '../../controller/api/guards.js';
import { GROUP, PLURALS, VERSION, type AzureAssignedIdentity } from '../../controller/api/types.js';
import type { CloudProvider } from '../../controller/cloud/provider.js';
import { LeaderElector } from '../../controller/kube/leader-election.js';
import type { Logger } from '../../controller/observability/logger.js';
import { KubeAssignedIdentityWriter } from '../../controller/reconcile/aai-writer.js';
import { computeDesired, type DesiredAssignment } from '../../controller/reconcile/desired.js';
import { diffAssignments } from '../../controller/reconcile/diff.js';
import { resolveNodeTarget } from '../../controller/reconcile/targets.js';
import { tryParseIdentityResourceId } from '../../controller/api/resource-id.js';
import { systemClock } from '../../controller/util/clock.js';

/** Options of {@link UpstreamMicActor}. */
export interface UpstreamMicOptions {
  name: string;
  kc: KubeConfig;
  cloud: CloudProvider;
  subscriptionId: string;
  resourceGroup: string;
  namespace: string;
  lockName: string;
  /** Upstream's `--leader-election-duration` (15 s there); renew ½, retry ¼ of it. */
  leaseDurationMs: number;
  /** Pause between cycles (upstream: event-driven plus a resync). */
  cycleIntervalMs: number;
  logger: Logger;
  /** Leadership terms, for the write-attribution invariant. */
  onTerm?: (start: number, end: number | undefined) => void;
}

/** See the module comment. */
export class UpstreamMicActor {
  readonly name: string;
  readonly elector: LeaderElector;
  readonly #o: UpstreamMicOptions;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #writer: KubeAssignedIdentityWriter;
  #loop: Promise<void> | undefined;
  cycles = 0;
  errors = 0;

  constructor(o: UpstreamMicOptions) {
    this.#o = o;
    this.name = o.name;
    this.#core = o.kc.makeApiClient(CoreV1Api);
    this.#custom = o.kc.makeApiClient(CustomObjectsApi);
    this.#writer = new KubeAssignedIdentityWriter(this.#custom);
    let termStart = 0;
    this.elector = new LeaderElector({
      endpointsApi: this.#core,
      namespace: o.namespace,
      name: o.lockName,
      identity: o.name,
      leaseDurationMs: o.leaseDurationMs,
      renewDeadlineMs: o.leaseDurationMs / 2,
      retryPeriodMs: o.leaseDurationMs / 4,
      clock: systemClock,
      logger: o.logger,
      onStartedLeading: (signal) => {
        termStart = Date.now();
        o.onTerm?.(termStart, undefined);
        this.#loop = this.#run(signal);
      },
      onStoppedLeading: () => o.onTerm?.(termStart, Date.now()),
    });
  }

  /** True while it leads. */
  get leading(): boolean {
    return this.elector.isLeader();
  }

  start(): void {
    this.elector.start();
  }

  /** Like a pod deletion: stops at once, finishing the write in flight; the Endpoints lock is NOT released. */
  async stop(): Promise<void> {
    await this.elector.stop();
    await this.#loop;
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.#cycle(signal);
        this.cycles++;
      } catch (err) {
        this.errors++;
        this.#o.logger.warn('upstream actor cycle failed', { err });
      }
      await systemClock.sleep(this.#o.cycleIntervalMs, signal).catch(() => undefined);
    }
  }

  async #cycle(signal: AbortSignal): Promise<void> {
    const live = (): boolean => !signal.aborted && this.elector.isLeader();
    if (!live()) return;
    const list = async (plural: string): Promise<unknown[]> =>
      ((await this.#custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as { items: unknown[] }).items;
    const [pods, nodes, identities, bindings, assigned] = await Promise.all([
      this.#core.listPodForAllNamespaces().then((l) => l.items.map(parsePodInfo)),
      this.#core.listNode().then((l) => l.items.map(parseNodeInfo)),
      list(PLURALS.AzureIdentity).then((l) => l.map(parseAzureIdentity)),
      list(PLURALS.AzureIdentityBinding).then((l) => l.map(parseAzureIdentityBinding)),
      list(PLURALS.AzureAssignedIdentity).then((l) => l.map(parseAzureAssignedIdentity)),
    ]);
    const snapshot = { pods, nodes: new Map(nodes.map((n) => [n.name, n])), identities, bindings, assigned };
    const { desired } = computeDesired(snapshot, false);
    const diff = diffAssignments(desired, assigned);
    const defaults = { subscriptionId: this.#o.subscriptionId, resourceGroup: this.#o.resourceGroup };
    const targetOf = (node: string) => resolveNodeTarget(node, snapshot.nodes.get(node), defaults);
    // Identities in use per target (upstream's "in use" check on removal).
    const inUse = new Map<string, Set<string>>();
    for (const d of desired.values()) {
      const r = targetOf(d.nodeName);
      if (r.ok && d.identityId) (inUse.get(r.key) ?? inUse.set(r.key, new Set()).get(r.key)!).add(d.identityId);
    }
    const assign = async (d: DesiredAssignment, aai: AzureAssignedIdentity): Promise<void> => {
      if (d.identityId) {
        const r = targetOf(d.nodeName);
        if (!r.ok) return;
        const current = await this.#o.cloud.getIdentities(r.target, signal);
        if (!current.userAssigned.has(d.identityId)) {
          if (!live()) return;
          await this.#o.cloud.updateIdentities(r.target, [d.identityId], [], current, signal);
        }
      }
      if (!live()) return;
      await this.#writer.setStatus(aai, 'Assigned');
    };
    for (const d of diff.create) {
      if (!live()) return;
      const created = await this.#writer.create({ ...d.aai, status: { ...d.aai.status, status: 'Created' } });
      await assign(d, created);
    }
    for (const { existing, desired: d } of [...diff.update, ...diff.unchanged]) {
      if (existing.status?.status === 'Assigned' || existing.status?.status === '') {
        if (diff.unchanged.some((u) => u.existing === existing)) continue;
      }
      if (!live()) return;
      const body = { ...d.aai, metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, nodename: d.nodeName } }, status: { ...d.aai.status, status: 'Created' as const } };
      const written = diff.update.some((u) => u.existing === existing) ? await this.#writer.replace(body) : existing;
      await assign(d, written);
    }
    for (const aai of diff.remove) {
      if (!live()) return;
      const node = aai.spec.nodename ?? '';
      const r = targetOf(node);
      const id = tryParseIdentityResourceId(aai.spec.azureIdentityRef?.spec?.resourceID ?? '')?.canonical;
      const status = aai.status?.status ?? '';
      if (r.ok && id && (status === 'Assigned' || status === '') && !inUse.get(r.key)?.has(id) && !aai.metadata.deletionTimestamp) {
        const current = await this.#o.cloud.getIdentities(r.target, signal);
        if (current.userAssigned.has(id)) {
          if (!live()) return;
          await this.#o.cloud.updateIdentities(r.target, [], [id], current, signal);
        }
      }
      if (!live()) return;
      await this.#writer.remove(aai);
    }
  }
}
