/**
 * Applies identity validation to a sync pass: identities ARM says do not exist are held back alone
 * (quarantined with reason `IdentityNotFound`, so every other identity keeps flowing), and Warning
 * Events `IdentityNotFound` / `IdentityClientIDMismatch` go to the pods and AzureIdentities concerned.
 * Never waits: it uses what the {@link IdentityValidator} knows now, which reads in the background.
 */
import type { DesiredAssignment } from '../reconcile/desired.js';
import type { EventObjectRef, EventSink } from '../reconcile/controller.js';
import type { Quarantine } from '../reconcile/quarantine.js';
import type { Logger } from '../observability/logger.js';
import { validateIdentity, type IdentityValidation, type IdentityValidator } from './identity-validator.js';

/** Event reasons of identity validation. */
export const IdentityValidationReasons = {
  notFound: 'IdentityNotFound',
  clientIdMismatch: 'IdentityClientIDMismatch',
} as const;

/** Options of {@link IdentityScreen}. */
export interface IdentityScreenOptions {
  validator: IdentityValidator;
  quarantine: Quarantine;
  events: EventSink;
  logger?: Logger;
  /** Longest wait of a sync pass for the first check of identities never seen before; default 2 s. */
  firstCheckTimeoutMs?: number;
}

/** See file comment. Call {@link IdentityScreen.screen} once per sync pass, while leading. */
export class IdentityScreen {
  readonly #o: IdentityScreenOptions;
  /** Last problem reported per Event target key (pod or AzureIdentity + resource ID); none → no entry. */
  #reported = new Map<string, string>();

  constructor(options: IdentityScreenOptions) {
    this.#o = options;
  }

  /**
   * Screens the identities of the desired assignments: quarantines missing ones and reports problems.
   * Waits (bounded) only for identities never checked before, so a missing one is held back before
   * its first write; a slow or failing check lets the identity through (ARM's own answer still counts).
   */
  async screen(assignments: Iterable<DesiredAssignment>): Promise<void> {
    const list = [...assignments].filter((d) => d.identityId !== undefined);
    const ids = new Set(list.map((d) => d.identityId as string));
    for (const id of ids) this.#o.validator.check(id);
    await this.#o.validator.firstReads(ids, this.#o.firstCheckTimeoutMs ?? 2000);
    const held = this.#o.quarantine.active();
    const reported = new Map<string, string>();
    const results = new Map<string, IdentityValidation>();
    // One validation per AzureIdentity object (thousands of assignments share a few identities).
    const byIdentity = new Map<object, IdentityValidation>();
    for (const d of list) {
      const id = d.identityId;
      if (id === undefined) continue;
      let v = byIdentity.get(d.identity);
      if (v === undefined) {
        v = validateIdentity(this.#o.validator.check(id), d.identity.spec.clientID);
        byIdentity.set(d.identity, v);
      }
      results.set(id, v);
      if (v.kind === 'unknown' || v.kind === 'ok') continue;
      const identityName = `${d.identity.metadata.namespace ?? ''}/${d.identity.metadata.name}`;
      const { reason, message } =
        v.kind === 'not-found'
          ? {
              reason: IdentityValidationReasons.notFound,
              message: `user-assigned identity ${d.identity.spec.resourceID} of AzureIdentity ${identityName} does not exist in Azure: create it or fix spec.resourceID; it is held back (other identities are not affected)`,
            }
          : {
              reason: IdentityValidationReasons.clientIdMismatch,
              message: `AzureIdentity ${identityName} has clientID ${v.expected} but Azure reports clientId ${v.actual} for ${d.identity.spec.resourceID}: fix spec.clientID (token requests through NMI would fail)`,
            };
      const podKey = `pod:${d.pod.namespace}/${d.pod.name}/${d.pod.uid ?? ''}|${id}`;
      const identityKey = `azureidentity:${identityName}|${id}`;
      this.#report(reported, podKey, { apiVersion: 'v1', kind: 'Pod', name: d.pod.name, namespace: d.pod.namespace, uid: d.pod.uid }, reason, message);
      this.#report(
        reported,
        identityKey,
        { apiVersion: 'aadpodidentity.k8s.io/v1', kind: 'AzureIdentity', name: d.identity.metadata.name, namespace: d.identity.metadata.namespace, uid: d.identity.metadata.uid },
        reason,
        message,
      );
    }
    this.#reported = reported;
    for (const [id, v] of results) {
      const entry = this.#o.quarantine.get(id);
      if (v.kind === 'not-found' && !held.has(id)) {
        this.#o.quarantine.reject(id, IdentityValidationReasons.notFound, v.message);
        this.#o.logger?.warn('Holding back a user-assigned identity that does not exist', { identity: id });
      } else if (v.kind !== 'not-found' && v.kind !== 'unknown' && entry?.reason === IdentityValidationReasons.notFound) {
        this.#o.quarantine.clear(id);
      }
    }
  }

  /** Emits an Event for `key` unless the same reason was reported for it in the previous pass. */
  #report(reported: Map<string, string>, key: string, ref: EventObjectRef, reason: string, message: string): void {
    if (reported.has(key)) return;
    reported.set(key, reason);
    if (this.#reported.get(key) === reason) return;
    this.#o.events.record(ref, 'Warning', reason, message);
  }
}
