/**
 * Kubernetes writes of AzureAssignedIdentities, in upstream's lifecycle: POST (Created or Assigned),
 * PUT on update, status patch on the main resource (there is no status subresource), and on removal
 * `Unassigned` + finalizer removal in one optimistic patch followed by DELETE.
 */
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { isNotFound } from '../kube/client.js';
import { AAI_FINALIZER, GROUP, PLURALS, VERSION, type AssignedIdentityState, type AzureAssignedIdentity } from '../api/types.js';


/** The writes the sync loop makes to AzureAssignedIdentities. */
export interface AssignedIdentityWriter {
  create(body: AzureAssignedIdentity): Promise<AzureAssignedIdentity>;
  replace(body: AzureAssignedIdentity): Promise<AzureAssignedIdentity>;
  setStatus(aai: AzureAssignedIdentity, status: AssignedIdentityState): Promise<AzureAssignedIdentity>;
  /** Marks `Unassigned`, drops our finalizer, deletes. Already-gone objects count as success. */
  remove(aai: AzureAssignedIdentity): Promise<void>;
}

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** {@link AssignedIdentityWriter} on client-node's CustomObjectsApi. */
export class KubeAssignedIdentityWriter implements AssignedIdentityWriter {
  readonly #api: CustomObjectsApi;

  constructor(api: CustomObjectsApi) {
    this.#api = api;
  }

  async create(body: AzureAssignedIdentity): Promise<AzureAssignedIdentity> {
    return (await this.#api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: body.metadata.namespace ?? 'default',
      plural: PLURALS.AzureAssignedIdentity,
      body,
    })) as AzureAssignedIdentity;
  }

  async replace(body: AzureAssignedIdentity): Promise<AzureAssignedIdentity> {
    return (await this.#api.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: body.metadata.namespace ?? 'default',
      plural: PLURALS.AzureAssignedIdentity,
      name: body.metadata.name,
      body,
    })) as AzureAssignedIdentity;
  }

  async setStatus(aai: AzureAssignedIdentity, status: AssignedIdentityState): Promise<AzureAssignedIdentity> {
    return (await this.#api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: aai.metadata.namespace ?? 'default',
        plural: PLURALS.AzureAssignedIdentity,
        name: aai.metadata.name,
        body: { status: { status } },
      },
      MERGE,
    )) as AzureAssignedIdentity;
  }

  async remove(aai: AzureAssignedIdentity): Promise<void> {
    const ref = {
      group: GROUP,
      version: VERSION,
      namespace: aai.metadata.namespace ?? 'default',
      plural: PLURALS.AzureAssignedIdentity,
      name: aai.metadata.name,
    };
    try {
      const finalizers = aai.metadata.finalizers ?? [];
      if (finalizers.includes(AAI_FINALIZER) || aai.status?.status !== 'Unassigned') {
        await this.#api.patchNamespacedCustomObject(
          {
            ...ref,
            body: {
              metadata: { resourceVersion: aai.metadata.resourceVersion, finalizers: finalizers.filter((f) => f !== AAI_FINALIZER) },
              status: { status: 'Unassigned' },
            },
          },
          MERGE,
        );
      }
      if (!aai.metadata.deletionTimestamp) await this.#api.deleteNamespacedCustomObject(ref);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** In-memory writer for unit tests: applies writes to a map and records the calls. */
export class MemoryAssignedIdentityWriter implements AssignedIdentityWriter {
  readonly objects = new Map<string, AzureAssignedIdentity>();
  readonly calls: string[] = [];
  #rv = 1;

  #key(aai: AzureAssignedIdentity): string {
    return `${aai.metadata.namespace ?? 'default'}/${aai.metadata.name}`;
  }

  async create(body: AzureAssignedIdentity): Promise<AzureAssignedIdentity> {
    this.calls.push(`create ${this.#key(body)} ${body.status?.status ?? ''}`);
    const obj = structuredClone(body);
    obj.metadata.resourceVersion = String(++this.#rv);
    this.objects.set(this.#key(obj), obj);
    return obj;
  }

  async replace(body: AzureAssignedIdentity): Promise<AzureAssignedIdentity> {
    this.calls.push(`update ${this.#key(body)} ${body.status?.status ?? ''}`);
    const obj = structuredClone(body);
    obj.metadata.resourceVersion = String(++this.#rv);
    this.objects.set(this.#key(obj), obj);
    return obj;
  }

  async setStatus(aai: AzureAssignedIdentity, status: AssignedIdentityState): Promise<AzureAssignedIdentity> {
    this.calls.push(`status ${this.#key(aai)} ${status}`);
    const obj = structuredClone(this.objects.get(this.#key(aai)) ?? aai);
    obj.status = { ...(obj.status ?? {}), status };
    obj.metadata.resourceVersion = String(++this.#rv);
    this.objects.set(this.#key(obj), obj);
    return obj;
  }

  async remove(aai: AzureAssignedIdentity): Promise<void> {
    this.calls.push(`delete ${this.#key(aai)}`);
    this.objects.delete(this.#key(aai));
  }
}
