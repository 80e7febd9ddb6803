/** Reading prom-client registries in tests. */
import type { Registry } from 'prom-client';

/**
 * Sum of the samples of `name` (a series name, e.g. `x_count` of a histogram) whose labels include
 * `labels`; 0 when there are none.
 */
export async function metricSample(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  let total = 0;
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values as { metricName?: string; labels: Record<string, string | number>; value: number }[]) {
      if ((v.metricName ?? m.name) !== name) continue;
      if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) total += v.value;
    }
  }
  return total;
}
