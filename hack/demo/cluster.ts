/**
 * The Kubernetes side of the demo, through the unmodified client-node and the kubeconfig a person
 * would use: create identities, bindings and pods; read AzureAssignedIdentities, the leader Lease
 * and Warning Events.
 */
import { ApiException, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, type CoreV1Event } from '@kubernetes/client-node';
import { API_VERSION, BINDING_LABEL, GROUP, PLURALS, VERSION, type AzureAssignedIdentity } from '../../controller/api/types.js';

/** True for a Kubernetes 404 answer. */
export function isKubeNotFound(e: unknown): boolean {
  return e instanceof ApiException && e.code === 404;
}

/** Typed access to the few objects the demo touches. */
export class DemoCluster {
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #coordination: CoordinationV1Api;

  /** Uses an already loaded KubeConfig. */
  constructor(kc: KubeConfig) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#coordination = kc.makeApiClient(CoordinationV1Api);
  }

  /** Loads a kubeconfig file (the one printed for kubectl). */
  static fromKubeconfig(file: string): DemoCluster {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    return new DemoCluster(kc);
  }

  /** Creates a user-assigned AzureIdentity (`spec.type: 0`). */
  async createIdentity(name: string, namespace: string, resourceId: string, clientId: string): Promise<void> {
    await this.#custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURALS.AzureIdentity,
      body: { apiVersion: API_VERSION, kind: 'AzureIdentity', metadata: { name, namespace }, spec: { type: 0, resourceID: resourceId, clientID: clientId } },
    });
  }

  /** Creates an AzureIdentityBinding of `identity` to pods labelled `aadpodidbinding: <selector>`. */
  async createBinding(name: string, namespace: string, identity: string, selector: string): Promise<void> {
    await this.#custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURALS.AzureIdentityBinding,
      body: { apiVersion: API_VERSION, kind: 'AzureIdentityBinding', metadata: { name, namespace }, spec: { azureIdentity: identity, selector } },
    });
  }

  /** Creates a pod already scheduled on `node` and labelled for `selector` (there is no kubelet: it stays Pending). */
  async createPod(name: string, namespace: string, node: string, selector: string): Promise<void> {
    await this.#core.createNamespacedPod({
      namespace,
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace, labels: { [BINDING_LABEL]: selector } },
        spec: { nodeName: node, containers: [{ name: 'demo', image: 'mcr.microsoft.com/oss/azure/aad-pod-identity/demo:v1.8.0' }] },
      },
    });
  }

  /** Deletes a pod (absent is fine). */
  async deletePod(name: string, namespace: string): Promise<void> {
    try {
      await this.#core.deleteNamespacedPod({ name, namespace });
    } catch (err) {
      if (!isKubeNotFound(err)) throw err;
    }
  }

  /** The AzureAssignedIdentity, or undefined when it does not exist. */
  async getAssigned(name: string, namespace: string): Promise<AzureAssignedIdentity | undefined> {
    try {
      return (await this.#custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.AzureAssignedIdentity, name })) as AzureAssignedIdentity;
    } catch (err) {
      if (isKubeNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every AzureAssignedIdentity in the cluster. */
  async listAssigned(): Promise<AzureAssignedIdentity[]> {
    const list = (await this.#custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.AzureAssignedIdentity })) as { items?: AzureAssignedIdentity[] };
    return list.items ?? [];
  }

  /** `spec.holderIdentity` of a Lease, or undefined when the Lease is absent or unheld. */
  async leaseHolder(namespace: string, name: string): Promise<string | undefined> {
    try {
      const lease = await this.#coordination.readNamespacedLease({ name, namespace });
      return lease.spec?.holderIdentity || undefined;
    } catch (err) {
      if (isKubeNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every Event in `namespace` (core/v1). */
  async events(namespace: string): Promise<CoreV1Event[]> {
    return (await this.#core.listNamespacedEvent({ namespace })).items;
  }

  /** Warning Events in `namespace` (core/v1). */
  async warningEvents(namespace: string): Promise<CoreV1Event[]> {
    return (await this.events(namespace)).filter((e) => e.type === 'Warning');
  }
}
