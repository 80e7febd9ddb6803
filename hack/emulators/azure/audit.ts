/** Request audit log and counters of the emulator. */
import type { CallKind } from './throttling.js';

/** One request as the emulator saw it. */
export interface AuditEntry {
  /** Real wall-clock ms. */
  at: number;
  method: string;
  path: string;
  /** HTTP status answered; 0 when the connection was dropped on purpose. */
  status: number;
  kind: CallKind;
  /** Lower-cased ARM ID of the VM/VMSS/identity concerned (polls: the operation's resource). */
  resource?: string;
  /** The request's `User-Agent` header ('' when absent). */
  userAgent?: string;
}

/** Per-resource counters. */
export interface ResourceCounters {
  reads: number;
  writes: number;
  polls: number;
  throttled: number;
  /** Answers 412 Precondition Failed (an `If-Match` etag that no longer matched: another writer came first). */
  preconditionFailed: number;
}

/** Totals plus per-resource counters. */
export interface Counters extends ResourceCounters {
  tokens: number;
  byResource: Record<string, ResourceCounters>;
}

const PLURAL: Record<CallKind, 'reads' | 'writes' | 'polls' | 'tokens'> = { read: 'reads', write: 'writes', poll: 'polls', token: 'tokens' };

/** Collects audit entries and counts them. */
export class AuditLog {
  #entries: AuditEntry[] = [];
  #counters: Counters = emptyCounters();
  readonly #limit: number;

  /** Keeps at most `limit` entries (oldest dropped); counters are unbounded. */
  constructor(limit = 100_000) {
    this.#limit = limit;
  }

  /** Records one request. */
  record(entry: AuditEntry): void {
    this.#entries.push(entry);
    if (this.#entries.length > this.#limit) this.#entries.splice(0, this.#entries.length - this.#limit);
    const field = PLURAL[entry.kind];
    this.#counters[field] += 1;
    if (entry.status === 429) this.#counters.throttled += 1;
    if (entry.status === 412) this.#counters.preconditionFailed += 1;
    if (entry.resource && field !== 'tokens') {
      const per = (this.#counters.byResource[entry.resource] ??= { reads: 0, writes: 0, polls: 0, throttled: 0, preconditionFailed: 0 });
      per[field] += 1;
      if (entry.status === 429) per.throttled += 1;
      if (entry.status === 412) per.preconditionFailed += 1;
    }
  }

  /** Copy of the entries. */
  entries(): AuditEntry[] {
    return this.#entries.map((e) => ({ ...e }));
  }

  /** Copy of the counters. */
  counters(): Counters {
    return structuredClone(this.#counters);
  }

  /** Clears entries and counters. */
  reset(): void {
    this.#entries = [];
    this.#counters = emptyCounters();
  }
}

function emptyCounters(): Counters {
  return { reads: 0, writes: 0, polls: 0, throttled: 0, preconditionFailed: 0, tokens: 0, byResource: {} };
}
