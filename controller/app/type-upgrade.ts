/**
 * Upstream's one-time "type upgrade" (upstream-mic.md §1.8): objects written with pre-1.6 field names
 * are re-written with the current names, guarded by a key in a ConfigMap so it runs once per cluster.
 * With structural CRDs the API server already prunes legacy fields, so this mostly just records the
 * marker; it is kept so an operator switching from upstream sees the same ConfigMap. Unlike upstream,
 * a failure is not fatal: it is logged and retried at the next leadership.
 */
import { CustomObjectsApi, type CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api as CoreApi } from '@kubernetes/client-node';
import { parseAzureIdentity, parseAzureIdentityBinding, parseAzurePodIdentityException } from '../api/guards.js';
import { GROUP, PLURALS, VERSION } from '../api/types.js';
import { isNotFound } from '../kube/client.js';
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
  const core: CoreV1Api = o.kc.makeApiClient(CoreApi);
  const custom = o.kc.makeApiClient(CustomObjectsApi);
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
      if (JSON.stringify(normalised.spec) === JSON.stringify(raw.spec)) continue;
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
