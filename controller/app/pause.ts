/**
 * The pause switch: while a ConfigMap named `--pause-configmap` exists in the controller's namespace
 * (and its `data.paused` is not "false"), the controller keeps watching and reporting but issues no
 * ARM write. For AKS upgrades, where upstream users had to scale MIC to zero (#676).
 */
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { SupervisedInformer } from '../kube/informer.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';

/** Options of {@link PauseSwitch}. */
export interface PauseSwitchOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  clock: Clock;
  logger: Logger;
  /** Called when the paused state changes. */
  onChange: (paused: boolean) => void;
}

/** True when the ConfigMap means "paused". */
export function isPauseConfigMap(cm: V1ConfigMap | undefined): boolean {
  if (!cm || cm.metadata?.deletionTimestamp) return false;
  return (cm.data?.paused ?? 'true').trim().toLowerCase() !== 'false';
}

/** Watches the pause ConfigMap. */
export class PauseSwitch {
  readonly #informer: SupervisedInformer<V1ConfigMap>;
  readonly #o: PauseSwitchOptions;
  #paused = false;

  constructor(o: PauseSwitchOptions) {
    this.#o = o;
    const core = o.kc.makeApiClient(CoreV1Api);
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
    const update = (): void => this.#refresh();
    this.#informer.on('add', update);
    this.#informer.on('update', update);
    this.#informer.on('delete', update);
  }

  /** Current state. */
  get paused(): boolean {
    return this.#paused;
  }

  start(): void {
    this.#informer.start();
  }

  async stop(): Promise<void> {
    await this.#informer.stop();
  }

  #refresh(): void {
    const paused = isPauseConfigMap(this.#informer.get(this.#o.namespace, this.#o.name));
    if (paused === this.#paused) return;
    this.#paused = paused;
    this.#o.logger.info(paused ? 'ARM writes paused' : 'ARM writes resumed', { configMap: `${this.#o.namespace}/${this.#o.name}` });
    this.#o.onChange(paused);
  }
}
