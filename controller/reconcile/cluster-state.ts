/**
 * The controller's view of the cluster: five supervised informers (labelled pods, nodes, identities,
 * bindings, assigned identities) plus a write-through overlay so objects this controller just wrote
 * or deleted are seen by the next pass before the watch echoes them.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import {
  parseAzureAssignedIdentity,
  parseAzureIdentity,
  parseAzureIdentityBinding,
  parseNodeInfo,
  parsePodInfo,
} from '../api/guards.js';
import {
  BINDING_LABEL,
  GROUP,
  PLURALS,
  VERSION,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type NodeInfo,
  type ObjectMeta,
  type PodInfo,
} from '../api/types.js';
import { SupervisedInformer, listPages, type InformerState } from '../kube/informer.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import type { ClusterState } from './controller.js';
import { Interner } from './interner.js';
import { objectKey, splitObjectKey, type Snapshot } from './snapshot.js';

/** Options of {@link InformerClusterState}. */
export interface InformerClusterStateOptions {
  kc: KubeConfig;
  clock: Clock;
  logger: Logger;
  /** Called on any relevant change (wire to `controller.requestSync`). Must not block. */
  onChange: () => void;
  /** Called when an object fails validation (for an Event). */
  onInvalid?: (kind: string, obj: unknown, err: unknown) => void;
  /** Called on informer state changes (metrics, readiness). */
  onStateChange?: (resource: string, state: InformerState) => void;
  relistIntervalMs?: number;
}

/** Resource version as a number when it is one (the emulator's and etcd's are). */
function rvNumber(rv: string | undefined): number | undefined {
  if (!rv || !/^\d+$/.test(rv)) return undefined;
  return Number(rv);
}

const OVERLAY_TTL_MS = 60_000;

function slimMeta(m: ObjectMeta, i?: Interner): ObjectMeta {
  return { name: str(i, m.name), namespace: str(i, m.namespace), uid: str(i, m.uid), resourceVersion: str(i, m.resourceVersion) };
}

function str<S extends string | undefined>(i: Interner | undefined, s: S): S {
  return i ? i.string(s) : s;
}

/**
 * The cached form of an AzureAssignedIdentity: the embedded identity and binding are cut down to what
 * the planner reads (names, resourceVersions, identity type/resourceID/clientID) and `managedFields`
 * are dropped. At 10,000 assignments this halves the controller's heap; objects are never written
 * back from the cache (updates are built from the desired state). With an {@link Interner}, equal
 * embedded references are one shared frozen object and repeated strings are shared.
 */
export function slimAssignedIdentity(aai: AzureAssignedIdentity, i?: Interner): AzureAssignedIdentity {
  const { managedFields: _managedFields, ...metadata } = aai.metadata;
  const idRef = aai.spec.azureIdentityRef;
  const bRef = aai.spec.azureBindingRef;
  const identityRef = (): AzureAssignedIdentity['spec']['azureIdentityRef'] => ({
    metadata: slimMeta(idRef.metadata, i),
    spec: { type: idRef.spec?.type, resourceID: str(i, idRef.spec?.resourceID), clientID: str(i, idRef.spec?.clientID) },
  });
  const bindingRef = (): AzureAssignedIdentity['spec']['azureBindingRef'] => ({
    metadata: slimMeta(bRef.metadata, i),
    spec: { azureIdentity: str(i, bRef.spec?.azureIdentity ?? ''), selector: str(i, bRef.spec?.selector ?? '') },
  });
  if (i) {
    metadata.namespace = i.string(metadata.namespace);
    if (metadata.labels) metadata.labels = i.stringMap(metadata.labels);
    if (metadata.finalizers) metadata.finalizers = metadata.finalizers.map((f) => i.string(f));
  }
  return {
    apiVersion: str(i, aai.apiVersion),
    kind: str(i, aai.kind),
    metadata,
    spec: {
      ...aai.spec,
      podNamespace: str(i, aai.spec.podNamespace),
      nodename: str(i, aai.spec.nodename),
      azureIdentityRef: i ? i.value(`identity\0${JSON.stringify(identityRef())}`, identityRef) : identityRef(),
      azureBindingRef: i ? i.value(`binding\0${JSON.stringify(bindingRef())}`, bindingRef) : bindingRef(),
    },
    status: aai.status && i ? { ...aai.status, status: i.string(aai.status.status) } : aai.status,
  };
}

/** The informer transform of Pods: {@link parsePodInfo} with repeated strings shared. */
export function cachedPodInfo(raw: unknown, i?: Interner): PodInfo {
  const p = parsePodInfo(raw);
  if (!i) return p;
  p.namespace = i.string(p.namespace);
  p.nodeName = i.string(p.nodeName);
  p.phase = i.string(p.phase);
  p.labels = i.stringMap(p.labels) ?? {};
  return p;
}

/** The informer transform of AzureAssignedIdentities: validated, then {@link slimAssignedIdentity}. */
export function cachedAssignedIdentity(raw: unknown, i?: Interner): AzureAssignedIdentity {
  return slimAssignedIdentity(parseAzureAssignedIdentity(raw), i);
}

/**
 * What the write-through overlay keeps of an object the API server returned for our write: the same
 * projection as the cache (the raw answer carries managedFields and the full embedded objects). An
 * answer that does not validate is kept as it is (the watch replaces it soon).
 */
function overlayForm(aai: AzureAssignedIdentity, i: Interner): AzureAssignedIdentity {
  try {
    return cachedAssignedIdentity(aai, i);
  } catch {
    return aai;
  }
}

/**
 * Informer-backed {@link ClusterState}. Each informer projects its objects (the `parse` transform):
 * pods to {@link PodInfo} via {@link cachedPodInfo} (name, namespace, uid, nodeName, labels, phase, timestamps, readiness
 * gates, the identity-ready condition), nodes to {@link NodeInfo} (name, providerID), assigned
 * identities through {@link slimAssignedIdentity}; identities and bindings are kept whole after
 * validation (few, small, and their full form is embedded into the assignments we write).
 */
export class InformerClusterState implements ClusterState {
  readonly pods: SupervisedInformer<PodInfo>;
  readonly nodes: SupervisedInformer<NodeInfo>;
  readonly identities: SupervisedInformer<AzureIdentity>;
  readonly bindings: SupervisedInformer<AzureIdentityBinding>;
  readonly assigned: SupervisedInformer<AzureAssignedIdentity>;
  readonly #clock: Clock;
  /** Shares repeated strings and embedded references between cached pods and assignments. */
  readonly #interner = new Interner();
  readonly #written = new Map<string, { obj: AzureAssignedIdentity; at: number }>();
  readonly #deleted = new Map<string, { at: number }>();

  constructor(o: InformerClusterStateOptions) {
    this.#clock = o.clock;
    const common = { kc: o.kc, clock: o.clock, logger: o.logger, relistIntervalMs: o.relistIntervalMs };
    // Lists are paged plain JSON and every object is projected by `parse` (the informer's transform)
    // as it arrives: the caches hold only what the planner reads (see InformerClusterState's doc).
    const make = <T>(name: string, kind: string, path: string, parse: (x: unknown) => T, labelSelector?: string): SupervisedInformer<T> => {
      const inf = new SupervisedInformer<T>({
        ...common,
        name,
        path,
        list: (signal) => listPages(o.kc, path, { labelSelector, signal }),
        parse,
        labelSelector,
        onInvalid: (obj, err) => o.onInvalid?.(kind, obj, err),
        onStateChange: (state) => o.onStateChange?.(name, state),
      });
      inf.on('add', () => o.onChange());
      inf.on('update', () => o.onChange());
      inf.on('delete', () => o.onChange());
      return inf;
    };
    // Only pods carrying the binding label are watched (server-side selector): unrelated pod churn
    // never reaches the controller (upstream watched every pod in the cluster).
    this.pods = make('pods', 'Pod', '/api/v1/pods', (x) => cachedPodInfo(x, this.#interner), BINDING_LABEL);
    this.nodes = make('nodes', 'Node', '/api/v1/nodes', parseNodeInfo);
    this.identities = make('azureidentities', 'AzureIdentity', `/apis/${GROUP}/${VERSION}/${PLURALS.AzureIdentity}`, parseAzureIdentity);
    this.bindings = make('azureidentitybindings', 'AzureIdentityBinding', `/apis/${GROUP}/${VERSION}/${PLURALS.AzureIdentityBinding}`,
      parseAzureIdentityBinding);
    this.assigned = make('azureassignedidentities', 'AzureAssignedIdentity', `/apis/${GROUP}/${VERSION}/${PLURALS.AzureAssignedIdentity}`,
      (x) => cachedAssignedIdentity(x, this.#interner));
  }

  #all(): SupervisedInformer<unknown>[] {
    return [this.pods, this.nodes, this.identities, this.bindings, this.assigned] as SupervisedInformer<unknown>[];
  }

  /** Starts every informer. */
  start(): void {
    for (const inf of this.#all()) inf.start();
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    await Promise.all(this.#all().map((inf) => inf.stop()));
  }

  synced(): boolean {
    return this.#all().every((inf) => inf.hasSynced());
  }

  /** Waits until every informer has listed once. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all(this.#all().map((inf) => inf.waitForSync(signal)));
    return results.every(Boolean);
  }

  snapshot(): Snapshot {
    return {
      pods: this.pods.list(),
      nodes: new Map(this.nodes.list().map((n) => [n.name, n])),
      identities: this.identities.list(),
      bindings: this.bindings.list(),
      assigned: this.#assignedWithOverlay(),
    };
  }

  noteWritten(aai: AzureAssignedIdentity): void {
    const key = objectKey(aai.metadata.namespace, aai.metadata.name);
    this.#deleted.delete(key);
    this.#written.set(key, { obj: overlayForm(aai, this.#interner), at: this.#clock.now() });
  }

  noteDeleted(aai: AzureAssignedIdentity): void {
    const key = objectKey(aai.metadata.namespace, aai.metadata.name);
    this.#written.delete(key);
    this.#deleted.set(key, { at: this.#clock.now() });
  }

  #assignedWithOverlay(): AzureAssignedIdentity[] {
    const cachedList = this.assigned.list();
    if (this.#written.size === 0 && this.#deleted.size === 0) return cachedList;
    // Only the few overlay entries are looked up by key; the cached list is walked once.
    const now = this.#clock.now();
    const replaced = new Map<AzureAssignedIdentity, AzureAssignedIdentity>();
    const added: AzureAssignedIdentity[] = [];
    for (const [key, w] of this.#written) {
      const cached = this.assigned.get(w.obj.metadata.namespace, w.obj.metadata.name);
      const cachedRv = rvNumber(cached?.metadata.resourceVersion);
      const ourRv = rvNumber(w.obj.metadata.resourceVersion);
      const caughtUp = cached !== undefined && (cachedRv !== undefined && ourRv !== undefined ? cachedRv >= ourRv : cached.metadata.resourceVersion === w.obj.metadata.resourceVersion);
      if (caughtUp || now - w.at > OVERLAY_TTL_MS) this.#written.delete(key);
      else if (cached) replaced.set(cached, w.obj);
      else added.push(w.obj);
    }
    const dropped = new Set<AzureAssignedIdentity>();
    for (const [key, d] of this.#deleted) {
      // Only this controller re-creates AAIs (noteWritten clears the tombstone), so a cached object
      // with the same name is the deleted one until the watch reports the deletion.
      const [namespace, name] = splitObjectKey(key);
      const cached = this.assigned.get(namespace, name);
      if (!cached || now - d.at > OVERLAY_TTL_MS) this.#deleted.delete(key);
      else dropped.add(cached);
    }
    if (replaced.size === 0 && added.length === 0 && dropped.size === 0) return cachedList;
    const out: AzureAssignedIdentity[] = [];
    for (const aai of cachedList) {
      if (!dropped.has(aai)) out.push(replaced.get(aai) ?? aai);
    }
    for (const aai of added) out.push(aai);
    return out;
  }
}
