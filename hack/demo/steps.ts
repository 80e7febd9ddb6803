/**
 * Numbered demo steps: prints each step as it runs (with what it observed and how long it took),
 * records the outcome, and renders the final summary table.
 */

/** Outcome of one step. */
export interface StepResult {
  index: number;
  title: string;
  status: 'PASS' | 'FAIL' | 'SKIPPED';
  /** One-line result, e.g. "Assigned after 2.31 s" or the failure message. */
  detail: string;
  durationMs: number;
}

/** A step failed; `step` and `title` name it, `cause` is the underlying error. */
export class DemoStepError extends Error {
  override readonly name = 'DemoStepError';
  readonly step: number;
  readonly title: string;

  constructor(step: number, title: string, cause: unknown) {
    super(`step ${step} "${title}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.step = step;
    this.title = title;
  }
}

/** True for {@link DemoStepError}. */
export function isDemoStepError(e: unknown): e is DemoStepError {
  return e instanceof DemoStepError;
}

/** Prints progress lines under the current step. */
export type Say = (line: string) => void;

/** Formats milliseconds as seconds with two decimals (`1234` → `1.23 s`). */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Runs and records numbered steps. */
export class StepRunner {
  readonly #out: (line: string) => void;
  readonly #now: () => number;
  readonly #results: StepResult[] = [];

  /** `out` receives every output line; `now` is the clock (ms). */
  constructor(out: (line: string) => void, now: () => number = () => Date.now()) {
    this.#out = out;
    this.#now = now;
  }

  /** Outcomes so far, in order. */
  get results(): readonly StepResult[] {
    return this.#results;
  }

  /** True when every recorded step passed. */
  get allPassed(): boolean {
    return this.#results.length > 0 && this.#results.every((r) => r.status === 'PASS');
  }

  /**
   * Runs one step. `fn` may print progress through `say` and returns the result line (default
   * "ok"). A throw is recorded as FAIL and rethrown as {@link DemoStepError}.
   */
  async run(title: string, fn: (say: Say) => Promise<string | void>): Promise<void> {
    const index = this.#results.length + 1;
    this.#out(`\n[${index}] ${title}`);
    const started = this.#now();
    const say: Say = (line) => this.#out(`    ${line}`);
    try {
      const detail = (await fn(say)) || 'ok';
      const durationMs = this.#now() - started;
      this.#results.push({ index, title, status: 'PASS', detail, durationMs });
      this.#out(`    => PASS in ${formatSeconds(durationMs)}: ${detail}`);
    } catch (err) {
      const durationMs = this.#now() - started;
      const message = err instanceof Error ? err.message : String(err);
      this.#results.push({ index, title, status: 'FAIL', detail: message, durationMs });
      this.#out(`    => FAIL after ${formatSeconds(durationMs)}: ${message}`);
      throw new DemoStepError(index, title, err);
    }
  }

  /** Records steps that were never run (after a failure) so the summary lists them. */
  skip(titles: readonly string[]): void {
    for (const title of titles) {
      this.#results.push({ index: this.#results.length + 1, title, status: 'SKIPPED', detail: 'not run', durationMs: 0 });
    }
  }

  /** The summary table, one string per line. */
  summaryTable(): string[] {
    const rows = this.#results.map((r) => [String(r.index), r.title, r.status, formatSeconds(r.durationMs), r.detail]);
    const head = ['#', 'Step', 'Result', 'Duration', 'Detail'];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
    // The detail column is last and left unpadded.
    const line = (cells: string[]): string => cells.map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd();
    return [line(head), line(widths.map((w, c) => (c === widths.length - 1 ? '-'.repeat(Math.min(w, 40)) : '-'.repeat(w)))), ...rows.map(line)];
  }
}
