/** One-shot (or N-shot) failure injection for the emulator's HTTP endpoints. */

/** A rule for {@link FaultInjector.add}; see `AzureControls.failNext`. */
export interface FailRule {
  /** HTTP method to match (case-insensitive); any when absent. */
  method?: string;
  /** Substring (case-insensitive) of, or pattern tested against, the request path; any when absent. */
  resource?: string | RegExp;
  status: number;
  code?: string;
  message?: string;
  /** Sent as `Retry-After` (real seconds, exactly as given). */
  retryAfterSeconds?: number;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** Destroy the socket instead of answering. */
  drop?: boolean;
  /**
   * PATCH only: accept the write (202) but make its long-running operation end `Failed` with this
   * status/code/message (emulator extension).
   */
  lro?: boolean;
}

/** The pending rules; the first matching rule with shots left wins. */
export class FaultInjector {
  #rules: { rule: FailRule; left: number }[] = [];

  /** Adds a rule. */
  add(rule: FailRule): void {
    this.#rules.push({ rule, left: Math.max(1, rule.count ?? 1) });
  }

  /** Takes one shot of the first rule matching the request, if any. */
  take(method: string, path: string, opts: { lroOnly?: boolean } = {}): FailRule | undefined {
    const entry = this.#rules.find(
      ({ rule }) => Boolean(rule.lro) === Boolean(opts.lroOnly) && matches(rule, method, path),
    );
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.#rules = this.#rules.filter((e) => e !== entry);
    return entry.rule;
  }

  /** Removes every rule. */
  clear(): void {
    this.#rules = [];
  }
}

function matches(rule: FailRule, method: string, path: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.resource === undefined) return true;
  if (typeof rule.resource === 'string') return path.toLowerCase().includes(rule.resource.toLowerCase());
  rule.resource.lastIndex = 0;
  return rule.resource.test(path);
}
