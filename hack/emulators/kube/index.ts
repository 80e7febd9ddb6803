/**
 * A Kubernetes API emulator on `node:http` that the unmodified `@kubernetes/client-node` and real
 * kubectl accept: discovery, CRDs, Tables, list/watch with resourceVersion semantics, optimistic
 * concurrency, finalizers, patches, validation, plus fault-injection controls for tests.
 *
 * Documented choices where the real server has options:
 * - `pause()` makes new requests hang (not 503) and holds watch events until `resume()`.
 * - Watch with no resourceVersion or `"0"` first sends synthetic ADDED events for current objects.
 * - A JSON-patch `test` failure answers 422 Invalid (as the real server's patch handler does).
 * - No garbage collector and no kubelet: ownerReferences are not followed, pods are deleted at
 *   once (grace periods ignored), `propagationPolicy` adds no finalizers.
 * - Server-side apply merges the applied configuration; it neither removes fields dropped from a
 *   later configuration nor reports field-ownership conflicts.
 * - Request bodies: JSON, YAML, and protobuf for core/v1 Namespace, ConfigMap, Secret and
 *   ServiceAccount (what kubectl's `create` generators send); answers are always JSON.
 * - Deployments, PodDisruptionBudgets and RBAC objects are stored so install manifests apply; no
 *   controller acts on them and RBAC is not enforced (the real-apiserver tier tests RBAC).
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import { isPlainObject } from './objects.js';
import type { ServingCert } from './listener.js';
import { generateServingCert, listenDual } from './listener.js';
import { ResourceRegistry } from './registry.js';
import type { ResourceType } from './resource-type.js';
import { apiVersionOf } from './resource-type.js';
import { createRequestHandler } from './server.js';
import { CRD_STORAGE, ResourceService } from './service.js';
import { ObjectStore } from './store.js';
import type { FailureRule, RequestMatch, RequestRecord } from './traffic.js';
import { TrafficControl } from './traffic.js';
import type { WatchStream } from './watch.js';

export { KubeStatusError, isKubeStatusError } from './errors.js';
export type { RequestRecord } from './traffic.js';

/** Options of {@link startKubeEmulator}. */
export interface KubeEmulatorOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Listen port (default 0: any free port). */
  port?: number;
  /** Bearer token clients must present (default random). */
  token?: string;
  /** Load every CRD in the `*.yaml`/`*.yml` files of this directory at start. */
  crdDir?: string;
  /** Number of watch events kept for resume (default 10000). */
  historyWindow?: number;
  /** Namespaces created at start; default, kube-system and kube-public always exist. */
  namespaces?: string[];
  /** Interval of BOOKMARK events on watches that allow them (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /**
   * Also answer TLS on the same port with a self-signed certificate (default true). kubectl only
   * sends bearer tokens over TLS, so {@link KubeEmulator.kubeconfigYaml} uses `https://` when on.
   */
  tls?: boolean;
}

/** Test and operator controls of a running emulator. */
export interface KubeControls {
  /** The next `count` (default 1) matching requests fail with `status` (a Kubernetes Status body). */
  failNext(rule: FailureRule): void;
  /** Adds latency to matching requests (see {@link TrafficControl.setLatency}). */
  setLatency(ms: number, match?: RequestMatch): void;
  /** Ends every open watch stream cleanly; clients see end-of-stream and resume. */
  dropWatches(): void;
  /** Forgets the event history: resuming a watch (or a continue token) from an older RV gets 410 Expired. */
  compact(): void;
  /** New requests hang and watch events are held until {@link resume}. */
  pause(): void;
  /** Releases paused requests and held watch events. */
  resume(): void;
  /** Every request so far: verb (get/list/watch/create/update/patch/delete/deletecollection), path, status, start time. */
  requestLog(): RequestRecord[];
  /** Empties the request log. */
  clearRequestLog(): void;
  /**
   * Counters: `requests`, `verb:<verb>`, `status:<code>`, `resource:<plural>`, `<verb>:<plural>`,
   * `watch:events`, `watch:open` (currently open), `connections:http`, `connections:https` (TCP connections accepted).
   */
  counters(): Record<string, number>;
  /** The object at an API path (`/api/v1/namespaces/default/pods/p1`), or undefined. */
  getObject(apiPath: string): unknown | undefined;
  /** Objects of a collection path (`/api/v1/pods`, `/apis/g/v/namespaces/ns/plural`). */
  listObjects(collectionPath: string): unknown[];
  /** Creates or replaces an object by its apiVersion/kind/metadata; no validation, bumps RV, notifies watchers. */
  putObject(obj: unknown): unknown;
  /** Removes the object at an API path at once (finalizers ignored); no-op when absent. */
  deleteObject(apiPath: string): void;
}

/** A running emulator. */
export interface KubeEmulator {
  /** `http://host:port` (plain HTTP, for client-node). */
  url: string;
  /** `https://host:port`, the same port over TLS (undefined when `tls: false`). */
  httpsUrl: string | undefined;
  /** PEM of the self-signed serving certificate (its own CA), when TLS is on. */
  caCert: string | undefined;
  token: string;
  /** A kubeconfig for kubectl: the https URL with the CA and token (http URL when TLS is off). */
  kubeconfigYaml(): string;
  /** Writes {@link kubeconfigYaml} to a file. */
  writeKubeconfig(path: string): Promise<void>;
  /** A client-node KubeConfig pointing at the emulator. */
  kubeConfig(): KubeConfig;
  controls: KubeControls;
  /** Closes watches and the server. */
  stop(): Promise<void>;
}

const ALWAYS_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Parses an API path into the resource and the (optional) namespace/name it names. */
function resolvePath(registry: ResourceRegistry, apiPath: string): { rt: ResourceType; namespace: string | undefined; name: string | undefined } {
  const seg = apiPath.split('?')[0]!.split('/').filter((s) => s !== '');
  let group = '';
  let version: string;
  let rest: string[];
  if (seg[0] === 'api') {
    version = seg[1] ?? '';
    rest = seg.slice(2);
  } else if (seg[0] === 'apis') {
    group = seg[1] ?? '';
    version = seg[2] ?? '';
    rest = seg.slice(3);
  } else throw new Error(`not an API path: ${apiPath}`);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && registry.find(group, version, rest[2] as string)?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const rt = registry.find(group, version, rest[0] ?? '');
  if (!rt) throw new Error(`no resource served at ${apiPath}`);
  return { rt, namespace, name: rest[1] };
}

/** Reads every CRD document from the YAML files of `dir`. */
async function readCrds(dir: string): Promise<unknown[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const out: unknown[] = [];
  for (const f of files) {
    for (const doc of YAML.parseAllDocuments(await readFile(join(dir, f), 'utf8'))) {
      const obj: unknown = doc.toJS();
      if (isPlainObject(obj) && obj.kind === 'CustomResourceDefinition') out.push(obj);
    }
  }
  return out;
}

/** Starts an emulator. */
export async function startKubeEmulator(opts: KubeEmulatorOptions = {}): Promise<KubeEmulator> {
  const token = opts.token ?? randomBytes(24).toString('hex');
  const store = new ObjectStore(opts.historyWindow ?? 10_000);
  const registry = new ResourceRegistry();
  const service = new ResourceService(store, registry);
  const traffic = new TrafficControl();
  const watches = new Set<WatchStream>();
  service.onStorageRemoved = (storage) => {
    for (const w of [...watches]) if (w.storage === storage) w.end();
  };

  const nsType = registry.find('', 'v1', 'namespaces') as ResourceType;
  for (const ns of new Set([...ALWAYS_NAMESPACES, ...(opts.namespaces ?? [])])) {
    service.create(nsType, '', { metadata: { name: ns } });
  }
  if (opts.crdDir) {
    const crdType = registry.find('apiextensions.k8s.io', 'v1', 'customresourcedefinitions') as ResourceType;
    for (const crd of await readCrds(opts.crdDir)) service.create(crdType, '', crd);
  }

  const host = opts.host ?? '127.0.0.1';
  let address = '';
  const tls: ServingCert | undefined = opts.tls === false ? undefined : await generateServingCert(host);
  const handler = createRequestHandler({
    service,
    registry,
    traffic,
    token,
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 1000,
    serverAddress: () => address,
    watches,
  });
  const listener = await listenDual(handler, host, opts.port ?? 0, tls, (protocol) => traffic.bump(`connections:${protocol}`));
  address = `${host.includes(':') ? `[${host}]` : host}:${listener.port}`;
  const url = `http://${address}`;
  const httpsUrl = tls ? `https://${address}` : undefined;

  const kubeconfigYaml = (): string =>
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{
        name: 'emulator',
        cluster: tls ? { server: httpsUrl, 'certificate-authority-data': Buffer.from(tls.cert).toString('base64') } : { server: url },
      }],
      users: [{ name: 'emulator', user: { token } }],
      contexts: [{ name: 'emulator', context: { cluster: 'emulator', user: 'emulator', namespace: 'default' } }],
      'current-context': 'emulator',
      preferences: {},
    });

  const controls: KubeControls = {
    failNext: (rule) => traffic.failNext(rule),
    setLatency: (ms, match) => traffic.setLatency(ms, match),
    dropWatches: () => {
      for (const w of [...watches]) w.end();
    },
    compact: () => store.compact(),
    pause: () => traffic.pause(),
    resume: () => traffic.resume(),
    requestLog: () => traffic.requestLog(),
    clearRequestLog: () => traffic.clearRequestLog(),
    counters: () => ({ ...traffic.counters(), 'watch:open': watches.size }),
    getObject: (apiPath) => {
      const { rt, namespace, name } = resolvePath(registry, apiPath);
      if (name === undefined) throw new Error(`not an object path: ${apiPath}`);
      const stored = store.get(rt.storage, namespace ?? '', name);
      return stored ? structuredClone(service.toView(rt, stored)) : undefined;
    },
    listObjects: (collectionPath) => {
      const { rt, namespace } = resolvePath(registry, collectionPath);
      return store.list(rt.storage, rt.namespaced ? namespace : undefined).map((o) => structuredClone(service.toView(rt, o)));
    },
    putObject: (obj) => {
      if (!isPlainObject(obj) || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') throw new Error('putObject needs apiVersion and kind');
      const rt = registry.findByKind(obj.apiVersion, obj.kind);
      if (!rt) throw new Error(`no resource serves ${obj.apiVersion} ${obj.kind}`);
      const copy = structuredClone(obj);
      const meta = (isPlainObject(copy.metadata) ? copy.metadata : (copy.metadata = {})) as Record<string, unknown>;
      if (typeof meta.name !== 'string' || meta.name === '') throw new Error('putObject needs metadata.name');
      if (rt.namespaced) meta.namespace ??= 'default';
      else delete meta.namespace;
      const existing = store.get(rt.storage, (meta.namespace as string | undefined) ?? '', meta.name);
      const existingMeta = (existing?.metadata ?? {}) as Record<string, unknown>;
      meta.uid ??= existingMeta.uid ?? randomUUIDv4();
      meta.creationTimestamp ??= existingMeta.creationTimestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      if (rt.hasGeneration) meta.generation ??= existingMeta.generation ?? 1;
      copy.apiVersion = apiVersionOf(rt);
      const stored = store.put(rt.storage, rt.fromView ? rt.fromView(copy) : copy);
      if (rt.storage === CRD_STORAGE) registry.registerCrd(stored);
      return structuredClone(service.toView(rt, stored));
    },
    deleteObject: (apiPath) => {
      const { rt, namespace, name } = resolvePath(registry, apiPath);
      if (name === undefined) throw new Error(`not an object path: ${apiPath}`);
      const stored = store.get(rt.storage, namespace ?? '', name);
      if (stored) service.removeNow(rt, stored);
    },
  };

  return {
    url,
    httpsUrl,
    caCert: tls?.cert,
    token,
    kubeconfigYaml,
    writeKubeconfig: (path) => writeFile(path, kubeconfigYaml(), { mode: 0o600 }),
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromClusterAndUser({ name: 'emulator', server: url, skipTLSVerify: true }, { name: 'emulator', token });
      return kc;
    },
    controls,
    stop: async () => {
      for (const w of [...watches]) w.end();
      await listener.close();
    },
  };
}

function randomUUIDv4(): string {
  return globalThis.crypto.randomUUID();
}
