/**
 * Quarantine of identities ARM rejected (forbidden, not found): they are left out of writes for a
 * growing backoff so every other identity keeps flowing ("one bad identity never blocks the others").
 */
import type { Clock } from '../util/clock.js';

/** Why an identity is quarantined. */
export interface QuarantineEntry {
  identityId: string;
  reason: string;
  message: string;
  failures: number;
  until: number;
}

/** Options of {@link Quarantine}. */
export interface QuarantineOptions {
  clock: Clock;
  baseMs?: number;
  maxMs?: number;
}

/** Per-identity exponential backoff after ARM rejections. */
export class Quarantine {
  readonly #clock: Clock;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #entries = new Map<string, QuarantineEntry>();

  constructor(options: QuarantineOptions) {
    this.#clock = options.clock;
    this.#baseMs = options.baseMs ?? 30_000;
    this.#maxMs = options.maxMs ?? 600_000;
  }

  /** Records a rejection; returns the entry (with the time it may be retried). */
  reject(identityId: string, reason: string, message: string): QuarantineEntry {
    const prev = this.#entries.get(identityId);
    const failures = (prev?.failures ?? 0) + 1;
    const delay = Math.min(this.#maxMs, this.#baseMs * 2 ** (failures - 1));
    const entry = { identityId, reason, message, failures, until: this.#clock.now() + delay };
    this.#entries.set(identityId, entry);
    return entry;
  }

  /** Clears an identity after it was assigned successfully. */
  clear(identityId: string): void {
    this.#entries.delete(identityId);
  }

  /** Identities still in their backoff window. */
  active(): Set<string> {
    const now = this.#clock.now();
    return new Set([...this.#entries.values()].filter((e) => e.until > now).map((e) => e.identityId));
  }

  /** The entry of an identity, if it was ever rejected and not cleared since. */
  get(identityId: string): QuarantineEntry | undefined {
    return this.#entries.get(identityId);
  }

  /** Earliest time a quarantined identity becomes eligible again. */
  nextRelease(): number | undefined {
    const now = this.#clock.now();
    const times = [...this.#entries.values()].map((e) => e.until).filter((t) => t > now);
    return times.length ? Math.min(...times) : undefined;
  }

  /** Number of identities in their backoff window. */
  size(): number {
    return this.active().size;
  }
}
