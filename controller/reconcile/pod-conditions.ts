/**
 * Writes the identity readiness condition through the pods/status subresource with a strategic merge
 * patch (conditions merge by `type`, so the kubelet's own conditions are untouched).
 */
import { PatchStrategy, setHeaderOptions, type CoreV1Api } from '@kubernetes/client-node';
import { IDENTITY_READY_CONDITION, type PodInfo } from '../api/types.js';
import type { PodConditionWriter } from './controller.js';
import type { PodReadiness } from './readiness.js';

/** {@link PodConditionWriter} on CoreV1Api. */
export class KubePodConditionWriter implements PodConditionWriter {
  readonly #core: CoreV1Api;

  constructor(core: CoreV1Api) {
    this.#core = core;
  }

  async setCondition(pod: PodInfo, r: PodReadiness): Promise<void> {
    await this.#core.patchNamespacedPodStatus(
      {
        name: pod.name,
        namespace: pod.namespace,
        body: {
          status: {
            conditions: [
              { type: IDENTITY_READY_CONDITION, status: r.status, reason: r.reason, message: r.message.slice(0, 1024), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
            ],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
  }
}
