/**
 * The pause switch: while a ConfigMap named `--pause-configmap` exists in the controller's namespace
 * (and its `data.paused` is not "false"), the controller keeps watching and reporting but issues no
 * ARM write. For AKS upgrades, where upstream users had to scale MIC to zero (#676).
 *
 * The ConfigMap is watched (list+watch filtered by name). Under upstream's RBAC, which grants
 * ConfigMap get but not list/watch, it is read by name every poll interval instead, and the missing
 * permission is reported once.
 */
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { isForbidden, isNotFound, KUBE_REQUEST_TIMEOUT_MS, makeApiClient } from '../kube/client.js';
import { SupervisedInformer } from '../kube/informer.js';
import type { MissingPermission } from '../kube/permissions.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';

/** The ConfigMap reads the switch makes; `CoreV1Api` satisfies it. */
export interface PauseConfigMapApi {
  readNamespacedConfigMap(param: { name: string; namespace: string }): Promise<V1ConfigMap>;
  listNamespacedConfigMap(param: { namespace: string; fieldSelector?: string; limit?: number }): Promise<{ items: V1ConfigMap[] }>;
}

/** Options of {@link PauseSwitch}. */
export interface PauseSwitchOptions {
  kc: KubeConfig;
  /** Client for the by-name reads (default built from `kc`). */
  core?: PauseConfigMapApi;
  namespace: string;
  name: string;
  clock: Clock;
  logger: Logger;
  /** Called when the paused state changes. */
  onChange: (paused: boolean) => void;
  /** Told once when list/watch is refused and the switch falls back to polling by name. */
  onPermissionMissing?: (p: MissingPermission) => void;
  /** Poll interval of the by-name fallback (default 10 s). */
  pollIntervalMs?: number;
}

/** True when the ConfigMap means "paused". */
export function isPauseConfigMap(cm: V1ConfigMap | undefined): boolean {
  if (!cm || cm.metadata?.deletionTimestamp) return false;
  return (cm.data?.paused ?? 'true').trim().toLowerCase() !== 'false';
}

/** Watches (or polls) the pause ConfigMap. */
export class PauseSwitch {
  readonly #informer: SupervisedInformer<V1ConfigMap>;
  readonly #core: PauseConfigMapApi;
  readonly #o: PauseSwitchOptions;
  #paused = false;
  #mode: 'idle' | 'watch' | 'poll' = 'idle';
  #stop = new AbortController();
  #poller: Promise<void> | undefined;

  constructor(o: PauseSwitchOptions) {
    this.#o = o;
    const core = makeApiClient(o.kc, CoreV1Api, { requestTimeoutMs: KUBE_REQUEST_TIMEOUT_MS });
    this.#core = o.core ?? core;
    const fieldSelector = `metadata.name=${o.name}`;
    this.#informer = new SupervisedInformer<V1ConfigMap>({
      kc: o.kc,
      name: 'pause-configmap',
      path: `/api/v1/namespaces/${o.namespace}/configmaps`,
      fieldSelector,
      list: async () => (await core.listNamespacedConfigMap({ namespace: o.namespace, fieldSelector })) as unknown as { items: unknown[] },
      parse: (x) => x as V1ConfigMap,
      clock: o.clock,
      logger: o.logger,
    });
    const update = (): void => this.#set(isPauseConfigMap(this.#informer.get(this.#o.namespace, this.#o.name)));
    this.#informer.on('add', update);
    this.#informer.on('update', update);
    this.#informer.on('delete', update);
  }

  /** Current state. */
  get paused(): boolean {
    return this.#paused;
  }

  /** `watch` (list+watch), `poll` (by name, list forbidden) or `idle` (not started / deciding). */
  get mode(): 'idle' | 'watch' | 'poll' {
    return this.#mode;
  }

  start(): void {
    this.#stop = new AbortController();
    this.#poller = this.#choose(this.#stop.signal);
  }

  async stop(): Promise<void> {
    this.#stop.abort(new Error('pause switch stopped'));
    await this.#poller;
    await this.#informer.stop();
  }

  /** Probes list permission once, then watches or polls. */
  async #choose(signal: AbortSignal): Promise<void> {
    const { namespace, name } = this.#o;
    try {
      await this.#core.listNamespacedConfigMap({ namespace, fieldSelector: `metadata.name=${name}`, limit: 1 });
    } catch (err) {
      if (isForbidden(err)) return this.#poll(signal);
      // Anything else: the informer has its own retry and back-off.
    }
    if (signal.aborted) return;
    this.#mode = 'watch';
    this.#informer.start();
  }

  async #poll(signal: AbortSignal): Promise<void> {
    const { namespace, name } = this.#o;
    this.#mode = 'poll';
    this.#o.onPermissionMissing?.({
      verb: 'list',
      resource: 'configmaps',
      namespace,
      consequence: `the pause switch ConfigMap ${name} is read by name every ${Math.round((this.#o.pollIntervalMs ?? 10_000) / 1000)} s instead of watched`,
    });
    while (!signal.aborted) {
      try {
        this.#set(isPauseConfigMap(await this.#core.readNamespacedConfigMap({ name, namespace })));
      } catch (err) {
        if (isNotFound(err)) this.#set(false);
        else this.#o.logger.warn('Pause switch read failed; keeping the last state', { configMap: `${namespace}/${name}`, err });
      }
      await this.#o.clock.sleep(this.#o.pollIntervalMs ?? 10_000, signal).catch(() => undefined);
    }
  }

  #set(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    this.#o.logger.info(paused ? 'ARM writes paused' : 'ARM writes resumed', { configMap: `${this.#o.namespace}/${this.#o.name}` });
    this.#o.onChange(paused);
  }
}
