/**
 * Everything the demo started (emulators and MIC replicas), so it can always be stopped: after the
 * walkthrough, on failure, on Ctrl-C, and as a last resort when the process exits.
 */
import type { LaunchedEmulators } from '../emulators/launch.js';
import type { DemoCluster } from './cluster.js';
import type { Replica } from './replicas.js';

/** Resources of one demo run. */
export class DemoSession {
  /** The running emulators, once started. */
  emulators: LaunchedEmulators | undefined;
  /** Kubernetes access through the written kubeconfig, once the emulators run. */
  cluster: DemoCluster | undefined;
  /** The MIC replicas started so far. */
  readonly replicas: Replica[] = [];
  #stopping: Promise<void> | undefined;

  /** Throws when a replica has exited on its own (used as the guard of every wait). */
  assertReplicasRunning(): void {
    for (const r of this.replicas) r.assertRunning();
  }

  /** Stops the replicas (SIGTERM, then SIGKILL), then the emulators. Safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.allSettled(this.replicas.map((r) => r.stop()));
      await this.emulators?.stop();
    })();
    return this.#stopping;
  }

  /** Synchronous last resort (process `exit` handler): SIGKILL every replica still running. */
  killNow(): void {
    for (const r of this.replicas) r.killNow();
  }
}
