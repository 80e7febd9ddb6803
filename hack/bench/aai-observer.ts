/**
 * Watches AzureAssignedIdentities the way NMI would and records, per pod, the first time one of
 * its AAIs is seen `Assigned`. Its own requests carry the query marker {@link OBSERVER_MARKER} so
 * they can be left out of the controller's Kubernetes request counts.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';

/** Query parameter added to the observer's watch requests (ignored by the API server). */
export const OBSERVER_MARKER = 'benchObserver';

const AAI_PATH = '/apis/aadpodidentity.k8s.io/v1/azureassignedidentities';

interface AaiLike {
  spec?: { pod?: string; podNamespace?: string };
  status?: { status?: string };
}

/** Records pod → first Assigned time (real ms). */
export class AaiObserver {
  readonly #watch: Watch;
  readonly #assignedAt = new Map<string, number>();
  readonly #live = new Set<string>();
  #abort: AbortController | undefined;
  #stopped = false;
  #restarts = 0;

  constructor(kc: KubeConfig) {
    this.#watch = new Watch(kc);
  }

  /** Starts watching (and re-watches whenever the stream ends until {@link stop}). */
  async start(): Promise<void> {
    if (this.#stopped) return;
    this.#live.clear();
    this.#abort = await this.#watch.watch(
      AAI_PATH,
      { [OBSERVER_MARKER]: 'true' },
      (phase, obj: AaiLike & { metadata?: { name?: string; namespace?: string } }) => {
        const name = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
        if (phase === 'DELETED') this.#live.delete(name);
        if (phase !== 'ADDED' && phase !== 'MODIFIED') return;
        this.#live.add(name);
        if (obj.status?.status !== 'Assigned' || !obj.spec?.pod) return;
        const key = `${obj.spec.podNamespace ?? 'default'}/${obj.spec.pod}`;
        if (!this.#assignedAt.has(key)) this.#assignedAt.set(key, Date.now());
      },
      () => {
        if (this.#stopped) return;
        this.#restarts++;
        setTimeout(() => void this.start().catch(() => undefined), 100);
      },
    );
  }

  /** When the pod `ns/name` was first seen with an Assigned AAI (real ms), if it was. */
  assignedAt(podKey: string): number | undefined {
    return this.#assignedAt.get(podKey);
  }

  /** Number of pods seen Assigned so far. */
  get assignedCount(): number {
    return this.#assignedAt.size;
  }

  /** AzureAssignedIdentities that exist now (as last seen by the watch). */
  get liveCount(): number {
    return this.#live.size;
  }

  /** How often the watch had to be re-established. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Stops watching. */
  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }
}
