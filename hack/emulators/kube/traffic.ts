/**
 * Fault injection and observation of HTTP traffic: injected failures, latency, a pause switch,
 * a request log and counters.
 */

/** Which requests a rule applies to. A string path matches that path or anything below it. */
export interface RequestMatch {
  verb?: string;
  path?: string | RegExp;
}

/** An injected failure (see `KubeControls.failNext`). */
export interface FailureRule extends RequestMatch {
  status: number;
  reason?: string;
  message?: string;
  count?: number;
}

/** One request as the log records it. */
export interface RequestRecord {
  verb: string;
  path: string;
  status: number;
  at: number;
  /** Query string without the leading `?` (empty when none). */
  query: string;
  /** The request's `User-Agent` header ('' when absent). */
  userAgent?: string;
}

interface LatencyRule {
  ms: number;
  match?: RequestMatch;
}

/** True when `match` selects the request (`verb` like get/list/watch/create/update/patch/delete). */
export function requestMatches(match: RequestMatch | undefined, verb: string, path: string): boolean {
  if (!match) return true;
  if (match.verb !== undefined && match.verb !== verb) return false;
  if (match.path === undefined) return true;
  if (match.path instanceof RegExp) return match.path.test(path);
  return path === match.path || path.startsWith(match.path.endsWith('/') ? match.path : `${match.path}/`);
}

/** See module comment. */
export class TrafficControl {
  private failures: (FailureRule & { remaining: number })[] = [];
  private latencies: LatencyRule[] = [];
  private paused = false;
  private waiters: (() => void)[] = [];
  private log: RequestRecord[] = [];
  private readonly counts = new Map<string, number>();

  /** The next `count` (default 1) matching requests fail with the given status. */
  failNext(rule: FailureRule): void {
    this.failures.push({ ...rule, remaining: rule.count ?? 1 });
  }

  /** Consumes and returns the first failure rule matching the request, if any. */
  takeFailure(verb: string, path: string): FailureRule | undefined {
    const rule = this.failures.find((r) => r.remaining > 0 && requestMatches(r, verb, path));
    if (!rule) return undefined;
    rule.remaining--;
    this.failures = this.failures.filter((r) => r.remaining > 0);
    return rule;
  }

  /**
   * Adds latency. Without `match` it sets the default for every request (0 clears all rules);
   * with `match` it adds a rule (ms 0 removes rules with the same match).
   */
  setLatency(ms: number, match?: RequestMatch): void {
    if (!match) {
      this.latencies = ms > 0 ? [{ ms }] : [];
      return;
    }
    const same = (r: LatencyRule) => r.match?.verb === match.verb && String(r.match?.path) === String(match.path);
    this.latencies = this.latencies.filter((r) => !same(r));
    if (ms > 0) this.latencies.push({ ms, match });
  }

  /** Latency for a request: the largest matching rule. */
  latencyFor(verb: string, path: string): number {
    return this.latencies.filter((r) => requestMatches(r.match, verb, path)).reduce((m, r) => Math.max(m, r.ms), 0);
  }

  /** Holds new requests (and watch event delivery) until {@link resume}. */
  pause(): void {
    this.paused = true;
  }

  /** Releases everything held by {@link pause}. */
  resume(): void {
    this.paused = false;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  /** Whether the server is paused. */
  isPaused(): boolean {
    return this.paused;
  }

  /** Resolves immediately, or on resume when paused. */
  whenRunning(): Promise<void> {
    if (!this.paused) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Records a finished (or, for watches, started) request. */
  record(rec: RequestRecord, resource: string | undefined): void {
    this.log.push(rec);
    if (this.log.length > 100_000) this.log = this.log.slice(-50_000);
    this.bump('requests');
    this.bump(`verb:${rec.verb}`);
    this.bump(`status:${rec.status}`);
    if (resource) {
      this.bump(`resource:${resource}`);
      this.bump(`${rec.verb}:${resource}`);
    }
  }

  /** Adds `by` to a named counter. */
  bump(name: string, by = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + by);
  }

  /** A copy of the request log. */
  requestLog(): RequestRecord[] {
    return this.log.map((r) => ({ ...r }));
  }

  /** Empties the request log (counters are kept). */
  clearRequestLog(): void {
    this.log = [];
  }

  /** A snapshot of all counters. */
  counters(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
