/**
 * Checks user-assigned identities before they are written to VMs/VMSS: reads each identity once through
 * `@azure/arm-msi` (`userAssignedIdentities.get`), off the write path, and caches the answer.
 *
 * - Found → cached for `okTtlMs` (default 6 h) with the `clientId` ARM reports.
 * - Not found (404, including a missing resource group) → rechecked with exponential backoff
 *   (`notFoundBaseMs` doubling up to `notFoundMaxMs`).
 * - 403 → the controller may not read identities: the validator turns itself off, with one log line.
 * - Other failures → unknown, retried after `errorRetryMs`; never reported as a problem.
 * At most `concurrency` reads run at once. Results arrive through `onResult`.
 */
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import type { ManagedServiceIdentityClientOptionalParams } from '@azure/arm-msi';
import { isRestError } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import { abortableCredential } from './abortable-credential.js';
import { armTokenScope } from './credential.js';
import { canonicalIdentityId } from './identity-id.js';
import { DEFAULT_ARM_ENDPOINT } from './azure-provider.js';

/** What is known about one identity. */
export type IdentityCheck =
  | { kind: 'found'; clientId: string }
  | { kind: 'not-found'; message: string }
  /** Not checked yet, a check is running, the last check failed transiently, or the validator is off. */
  | { kind: 'unknown' };

/** Outcome of comparing an identity with what an AzureIdentity says about it. */
export type IdentityValidation =
  | { kind: 'ok' }
  | { kind: 'not-found'; message: string }
  | { kind: 'client-id-mismatch'; expected: string; actual: string }
  | { kind: 'unknown' };

/** Compares a check with the AzureIdentity's `clientID` (case-insensitive; no clientID → no comparison). */
export function validateIdentity(check: IdentityCheck, expectedClientId: string | undefined): IdentityValidation {
  if (check.kind === 'unknown') return { kind: 'unknown' };
  if (check.kind === 'not-found') return check;
  const expected = (expectedClientId ?? '').trim().toLowerCase();
  if (expected !== '' && expected !== check.clientId) return { kind: 'client-id-mismatch', expected, actual: check.clientId };
  return { kind: 'ok' };
}

/** Reads one identity: its client ID, or `not-found`. Throws anything else (403 as {@link IdentityReadForbiddenError}). */
export type IdentityReader = (resourceId: string, signal: AbortSignal) => Promise<{ clientId: string } | 'not-found'>;

/** The controller may not read identities (403 from ARM). */
export class IdentityReadForbiddenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IdentityReadForbiddenError';
  }
}

/** True for {@link IdentityReadForbiddenError}. */
export function isIdentityReadForbiddenError(e: unknown): e is IdentityReadForbiddenError {
  return e instanceof IdentityReadForbiddenError;
}

/** Options of {@link armIdentityReader}. */
export interface ArmIdentityReaderOptions {
  credential: TokenCredential;
  resourceManagerEndpoint?: string | undefined;
  tokenAudience?: string | undefined;
  userAgent?: string | undefined;
  /** Passed to the SDK pipeline (tests). */
  additionalPolicies?: ManagedServiceIdentityClientOptionalParams['additionalPolicies'];
}

const IDENTITY_ID = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.managedidentity\/userassignedidentities\/([^/]+)$/i;

/** An {@link IdentityReader} on `@azure/arm-msi` (one client per subscription, no SDK retries). */
export function armIdentityReader(o: ArmIdentityReaderOptions): IdentityReader {
  const clients = new Map<string, ManagedServiceIdentityClient>();
  const endpoint = (o.resourceManagerEndpoint || DEFAULT_ARM_ENDPOINT).replace(/\/+$/, '');
  const clientFor = (sub: string): ManagedServiceIdentityClient => {
    let client = clients.get(sub.toLowerCase());
    if (!client) {
      client = new ManagedServiceIdentityClient(abortableCredential(o.credential), sub, {
        endpoint,
        credentialScopes: [armTokenScope({ tokenAudience: o.tokenAudience, resourceManagerEndpoint: endpoint })],
        retryOptions: { maxRetries: 0 },
        userAgentOptions: { userAgentPrefix: o.userAgent ?? 'aad-pod-identity/MIC' },
        ...(o.additionalPolicies ? { additionalPolicies: o.additionalPolicies } : {}),
      });
      clients.set(sub.toLowerCase(), client);
    }
    return client;
  };
  return async (resourceId, signal) => {
    const m = IDENTITY_ID.exec(resourceId);
    if (!m) return 'not-found';
    const [, sub = '', rg = '', name = ''] = m;
    try {
      const identity = await clientFor(sub).userAssignedIdentities.get(rg, name, { abortSignal: signal });
      return { clientId: (identity.clientId ?? '').toLowerCase() };
    } catch (e) {
      if (isRestError(e) && e.statusCode === 404) return 'not-found';
      if (isRestError(e) && e.statusCode === 403) throw new IdentityReadForbiddenError(e.message, { cause: e });
      throw e;
    }
  };
}

/** Options of {@link IdentityValidator}. */
export interface IdentityValidatorOptions {
  read: IdentityReader;
  clock?: Clock;
  logger?: Logger;
  /** Concurrent reads; default 4. */
  concurrency?: number;
  /** How long a found identity is trusted; default 6 h. */
  okTtlMs?: number;
  /** First recheck of a missing identity; default 30 s, doubling. */
  notFoundBaseMs?: number;
  /** Longest wait between rechecks of a missing identity; default 10 min. */
  notFoundMaxMs?: number;
  /** Retry after a transient failure; default 60 s. */
  errorRetryMs?: number;
  /** Timeout of one read; default 30 s. */
  readTimeoutMs?: number;
  /** Called when a check finishes with a result different from the cached one. Must not throw. */
  onResult?: (resourceId: string, check: IdentityCheck) => void;
}

interface Entry {
  check: IdentityCheck;
  /** Clock ms when the next read is due. */
  dueAt: number;
  notFoundCount: number;
  running: boolean;
  /** Settles when the first read (answered or not) is over; undefined once it is. */
  first?: { done: Promise<void>; resolve: () => void } | undefined;
}

/** See file comment. */
export class IdentityValidator {
  readonly #o: IdentityValidatorOptions;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  readonly #waiting: string[] = [];
  readonly #idle = new Set<() => void>();
  #active = 0;
  #disabled = false;

  constructor(options: IdentityValidatorOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** True once a 403 turned the validator off. */
  get disabled(): boolean {
    return this.#disabled;
  }

  /**
   * What is known about an identity now (never waits). Schedules a read in the background when none
   * was made yet or the cached answer is due for a recheck.
   */
  check(resourceId: string): IdentityCheck {
    if (this.#disabled) return { kind: 'unknown' };
    const id = canonicalIdentityId(resourceId);
    let entry = this.#entries.get(id);
    if (!entry) {
      let resolve: () => void = () => undefined;
      const done = new Promise<void>((r) => (resolve = r));
      entry = { check: { kind: 'unknown' }, dueAt: 0, notFoundCount: 0, running: false, first: { done, resolve } };
      this.#entries.set(id, entry);
    }
    if (!entry.running && entry.dueAt <= this.#clock.now()) {
      entry.running = true;
      this.#waiting.push(id);
      this.#pump();
    }
    return entry.check;
  }

  /**
   * Waits, at most `timeoutMs`, until the first read of each identity (scheduled by {@link check}) is
   * over, so an identity is checked before it is first written; later rechecks never wait.
   */
  async firstReads(resourceIds: Iterable<string>, timeoutMs: number): Promise<void> {
    const pending = [...resourceIds].map((id) => this.#entries.get(canonicalIdentityId(id))?.first?.done).filter((p) => p !== undefined);
    if (pending.length === 0 || this.#disabled) return;
    let cancel: () => void = () => undefined;
    const timeout = new Promise<void>((resolve) => (cancel = this.#clock.setTimer(resolve, timeoutMs)));
    try {
      await Promise.race([Promise.all(pending), timeout]);
    } finally {
      cancel();
    }
  }

  /** Resolves when no read is running or waiting (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#active === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  #pump(): void {
    const limit = this.#o.concurrency ?? 4;
    while (this.#active < limit && this.#waiting.length > 0) {
      const id = this.#waiting.shift() as string;
      this.#active++;
      void this.#readOne(id).finally(() => {
        this.#active--;
        this.#pump();
        if (this.#active === 0 && this.#waiting.length === 0) {
          for (const resolve of this.#idle) resolve();
          this.#idle.clear();
        }
      });
    }
  }

  async #readOne(id: string): Promise<void> {
    const entry = this.#entries.get(id) as Entry;
    const previous = entry.check;
    const signal = AbortSignal.timeout(this.#o.readTimeoutMs ?? 30_000);
    try {
      if (this.#disabled) return;
      const answer = await this.#o.read(id, signal);
      const now = this.#clock.now();
      if (answer === 'not-found') {
        entry.notFoundCount++;
        const wait = Math.min(this.#o.notFoundMaxMs ?? 600_000, (this.#o.notFoundBaseMs ?? 30_000) * 2 ** (entry.notFoundCount - 1));
        entry.check = { kind: 'not-found', message: `user-assigned identity ${id} does not exist in Azure (or its resource group does not)` };
        entry.dueAt = now + wait;
      } else {
        entry.notFoundCount = 0;
        entry.check = { kind: 'found', clientId: answer.clientId };
        entry.dueAt = now + (this.#o.okTtlMs ?? 6 * 3_600_000);
      }
    } catch (err) {
      if (isIdentityReadForbiddenError(err)) {
        if (!this.#disabled) {
          this.#disabled = true;
          this.#o.logger?.warn('Identity validation disabled: the controller may not read user-assigned identities', { identity: id, err });
        }
        entry.check = { kind: 'unknown' };
        return;
      }
      this.#o.logger?.debug('Identity validation read failed', { identity: id, err });
      entry.dueAt = this.#clock.now() + (this.#o.errorRetryMs ?? 60_000);
      return;
    } finally {
      entry.running = false;
      entry.first?.resolve();
      entry.first = undefined;
    }
    if (!sameCheck(previous, entry.check)) {
      try {
        this.#o.onResult?.(id, entry.check);
      } catch (e) {
        this.#o.logger?.warn('Identity validation hook failed', { identity: id, err: e });
      }
    }
  }
}

function sameCheck(a: IdentityCheck, b: IdentityCheck): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'found' && b.kind === 'found') return a.clientId === b.clientId;
  return true;
}
