/** Small statistics helpers for benchmark figures. */

/** The q-quantile (0..1) of `values` by the nearest-rank method; undefined for no values. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

/** p50/p99/max of `values` (undefined fields when empty). */
export interface Distribution {
  p50: number | undefined;
  p99: number | undefined;
  max: number | undefined;
  count: number;
}

/** Summarises `values` as p50/p99/max. */
export function distribution(values: readonly number[]): Distribution {
  return { p50: quantile(values, 0.5), p99: quantile(values, 0.99), max: quantile(values, 1), count: values.length };
}

/** Divides every defined field of a distribution by `unit` (e.g. to express latencies in units of L). */
export function scaleDistribution(d: Distribution, unit: number): Distribution {
  const f = (v: number | undefined): number | undefined => (v === undefined ? undefined : v / unit);
  return { p50: f(d.p50), p99: f(d.p99), max: f(d.max), count: d.count };
}

/** A deterministic PRNG (mulberry32) so every run of a scenario builds the same workload. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
