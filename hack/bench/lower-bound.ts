/**
 * The lower bound of ARM writes for a workload: an ideal controller with one pipelined
 * single-flight writer per target (VM/VMSS). The first wave starts at the first change; while a
 * write is in flight (latency L) changes accumulate, and the next wave carries all of them at once.
 * A wave with a net delta of n identities costs ⌈n/150⌉ writes; a wave whose changes cancel out
 * costs nothing (and the writer goes idle until the next change).
 */

/** ARM accepts at most this many user-assigned identity entries per PATCH. */
export const MAX_IDENTITIES_PER_WRITE = 150;

/** One change of the identities a target needs: `identity` becomes needed (`present`) or not. */
export interface DesiredChange {
  /** When the change happens (any unit, the same as `latency`). */
  at: number;
  target: string;
  identity: string;
  present: boolean;
}

/** Result of {@link lowerBoundWrites}. */
export interface LowerBound {
  /** Total writes over all targets. */
  writes: number;
  /** Writes per target. */
  byTarget: Record<string, number>;
  /** Waves that carried a non-empty delta, over all targets. */
  waves: number;
}

/**
 * Computes the lower bound for `changes` with write latency `latency` (same unit as `at`).
 * `initial` gives identities each target already has before the first change.
 */
export function lowerBoundWrites(changes: readonly DesiredChange[], latency: number, initial: Record<string, readonly string[]> = {}): LowerBound {
  if (!(latency > 0)) throw new RangeError('latency must be > 0');
  const perTarget = new Map<string, DesiredChange[]>();
  for (const c of changes) {
    const list = perTarget.get(c.target) ?? [];
    list.push(c);
    perTarget.set(c.target, list);
  }
  const out: LowerBound = { writes: 0, byTarget: {}, waves: 0 };
  for (const [target, list] of perTarget) {
    const { writes, waves } = simulateTarget(list, latency, initial[target] ?? []);
    out.byTarget[target] = writes;
    out.writes += writes;
    out.waves += waves;
  }
  return out;
}

function simulateTarget(changes: DesiredChange[], latency: number, initial: readonly string[]): { writes: number; waves: number } {
  const events = [...changes].sort((a, b) => a.at - b.at);
  const desired = new Set(initial);
  let applied = new Set(initial);
  let writes = 0;
  let waves = 0;
  let i = 0;
  if (events.length === 0) return { writes, waves };
  let t = events[0]!.at;
  for (;;) {
    while (i < events.length && events[i]!.at <= t) {
      const e = events[i++]!;
      if (e.present) desired.add(e.identity);
      else desired.delete(e.identity);
    }
    let delta = 0;
    for (const id of desired) if (!applied.has(id)) delta++;
    for (const id of applied) if (!desired.has(id)) delta++;
    if (delta > 0) {
      writes += Math.ceil(delta / MAX_IDENTITIES_PER_WRITE);
      waves++;
      applied = new Set(desired);
      t += latency;
      continue;
    }
    if (i >= events.length) break;
    t = events[i]!.at;
  }
  return { writes, waves };
}

/**
 * Turns pod lifecycles into desired-set changes: a target needs an identity while at least one pod
 * using it runs on one of its nodes, and (with `graceMs`) until `graceMs` after the last such pod
 * went, unless another one arrived meanwhile.
 */
export function desiredChangesFromPods(
  pods: readonly { target: string; identity: string; createdAt: number; deletedAt?: number }[],
  graceMs = 0,
): DesiredChange[] {
  type Edge = { at: number; delta: 1 | -1 };
  const edges = new Map<string, Edge[]>();
  for (const p of pods) {
    const key = `${p.target}\u0000${p.identity}`;
    const list = edges.get(key) ?? [];
    list.push({ at: p.createdAt, delta: 1 });
    if (p.deletedAt !== undefined) list.push({ at: p.deletedAt, delta: -1 });
    edges.set(key, list);
  }
  const out: DesiredChange[] = [];
  for (const [key, list] of edges) {
    const [target, identity] = key.split('\u0000') as [string, string];
    list.sort((a, b) => a.at - b.at || b.delta - a.delta);
    let count = 0;
    let present = false;
    let pendingRemovalAt: number | undefined;
    const flushRemovalBefore = (at: number): void => {
      if (pendingRemovalAt !== undefined && pendingRemovalAt <= at) {
        out.push({ at: pendingRemovalAt, target, identity, present: false });
        present = false;
        pendingRemovalAt = undefined;
      }
    };
    for (const e of list) {
      flushRemovalBefore(e.at);
      count += e.delta;
      if (e.delta === 1 && count === 1) {
        pendingRemovalAt = undefined;
        if (!present) {
          out.push({ at: e.at, target, identity, present: true });
          present = true;
        }
      } else if (e.delta === -1 && count === 0) {
        pendingRemovalAt = e.at + graceMs;
      }
    }
    flushRemovalBefore(Number.POSITIVE_INFINITY);
  }
  return out;
}
