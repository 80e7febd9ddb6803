/**
 * Durable record of which identities this controller added to which VM/VMSS. Only identities in the
 * record are ever removed, so an identity that was on a target before MIC acted (the kubelet
 * identity, one assigned by hand or by another tool) is never touched.
 *
 * Records are ConfigMaps in the controller's namespace, one per target, written *before* the ARM
 * write that adds an identity (write-ahead), and trimmed after a removal is confirmed. A record also
 * lists identities seen on the target that this controller did not add (`foreign`): adoption, which
 * runs at every leadership acquisition, never takes those over.
 */
import { createHash } from 'node:crypto';
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { targetArmId, targetKey, type Target } from '../cloud/provider.js';
import { isAlreadyExists, isConflict, isForbidden, isNotFound } from '../kube/client.js';

/** Label on every ownership ConfigMap. */
export const OWNERSHIP_LABEL = 'aadpodidentity.k8s.io/ownership-record';
/** Annotation holding the target's ARM ID. */
export const OWNERSHIP_TARGET_ANNOTATION = 'aadpodidentity.k8s.io/target';

/** Read/write access to ownership records. */
export interface OwnershipStore {
  /** Loads every record (called when leadership is acquired). */
  load(): Promise<void>;
  /** Identities owned on a target. */
  owned(key: string): ReadonlySet<string>;
  /** Identities seen on the target that this controller did not add (never adopted). */
  foreign(key: string): ReadonlySet<string>;
  /** True when a record exists for the target (adoption already happened). */
  hasRecord(key: string): boolean;
  /** Every target with a record. */
  targets(): Map<string, Target>;
  /** Adds identities to the record (creating it; they stop being foreign), persisted before returning. */
  add(target: Target, ids: readonly string[]): Promise<void>;
  /** Records identities seen on the target that this controller did not add, persisted before returning. */
  addForeign(target: Target, ids: readonly string[]): Promise<void>;
  /** Removes identities from the record, persisted before returning (an empty record stays: it marks adoption done). */
  remove(target: Target, ids: readonly string[]): Promise<void>;
  /** Forgets a target entirely (it no longer exists in ARM). */
  drop(target: Target): Promise<void>;
}

/** In-memory store for unit tests and dry runs. */
export class MemoryOwnershipStore implements OwnershipStore {
  readonly #records = new Map<string, { target: Target; owned: Set<string>; foreign: Set<string> }>();

  async load(): Promise<void> {}

  owned(key: string): ReadonlySet<string> {
    return this.#records.get(key)?.owned ?? new Set();
  }

  foreign(key: string): ReadonlySet<string> {
    return this.#records.get(key)?.foreign ?? new Set();
  }

  hasRecord(key: string): boolean {
    return this.#records.has(key);
  }

  targets(): Map<string, Target> {
    return new Map([...this.#records].map(([k, v]) => [k, v.target]));
  }

  async add(target: Target, ids: readonly string[]): Promise<void> {
    const rec = this.#record(target);
    for (const id of ids) {
      rec.owned.add(id);
      rec.foreign.delete(id);
    }
  }

  async addForeign(target: Target, ids: readonly string[]): Promise<void> {
    const rec = this.#record(target);
    for (const id of ids) rec.foreign.add(id);
  }

  #record(target: Target): { target: Target; owned: Set<string>; foreign: Set<string> } {
    const key = targetKey(target);
    const rec = this.#records.get(key) ?? { target, owned: new Set<string>(), foreign: new Set<string>() };
    this.#records.set(key, rec);
    return rec;
  }

  async remove(target: Target, ids: readonly string[]): Promise<void> {
    const key = targetKey(target);
    const rec = this.#records.get(key) ?? { target, owned: new Set<string>(), foreign: new Set<string>() };
    for (const id of ids) rec.owned.delete(id);
    this.#records.set(key, rec);
  }

  async drop(target: Target): Promise<void> {
    this.#records.delete(targetKey(target));
  }
}

/** ConfigMap name of a target's record: stable and DNS-safe. */
export function ownershipConfigMapName(key: string): string {
  return `mic-owned-${createHash('sha256').update(key).digest('hex').slice(0, 20)}`;
}

function parseList(cm: V1ConfigMap, field: 'owned' | 'foreign'): Set<string> {
  return new Set(
    (cm.data?.[field] ?? '')
      .split('\n')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

function targetFromRecord(cm: V1ConfigMap): Target | undefined {
  const d = cm.data ?? {};
  if ((d.kind !== 'vm' && d.kind !== 'vmss') || !d.subscriptionId || !d.resourceGroup || !d.name) return undefined;
  return { kind: d.kind, subscriptionId: d.subscriptionId, resourceGroup: d.resourceGroup, name: d.name };
}


interface StoredRecord {
  target: Target;
  owned: Set<string>;
  foreign: Set<string>;
  resourceVersion?: string;
}

/** Ownership records stored as ConfigMaps (optimistic concurrency, merge on conflict). */
export class ConfigMapOwnershipStore implements OwnershipStore {
  readonly #core: CoreV1Api;
  readonly #namespace: string;
  readonly #records = new Map<string, StoredRecord>();

  constructor(core: CoreV1Api, namespace: string) {
    this.#core = core;
    this.#namespace = namespace;
  }

  /**
   * True after {@link load} found ConfigMap `list` forbidden (upstream's RBAC grants only get, create,
   * update): records are then read by name with {@link loadByName} for the targets the cluster shows.
   */
  listForbidden = false;

  async load(): Promise<void> {
    let list;
    try {
      list = await this.#core.listNamespacedConfigMap({ namespace: this.#namespace, labelSelector: `${OWNERSHIP_LABEL}=true` });
    } catch (err) {
      if (!isForbidden(err)) throw err;
      this.listForbidden = true;
      this.#records.clear();
      return;
    }
    this.listForbidden = false;
    this.#records.clear();
    for (const cm of list.items) {
      const target = targetFromRecord(cm);
      if (!target) continue;
      this.#records.set(targetKey(target), this.#fromConfigMap(cm, target));
    }
  }

  /** The in-memory record of a stored ConfigMap (one conversion for list and by-name reads). */
  #fromConfigMap(cm: V1ConfigMap, target: Target): StoredRecord {
    return { target, owned: parseList(cm, 'owned'), foreign: parseList(cm, 'foreign'), resourceVersion: cm.metadata?.resourceVersion };
  }

  /**
   * Reads the records of `targets` by name (no list needed; names derive from target keys). Targets
   * without a record are left unknown, so a later write creates (or merges into) theirs.
   */
  async loadByName(targets: Iterable<Target>): Promise<void> {
    for (const target of targets) {
      const key = targetKey(target);
      if (this.#records.has(key)) continue;
      try {
        const cm = await this.#core.readNamespacedConfigMap({ name: ownershipConfigMapName(key), namespace: this.#namespace });
        this.#records.set(key, this.#fromConfigMap(cm, targetFromRecord(cm) ?? target));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  owned(key: string): ReadonlySet<string> {
    return this.#records.get(key)?.owned ?? new Set();
  }

  hasRecord(key: string): boolean {
    return this.#records.has(key);
  }

  targets(): Map<string, Target> {
    return new Map([...this.#records].map(([k, v]) => [k, v.target]));
  }

  foreign(key: string): ReadonlySet<string> {
    return this.#records.get(key)?.foreign ?? new Set();
  }

  async add(target: Target, ids: readonly string[]): Promise<void> {
    await this.#mutate(target, (owned, foreign) =>
      ids.forEach((id) => {
        owned.add(id);
        foreign.delete(id);
      }),
    );
  }

  async addForeign(target: Target, ids: readonly string[]): Promise<void> {
    await this.#mutate(target, (_owned, foreign) => ids.forEach((id) => foreign.add(id)));
  }

  async remove(target: Target, ids: readonly string[]): Promise<void> {
    await this.#mutate(target, (owned) => ids.forEach((id) => owned.delete(id)));
  }

  async drop(target: Target): Promise<void> {
    const key = targetKey(target);
    try {
      await this.#core.deleteNamespacedConfigMap({ name: ownershipConfigMapName(key), namespace: this.#namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.#records.delete(key);
  }

  #body(key: string, target: Target, owned: Set<string>, foreign: Set<string>, resourceVersion?: string): V1ConfigMap {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: ownershipConfigMapName(key),
        namespace: this.#namespace,
        resourceVersion,
        labels: { [OWNERSHIP_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'aad-pod-identity-mic' },
        annotations: { [OWNERSHIP_TARGET_ANNOTATION]: targetArmId(target) },
      },
      data: {
        kind: target.kind,
        subscriptionId: target.subscriptionId,
        resourceGroup: target.resourceGroup,
        name: target.name,
        owned: [...owned].sort().join('\n'),
        foreign: [...foreign].sort().join('\n'),
      },
    };
  }

  async #mutate(target: Target, change: (owned: Set<string>, foreign: Set<string>) => void): Promise<void> {
    const key = targetKey(target);
    for (let attempt = 0; ; attempt++) {
      const rec = this.#records.get(key);
      const owned = new Set(rec?.owned ?? []);
      const foreign = new Set(rec?.foreign ?? []);
      change(owned, foreign);
      try {
        const saved = rec?.resourceVersion
          ? await this.#core.replaceNamespacedConfigMap({
              name: ownershipConfigMapName(key),
              namespace: this.#namespace,
              body: this.#body(key, rec.target, owned, foreign, rec.resourceVersion),
            })
          : await this.#core.createNamespacedConfigMap({ namespace: this.#namespace, body: this.#body(key, target, owned, foreign) });
        this.#records.set(key, { target: rec?.target ?? target, owned, foreign, resourceVersion: saved.metadata?.resourceVersion });
        return;
      } catch (err) {
        if (attempt >= 4 || !(isConflict(err) || isAlreadyExists(err) || (isNotFound(err) && rec))) throw err;
        // Someone (a previous leader) wrote it meanwhile: re-read and apply our change on top.
        try {
          const cm = await this.#core.readNamespacedConfigMap({ name: ownershipConfigMapName(key), namespace: this.#namespace });
          this.#records.set(key, { target: targetFromRecord(cm) ?? target, owned: parseList(cm, 'owned'), foreign: parseList(cm, 'foreign'), resourceVersion: cm.metadata?.resourceVersion });
        } catch (readErr) {
          if (!isNotFound(readErr)) throw readErr;
          this.#records.delete(key);
        }
      }
    }
  }
}
