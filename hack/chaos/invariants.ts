/**
 * The two invariants checked at every step of the chaos run when other writers share the targets
 * (see bench/RELIABILITY.md, "Invariants with out-of-band writers"):
 *
 * (a) {@link WriteLedger}: every identity write the controller made, compared with the state right
 *     before it was applied, changes neither the system-assigned identity nor any user-assigned
 *     identity the controller does not own (owned = its own addition is the latest one), never removes
 *     an immutable identity and never adds one that no AzureIdentity could have asked for.
 * (b) {@link AssignedSampler}: an AAI observed `Assigned` (for a pod that exists and wants exactly that
 *     assignment) has its identity on the target, except within a bounded window after an out-of-band
 *     removal.
 *
 * Both are fed from the Azure emulator's write log (attributed per writer) and the kube emulator's
 * store; no controller code is involved. Pure logic over the inputs given.
 */
import type { IdentityWrite } from '../emulators/azure/index.js';
import { expectedAssignments, targetOfProviderId, type ClusterView } from './oracle.js';
import { writerName } from './writers.js';

/** When and by whom an identity was last removed from a target. */
export interface Removal {
  at: number;
  writer: string;
  write: IdentityWrite;
}

/** Options of {@link WriteLedger}. */
export interface WriteLedgerOptions {
  /** Lower-cased identity IDs the controller must never remove (`--immutable-user-msis`, cluster identity). */
  immutable: ReadonlySet<string>;
  /** Lower-cased identity IDs some AzureIdentity of the run may name (the only ones the controller may add). */
  manageable: ReadonlySet<string>;
}

/** One controller write that broke invariant (a). */
export interface WriteViolation {
  write: IdentityWrite;
  problems: string[];
}

const keyOf = (target: string, identity: string): string => `${target.toLowerCase()}|${identity.toLowerCase()}`;

/**
 * Replays the emulator's identity write log in order (all writers) and checks every controller
 * write (invariant (a)); also answers who owns an identity on a target and when it was last removed.
 */
export class WriteLedger {
  readonly #o: WriteLedgerOptions;
  /** target|identity → writer of the latest addition, for identities present now. */
  readonly #owner = new Map<string, string>();
  readonly #lastRemoval = new Map<string, Removal>();
  #applied = 0;
  #controllerWrites = 0;

  constructor(o: WriteLedgerOptions) {
    this.#o = o;
  }

  /** Number of writes consumed so far (pass as `from` to the emulator's `identityWrites`). */
  get position(): number {
    return this.#applied;
  }

  /** Controller writes checked so far. */
  get controllerWrites(): number {
    return this.#controllerWrites;
  }

  /** Consumes the next writes of the log (in order) and returns the controller writes that broke (a). */
  apply(writes: readonly IdentityWrite[]): WriteViolation[] {
    const out: WriteViolation[] = [];
    for (const w of writes) {
      this.#applied++;
      const writer = writerName(w);
      const before = new Set(w.before.userAssigned.map((id) => id.toLowerCase()));
      const after = new Set(w.after.userAssigned.map((id) => id.toLowerCase()));
      const added = [...after].filter((id) => !before.has(id));
      const removed = [...before].filter((id) => !after.has(id));
      if (writer === 'mic') {
        this.#controllerWrites++;
        const problems: string[] = [];
        if (w.before.systemAssigned !== w.after.systemAssigned) {
          problems.push(`changed the system-assigned identity ${w.before.systemAssigned ? 'on → off (its principal and role assignments are gone)' : 'off → on'}`);
        }
        for (const id of removed) {
          const owner = this.#owner.get(keyOf(w.resource, id)) ?? 'unknown';
          if (this.#o.immutable.has(id)) problems.push(`removed immutable identity ${short(id)}`);
          else if (owner !== 'mic') problems.push(`removed ${short(id)}, which it does not own (added by ${owner})`);
        }
        for (const id of added) if (!this.#o.manageable.has(id)) problems.push(`added ${short(id)}, which no AzureIdentity names`);
        if (problems.length > 0) out.push({ write: w, problems });
      }
      for (const id of removed) {
        this.#owner.delete(keyOf(w.resource, id));
        this.#lastRemoval.set(keyOf(w.resource, id), { at: w.at, writer, write: w });
      }
      for (const id of added) this.#owner.set(keyOf(w.resource, id), writer);
    }
    return out;
  }

  /** Lower-cased identities on `target` whose latest addition was the controller's. */
  controllerOwned(target: string): string[] {
    const prefix = `${target.toLowerCase()}|`;
    return [...this.#owner].filter(([k, by]) => by === 'mic' && k.startsWith(prefix)).map(([k]) => k.slice(prefix.length));
  }

  /** Who added `identity` to `target` last (undefined when it is not there as far as the log says). */
  ownerOf(target: string, identity: string): string | undefined {
    return this.#owner.get(keyOf(target, identity));
  }

  /** Whether `identity` is on `target` after the writes consumed so far. */
  isPresent(target: string, identity: string): boolean {
    return this.#owner.has(keyOf(target, identity));
  }

  /** The latest removal of `identity` from `target`, if any. */
  lastRemoval(target: string, identity: string): Removal | undefined {
    return this.#lastRemoval.get(keyOf(target, identity));
  }
}

/** The windows of invariant (b) (ms). */
export interface AssignedBounds {
  /**
   * An AAI may become `Assigned` after an out-of-band removal of its identity only within this time
   * of the removal (the controller's confirmed read may be up to one reconcile interval old, plus
   * the AAI status write's queueing).
   */
  newAssignMs: number;
  /** An AAI already `Assigned` may stay so at most this long after an out-of-band removal (repair bound). */
  repairMs: number;
}

/** One AAI found `Assigned` without its identity (the evidence is in the message). */
export interface AssignedViolation {
  message: string;
  target: string;
  /** When the identity left the target (undefined: it was never there). */
  removedAt?: number;
}

/**
 * Invariant (b), sampled between steps: every AAI observed `Assigned` whose pod exists and still
 * wants exactly this assignment (same identity, same node) has its identity on the target, unless
 * an out-of-band writer removed it less than `repairMs` ago and (if the AAI was not yet `Assigned` at
 * the previous sample) less than `newAssignMs` before that sample. A removal by the controller itself
 * gets no window. Reports each (AAI, removal) once.
 */
export class AssignedSampler {
  readonly #bounds: AssignedBounds;
  /** `aai|identity|node` of every AAI Assigned at the previous sample (wanted or not) → first sample that saw it so. */
  #previous = new Map<string, number>();
  #previousAt = 0;
  readonly #reported = new Set<string>();
  /** Longest observed time an AAI stayed Assigned after an out-of-band removal (ms). */
  maxStaleMs = 0;
  /** AAI observations checked (Assigned, wanted). */
  observations = 0;
  /** Observations inside an allowed window (identity absent, removal out of band, within bounds). */
  inWindow = 0;

  constructor(bounds: AssignedBounds) {
    this.#bounds = bounds;
  }

  /**
   * Checks one instant: `view` and `ledger` (fed with every write applied so far) taken at `now`.
   * Presence on a target is read from the ledger, so it is consistent with the removal it reports.
   */
  sample(view: ClusterView, ledger: WriteLedger, now: number): AssignedViolation[] {
    const expected = expectedAssignments(view);
    const nodeTarget = new Map(view.nodes.map((n) => [n.metadata?.name ?? '', targetOfProviderId(n.spec?.providerID as string | undefined)]));
    const current = new Map<string, number>();
    const out: AssignedViolation[] = [];
    for (const aai of view.assigned) {
      if ((aai.status as { status?: string } | undefined)?.status !== 'Assigned') continue;
      const key = `${aai.metadata?.namespace ?? ''}/${aai.metadata?.name ?? ''}`;
      const spec = aai.spec ?? {};
      const identity = (spec.azureIdentityRef as { spec?: { resourceID?: string } } | undefined)?.spec?.resourceID?.toLowerCase() ?? '';
      const node = String(spec.nodename ?? spec.nodeName ?? ''); // upstream's AAI field is `nodename`
      // Tracked whether wanted or not: an AAI that stays Assigned while briefly unwanted (e.g. across a
      // namespaced-mode toggle) has not *become* Assigned when it is wanted again.
      const id = `${key}|${identity}|${node}`;
      const since = this.#previous.get(id) ?? now;
      current.set(id, since);
      const target = nodeTarget.get(node);
      const want = expected.get(key);
      // Not wanted (pod gone, relabelled, moved, binding/identity changed): awaiting deletion, not checked.
      if (!want || !target || want.identityId !== identity || want.node !== node) continue;
      this.observations++;
      if (ledger.isPresent(target, identity)) continue;
      const removal = ledger.lastRemoval(target, identity);
      const seen = since < now ? `seen Assigned with this identity since ${iso(since)}` : `not Assigned with this identity at the previous sample (${iso(this.#previousAt)})`;
      const where = `AAI ${key} (pod ${want.podNamespace}/${want.pod}, node ${node}, resourceVersion ${aai.metadata?.resourceVersion ?? '?'}; ${seen}) is Assigned at ${iso(now)} but ${short(identity)} is not on ${short(target)}`;
      const report = (why: string): void => {
        const dedupe = `${id}|${removal?.at ?? 'never'}`;
        if (this.#reported.has(dedupe)) return;
        this.#reported.add(dedupe);
        out.push({ message: `${where}: ${why}`, target, ...(removal ? { removedAt: removal.at } : {}) });
      };
      if (!removal) {
        report('it was never on the target');
        continue;
      }
      const age = now - removal.at;
      const removedBy = `removed by ${removal.writer} at ${iso(removal.at)} (${(age / 1000).toFixed(1)} s ago) with ${JSON.stringify(removal.write.request ?? '(control)')}`;
      if (removal.writer === 'mic') {
        report(`the controller itself ${removedBy}`);
        continue;
      }
      const wasAssigned = this.#previous.has(id);
      if (!wasAssigned && this.#previousAt - removal.at > this.#bounds.newAssignMs) {
        report(`it became Assigned between ${iso(this.#previousAt)} and ${iso(now)}, although ${short(identity)} was ${removedBy} (allowed: ${this.#bounds.newAssignMs} ms)`);
        continue;
      }
      if (age > this.#bounds.repairMs) {
        report(`still Assigned ${(age / 1000).toFixed(1)} s after ${short(identity)} was ${removedBy} (repair bound ${this.#bounds.repairMs} ms)`);
        continue;
      }
      this.inWindow++;
      this.maxStaleMs = Math.max(this.maxStaleMs, age);
    }
    this.#previous = current;
    this.#previousAt = now;
    return out;
  }
}

/** Last path segment of an ARM ID (identity or target name). */
export function short(id: string): string {
  return id.split('/').pop() ?? id;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}
