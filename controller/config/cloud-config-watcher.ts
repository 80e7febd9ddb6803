/**
 * Re-reads the azure.json (`--cloudconfig`) when it changes, as upstream MIC's file watcher did, so
 * that `az aks update-credentials` (a new service principal secret written to the file) takes effect
 * without a restart.
 *
 * The file's directory is watched as well as the file: a Kubernetes Secret or ConfigMap volume
 * replaces its content by swapping the `..data` symlink, which a watch on the old file never sees,
 * while a file bind-mounted from the host (AKS's `/etc/kubernetes/azure.json`) reports its writes
 * only to a watch on the file itself.
 * Every event re-reads the file after a short quiet period; unchanged content is ignored, so bursts
 * of events (and the periodic re-read that backs up missed events) cost one read each.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../util/clock.js';
import { loadCloudConfig, type CloudConfig } from './cloud-config.js';
import { ConfigError } from './errors.js';

/** Options of {@link CloudConfigWatcher}. */
export interface CloudConfigWatcherOptions {
  /** The azure.json path (`--cloudconfig`). */
  path: string;
  /** Environment the config is resolved against (cloud endpoint file, workload-identity variables). */
  env: NodeJS.ProcessEnv;
  /** Called with the new config after the file changed and parsed. Must not throw. */
  onReload: (config: CloudConfig) => void;
  /** Called when the changed file cannot be read or parsed (once per distinct content). Must not throw. */
  onError: (err: ConfigError) => void;
  /**
   * Called when the directory cannot be watched (e.g. the inotify watch limit is reached); the
   * periodic re-read still picks changes up. Must not throw.
   */
  onWatchFailed?: (err: unknown) => void;
  /** Quiet period after the last event before the file is read (default 250 ms). */
  debounceMs?: number;
  /** Re-read period that backs up missed filesystem events (default 60 s; 0 disables). */
  pollIntervalMs?: number;
  clock?: Clock;
}

/** Watches one azure.json; see the module comment. */
export class CloudConfigWatcher {
  readonly #o: CloudConfigWatcherOptions;
  readonly #clock: Clock;
  #watcher: FSWatcher | undefined;
  /** Watch on the file's current inode (re-armed after each change, as the file may be replaced). */
  #fileWatcher: FSWatcher | undefined;
  #cancelDebounce: (() => void) | undefined;
  #cancelPoll: (() => void) | undefined;
  /** The file content last acted on (parsed or reported as bad). */
  #lastText: string | undefined;
  #closed = false;

  constructor(options: CloudConfigWatcherOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Starts watching; the file's current content is the baseline (no reload for it). */
  start(): void {
    this.#lastText = this.#readText();
    try {
      this.#watcher = watch(dirname(this.#o.path), { persistent: false }, () => this.#schedule());
      this.#watcher.on('error', (err) => {
        this.#watcher?.close();
        this.#watcher = undefined;
        this.#o.onWatchFailed?.(err);
      });
    } catch (err) {
      this.#o.onWatchFailed?.(err);
    }
    this.#watchFile();
    this.#schedulePoll();
  }

  /** Stops watching. */
  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#fileWatcher?.close();
    this.#cancelDebounce?.();
    this.#cancelPoll?.();
  }

  /** Re-reads the file now (what an event triggers after the quiet period). */
  check(): void {
    if (this.#closed) return;
    const text = this.#readText();
    if (text === undefined || text === this.#lastText) return;
    this.#lastText = text;
    this.#watchFile();
    let config: CloudConfig;
    try {
      config = loadCloudConfig(this.#o.path, this.#o.env);
    } catch (err) {
      this.#o.onError(err instanceof ConfigError ? err : new ConfigError(`cannot reload cloud config ${this.#o.path}`, { cause: err }));
      return;
    }
    this.#o.onReload(config);
  }

  /** The file's text, or undefined while it cannot be read (mid-swap: the next event retries). */
  #readText(): string | undefined {
    try {
      return readFileSync(this.#o.path, 'utf8');
    } catch {
      return undefined;
    }
  }

  /** (Re-)watches the file itself; best effort, the directory watch and the re-read back it up. */
  #watchFile(): void {
    this.#fileWatcher?.close();
    this.#fileWatcher = undefined;
    try {
      const watcher = watch(this.#o.path, { persistent: false }, () => this.#schedule());
      watcher.on('error', () => watcher.close());
      this.#fileWatcher = watcher;
    } catch {
      // Mid-swap or unsupported: the directory watch and the periodic re-read still apply.
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#cancelDebounce?.();
    this.#cancelDebounce = this.#clock.setTimer(() => {
      this.#cancelDebounce = undefined;
      this.check();
    }, this.#o.debounceMs ?? 250);
  }

  #schedulePoll(): void {
    const every = this.#o.pollIntervalMs ?? 60_000;
    if (this.#closed || every <= 0) return;
    this.#cancelPoll = this.#clock.setTimer(() => {
      this.check();
      this.#schedulePoll();
    }, every);
  }
}
