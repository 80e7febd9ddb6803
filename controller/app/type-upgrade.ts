/**
 * Upstream's one-time "type upgrade" (upstream-mic.md §1.8): objects written with pre-1.6 field names
 * are re-written with the current names, guarded by a key in a ConfigMap so it runs once per cluster.
 * With structural CRDs the API server already prunes legacy fields, so this mostly just records the
 * marker; it is kept so an operator switching from upstream sees the same ConfigMap.
 *
 * An object is rewritten only when its normalised spec differs *in value* from the stored one
 * ({@link sameJsonValue}: key order is irrelevant), because every rewrite bumps the resourceVersion
 * and makes every AzureAssignedIdentity embedding the object stale (an update per pod).
 *
 * Unlike upstream, a failure is not fatal (documented in docs/compatibility.md): it is logged and
 * retried at the next leadership, without the marker, so nothing is skipped.
 */
import { CustomObjectsApi, type CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api as CoreApi } from '@kubernetes/client-node';
import { parseAzureIdentity, parseAzureIdentityBinding, parseAzurePodIdentityException } from '../api/guards.js';
import { GROUP, PLURALS, VERSION } from '../api/types.js';
import { isNotFound, KUBE_REQUEST_TIMEOUT_MS, makeApiClient } from '../kube/client.js';
import type { Logger } from '../observability/logger.js';

/** Options of {@link runTypeUpgrade}. */
export interface TypeUpgradeOptions {
  kc: KubeConfig;
  namespace: string;
  configMapName: string;
  statusKey: string;
  version: string;
  logger: Logger;
}

/** Runs the upgrade unless the marker key exists. Returns true when it ran. */
export async function runTypeUpgrade(o: TypeUpgradeOptions): Promise<boolean> {
  const core: CoreV1Api = makeApiClient(o.kc, CoreApi, { requestTimeoutMs: KUBE_REQUEST_TIMEOUT_MS });
  const custom = makeApiClient(o.kc, CustomObjectsApi, { requestTimeoutMs: KUBE_REQUEST_TIMEOUT_MS });
  let cm;
  try {
    cm = await core.readNamespacedConfigMap({ name: o.configMapName, namespace: o.namespace });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    cm = await core.createNamespacedConfigMap({ namespace: o.namespace, body: { metadata: { name: o.configMapName, namespace: o.namespace } } });
  }
  const done = cm.data?.[o.statusKey];
  if (done !== undefined) {
    o.logger.info('Type upgrade already done; skipping', { fromVersion: done });
    return false;
  }
  o.logger.info('Upgrading the types to work with case-sensitive clients');
  let rewritten = 0;
  const kinds: [string, (x: unknown) => { spec: unknown }][] = [
    [PLURALS.AzureIdentity, parseAzureIdentity],
    [PLURALS.AzureIdentityBinding, parseAzureIdentityBinding],
    [PLURALS.AzurePodIdentityException, parseAzurePodIdentityException],
  ];
  for (const [plural, parse] of kinds) {
    const list = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as { items: Record<string, unknown>[] };
    for (const raw of list.items) {
      let normalised: { spec: unknown };
      try {
        normalised = parse(raw);
      } catch (err) {
        o.logger.warn('Skipping object that cannot be upgraded', { plural, err });
        continue;
      }
      if (sameJsonValue(normalised.spec, raw.spec)) continue;
      const meta = raw.metadata as { name: string; namespace: string };
      await custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, plural, namespace: meta.namespace, name: meta.name, body: { ...raw, spec: normalised.spec } });
      rewritten++;
    }
  }
  await core.replaceNamespacedConfigMap({
    name: o.configMapName,
    namespace: o.namespace,
    body: { ...cm, data: { ...(cm.data ?? {}), [o.statusKey]: o.version } },
  });
  o.logger.info('Type upgrade completed', { rewritten });
  return true;
}

/**
 * Deep equality of JSON values, ignoring object key order; an `undefined` property counts as absent
 * (as it would on the wire).
 */
export function sameJsonValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameJsonValue(x, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && sameJsonValue(ra[k], rb[k]));
}
