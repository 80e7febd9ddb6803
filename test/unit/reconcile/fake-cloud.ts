/**
 * In-memory CloudProvider for reconcile tests: targets are sets of canonical identity IDs in a Map,
 * every call is recorded in a readable form, and errors can be scripted per call or per identity.
 * Like ARM, every change bumps the target's etag and a write conditioned on an older etag fails with
 * 412 (PreconditionFailedError).
 */
import { targetKey, type CloudProvider, type Target, type TargetIdentities, type TargetKind, type UpdateOptions, type UpdateResult } from '../../../controller/cloud/provider.js';
import { IdentityRejectedError, PreconditionFailedError } from '../../../controller/cloud/errors.js';

/** Last path segment of an identity ID, to keep recorded calls short. */
export function shortId(id: string): string {
  return id.slice(id.lastIndexOf('/') + 1);
}

/** A scripted ARM double. */
export class FakeCloud implements CloudProvider {
  /** Identities per target key. */
  readonly identities = new Map<string, Set<string>>();
  /** `get <key>` / `update <key> +a,b -c` in call order. */
  readonly calls: string[] = [];
  /** Errors thrown by the next GETs, one per call. */
  readonly getErrors: unknown[] = [];
  /** Errors thrown by the next GETs of one target (by target key), one per call; checked first. */
  readonly getErrorsFor = new Map<string, unknown[]>();
  /** Errors thrown by the next LISTs, one per call. */
  readonly listErrors: unknown[] = [];
  /** Target keys a LIST leaves out (as if listed before they existed, or eventually consistent). */
  readonly hiddenFromList = new Set<string>();
  /** Awaited by every LIST before it answers (tests hold a list in flight with it). */
  listGate: Promise<void> | undefined;
  /** Errors thrown by the next updates, one per call. */
  readonly updateErrors: unknown[] = [];
  /** Identities ARM refuses to assign (like a missing role assignment): the whole PATCH fails naming them. */
  readonly forbidden = new Set<string>();
  /** Etag per target key (bumped by every change, ours or out of band). */
  readonly etags = new Map<string, number>();
  /** Client ID ARM reports per identity (canonical ID → client ID); identities not listed report none. */
  readonly clientIds = new Map<string, string>();
  /** Adds beyond this many are applied as a second chunk, the first reported through `onProgress` (like ARM's 150 per PATCH). */
  chunkSize: number | undefined;
  /** Called between two chunks, after `onProgress` (tests look at the caller's state there). */
  betweenChunks: (() => void) | undefined;
  /** Called at the start of every update (before anything is applied). */
  onUpdate: ((target: Target, add: readonly string[], remove: readonly string[]) => void) | undefined;

  /** Seeds a target with identities. */
  seed(target: Target, ids: readonly string[]): void {
    const key = targetKey(target);
    this.identities.set(key, new Set(ids));
    this.etags.set(key, (this.etags.get(key) ?? 0) + 1);
  }

  /** Identities on a target, short and sorted. */
  on(target: Target): string[] {
    return [...(this.identities.get(targetKey(target)) ?? [])].map(shortId).sort();
  }

  /** Calls of one kind (`get`, `list` or `update`). */
  callsOf(kind: 'get' | 'list' | 'update'): string[] {
    return this.calls.filter((c) => c.startsWith(`${kind} `));
  }

  async getIdentities(target: Target): Promise<TargetIdentities> {
    const key = targetKey(target);
    this.calls.push(`get ${key}`);
    const err = this.getErrorsFor.get(key)?.shift() ?? this.getErrors.shift();
    if (err !== undefined) throw err;
    return this.#state(key);
  }

  /** `list <kind>:<sub>/<rg>`: every seeded target of the group except those hidden. */
  async listIdentities(subscriptionId: string, resourceGroup: string, kind: TargetKind): Promise<Map<string, TargetIdentities>> {
    const prefix = `${kind}:${subscriptionId}/${resourceGroup}/`.toLowerCase();
    this.calls.push(`list ${prefix.slice(0, -1)}`);
    const err = this.listErrors.shift();
    if (err !== undefined) throw err;
    const snapshot = new Map<string, TargetIdentities>();
    for (const key of this.identities.keys()) if (key.startsWith(prefix) && !this.hiddenFromList.has(key)) snapshot.set(key, this.#state(key));
    await this.listGate;
    return snapshot;
  }

  async updateIdentities(target: Target, add: readonly string[], remove: readonly string[], current?: TargetIdentities, options?: UpdateOptions): Promise<UpdateResult> {
    const key = targetKey(target);
    options?.beforeWrite?.();
    this.calls.push(`update ${key} +${add.map(shortId).join(',')} -${remove.map(shortId).join(',')}`);
    this.onUpdate?.(target, add, remove);
    if (current?.etag !== undefined && current.etag !== this.#etag(key)) {
      throw new PreconditionFailedError('The resource changed since it was read', { statusCode: 412, armCode: 'PreconditionFailed' });
    }
    const err = this.updateErrors.shift();
    if (err !== undefined) throw err;
    const refused = add.filter((id) => this.forbidden.has(id));
    if (refused.length) {
      throw new IdentityRejectedError('LinkedAuthorizationFailed', { identityIds: refused, reason: 'forbidden', armCode: 'LinkedAuthorizationFailed', statusCode: 403 });
    }
    const ids = this.identities.get(key) ?? new Set<string>();
    const split = this.chunkSize !== undefined && add.length > this.chunkSize ? this.chunkSize : add.length;
    for (const id of remove) ids.delete(id);
    for (const id of add.slice(0, split)) ids.add(id);
    this.identities.set(key, ids);
    this.etags.set(key, (this.etags.get(key) ?? 0) + 1);
    if (split === add.length) return { after: this.#state(key), writes: 1 };
    options?.onProgress?.(this.#state(key));
    this.betweenChunks?.();
    for (const id of add.slice(split)) ids.add(id);
    this.etags.set(key, (this.etags.get(key) ?? 0) + 1);
    return { after: this.#state(key), writes: 2 };
  }

  #etag(key: string): string {
    return `"${this.etags.get(key) ?? 0}"`;
  }

  #state(key: string): TargetIdentities {
    const ids = new Set(this.identities.get(key) ?? []);
    const clientIds = new Map([...ids].filter((id) => this.clientIds.has(id)).map((id) => [id, this.clientIds.get(id)!]));
    return { userAssigned: ids, type: ids.size ? 'UserAssigned' : 'None', etag: this.#etag(key), clientIds };
  }
}
