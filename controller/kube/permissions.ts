/**
 * Missing RBAC permissions, reported once each. Upstream's ClusterRole lacks some verbs this
 * controller can use (Leases, ConfigMap list, pods/status, ...); each feature that needs one falls
 * back or is skipped, and reports here: ONE Error log line and ONE Warning Event per permission, and
 * the list is shown on `/readyz`, so a degraded replica is never silently degraded.
 */
import type { Logger } from '../observability/logger.js';
import type { EventSink, ObjectReferenceLike } from './event-recorder.js';

/** One permission the controller was refused. */
export interface MissingPermission {
  /** Verb as RBAC spells it: get, list, watch, create, update, patch, delete. */
  verb: string;
  /** Resource as RBAC spells it, with its group: `leases.coordination.k8s.io`, `configmaps`, `pods/status`. */
  resource: string;
  /** Namespace of the refused request ('' for cluster scope). */
  namespace: string;
  /** What the controller does without it (one short sentence, for the log line and the Event). */
  consequence: string;
}

/** Reason of the Warning Event. */
export const MISSING_PERMISSION_REASON = 'MissingPermission';

/** `<verb> <resource> [in <ns>]`, as shown in logs, Events and `/readyz`. */
export function describePermission(p: Pick<MissingPermission, 'verb' | 'resource' | 'namespace'>): string {
  return `${p.verb} ${p.resource}${p.namespace ? ` in ${p.namespace}` : ''}`;
}

/** Options of {@link PermissionReporter}. */
export interface PermissionReporterOptions {
  logger: Logger;
  /** Where Warning Events go (may be set later with {@link PermissionReporter.attach}). */
  events?: EventSink;
  /** The object Events are recorded on (the leader lock object, usually). */
  eventTarget?: () => ObjectReferenceLike | undefined;
  /** Called after a new permission was added (metrics, for example). */
  onMissing?: (p: MissingPermission) => void;
}

/** Collects missing permissions; see the module comment. */
export class PermissionReporter {
  readonly #o: PermissionReporterOptions;
  readonly #missing = new Map<string, MissingPermission>();

  constructor(o: PermissionReporterOptions) {
    this.#o = o;
  }

  /** Records a refused permission; logs and emits an Event the first time only. Returns true when new. */
  report(p: MissingPermission): boolean {
    const key = describePermission(p);
    if (this.#missing.has(key)) return false;
    this.#missing.set(key, p);
    this.#o.logger.error('Missing RBAC permission; feature degraded', { permission: key, consequence: p.consequence });
    const target = this.#o.eventTarget?.();
    if (target) this.#o.events?.record(target, 'Warning', MISSING_PERMISSION_REASON, `missing RBAC permission "${key}": ${p.consequence}`);
    this.#o.onMissing?.(p);
    return true;
  }

  /** Every permission reported so far. */
  missing(): MissingPermission[] {
    return [...this.#missing.values()];
  }

  /** `describePermission` of each, for `/readyz`. */
  summary(): string[] {
    return [...this.#missing.keys()];
  }
}

/**
 * Wraps a write that needs `permission`: the first 403 is reported through `reporter`, and from then
 * on the wrapper does nothing (the feature is off until restart) instead of failing on every call.
 */
export function skipWhenForbidden<A extends unknown[]>(
  write: (...args: A) => Promise<void>,
  reporter: PermissionReporter,
  permission: MissingPermission,
  isForbidden: (e: unknown) => boolean,
): (...args: A) => Promise<void> {
  let refused = false;
  return async (...args: A) => {
    if (refused) return;
    try {
      await write(...args);
    } catch (err) {
      if (!isForbidden(err)) throw err;
      refused = true;
      reporter.report(permission);
    }
  };
}
