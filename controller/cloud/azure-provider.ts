/**
 * {@link CloudProvider} on the Azure Compute SDK: GET and identity PATCH of VM scale sets and VMs.
 *
 * - One `ComputeManagementClient` per subscription, created lazily, with SDK retries disabled
 *   (`maxRetries: 0`): 429 and Retry-After are handled by the caller's queue and by the optional
 *   {@link ArmRateLimiter}, never by sleeping inside the SDK. Reads are retried here on transient
 *   failures (`readRetries`, default 1).
 * - Rate limiting lives inside this class (option `rateLimiter`): every GET and every PATCH chunk
 *   reserves a token first; a refusal throws a local {@link ThrottledError} without sending. A 429
 *   from ARM sets the target's (or subscription's) Retry-After gate.
 * - Every error thrown is a classified {@link CloudError}. After a failed update the resource state
 *   is unknown (earlier chunks may have landed): callers should re-read before the next plan.
 */
import { ComputeManagementClient } from '@azure/arm-compute';
import type { ComputeManagementClientOptionalParams, VirtualMachineScaleSetUpdate, VirtualMachineUpdate } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import type { Logger } from '../observability/logger.js';
import type { CloudProvider, Target, TargetIdentities, TargetKind, UpdateOptions, UpdateResult } from './provider.js';
import { targetArmId, targetKey } from './provider.js';
import { applyIdentityPatch, planIdentityPatch } from './delta.js';
import type { IdentityPatchBody } from './delta.js';
import { canonicalIdentityId } from './identity-id.js';
import { armTokenScope } from './credential.js';
import { abortableCredential } from './abortable-credential.js';
import type { CloudError } from './errors.js';
import { TargetDeletingError, ThrottledError, classifyCloudError, isThrottledError, isTransientArmError } from './errors.js';
import type { ArmRateLimiter, CallKind } from './throttle.js';

/** Operation names reported to {@link AzureCloudProviderOptions.onCall} (upstream metric labels). */
export type CloudOperation = 'vmss_get' | 'vmss_update' | 'vm_get' | 'vm_update' | 'vmss_list' | 'vm_list';

/** One finished ARM call, for metrics. */
export interface CloudCallEvent {
  op: CloudOperation;
  outcome: 'success' | 'throttled' | 'error';
  durationMs: number;
  /** HTTP status of a failure, when known. */
  statusCode?: number;
  /** Class name of the classified error, on failure. */
  errorClass?: string;
  /** True when the rate limiter refused the call (nothing was sent). */
  local?: boolean;
}

/** Options of {@link AzureCloudProvider}. */
export interface AzureCloudProviderOptions {
  credential: TokenCredential;
  /** ARM endpoint of the cloud; default `https://management.azure.com`. */
  resourceManagerEndpoint?: string;
  /** Token audience of the cloud (scope = `<audience>/.default`); default: the ARM endpoint. */
  tokenAudience?: string;
  /** User agent prefix; default `aad-pod-identity/MIC`. */
  userAgent?: string;
  /** LRO poll interval (ARM's Retry-After on polls overrides it); default 2000 ms. */
  updateIntervalInMs?: number;
  /** Timeout of one GET; default 30 s. */
  readTimeoutMs?: number;
  /** Timeout of one PATCH including its LRO; default 10 min. */
  updateTimeoutMs?: number;
  /** Extra attempts for reads that failed transiently; default 1. */
  readRetries?: number;
  /** Base delay between read attempts (doubles each attempt); default 500 ms. */
  readRetryDelayMs?: number;
  /** Client-side budgets and Retry-After gates; none by default. */
  rateLimiter?: ArmRateLimiter;
  /** Passed to the SDK pipeline (tests record requests, emulators set an agent). */
  additionalPolicies?: ComputeManagementClientOptionalParams['additionalPolicies'];
  /** Passed to the SDK (tests use an in-memory `sendRequest`). */
  httpClient?: ComputeManagementClientOptionalParams['httpClient'];
  clock?: Clock;
  logger?: Logger;
  /** Called after every ARM call (and every local refusal). Must not throw. */
  onCall?: (event: CloudCallEvent) => void;
}

/** Default ARM endpoint (public cloud). */
export const DEFAULT_ARM_ENDPOINT = 'https://management.azure.com';

/** Identity PATCH/GET on VMSS and VMs through `@azure/arm-compute`. */
export class AzureCloudProvider implements CloudProvider {
  readonly #options: AzureCloudProviderOptions;
  readonly #clock: Clock;
  readonly #clients = new Map<string, ComputeManagementClient>();

  constructor(options: AzureCloudProviderOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** The SDK client of a subscription (created on first use). */
  clientFor(subscriptionId: string): ComputeManagementClient {
    const key = subscriptionId.toLowerCase();
    let client = this.#clients.get(key);
    if (!client) {
      const o = this.#options;
      const endpoint = (o.resourceManagerEndpoint || DEFAULT_ARM_ENDPOINT).replace(/\/+$/, '');
      client = new ComputeManagementClient(abortableCredential(o.credential), subscriptionId, {
        endpoint,
        credentials: { scopes: [armTokenScope({ tokenAudience: o.tokenAudience, resourceManagerEndpoint: endpoint })] },
        retryOptions: { maxRetries: 0 },
        userAgentOptions: { userAgentPrefix: o.userAgent ?? 'aad-pod-identity/MIC' },
        ...(o.additionalPolicies ? { additionalPolicies: o.additionalPolicies } : {}),
        ...(o.httpClient ? { httpClient: o.httpClient } : {}),
      });
      this.#clients.set(key, client);
    }
    return client;
  }

  /** Reads the identities of a VM or VMSS (retrying transient failures `readRetries` times). */
  async getIdentities(target: Target, signal?: AbortSignal): Promise<TargetIdentities> {
    const retries = this.#options.readRetries ?? 1;
    const baseDelay = this.#options.readRetryDelayMs ?? 500;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#getOnce(target, signal);
      } catch (e) {
        if (!isTransientArmError(e) || attempt >= retries) throw e;
        this.#options.logger?.debug('Retrying ARM read', { ...logFields(target), attempt: attempt + 1, err: e });
        await this.#clock.sleep(Math.max(baseDelay * 2 ** attempt, e.retryAfterMs), signal).catch((reason: unknown) => {
          throw classifyCloudError(reason, { callerSignal: signal });
        });
      }
    }
  }

  async #getOnce(target: Target, signal: AbortSignal | undefined): Promise<TargetIdentities> {
    const client = this.clientFor(target.subscriptionId);
    const op: CloudOperation = target.kind === 'vmss' ? 'vmss_get' : 'vm_get';
    const resource = await this.#call(target, op, 'read', this.#options.readTimeoutMs ?? 30_000, signal, [], (abortSignal) =>
      target.kind === 'vmss'
        ? client.virtualMachineScaleSets.get(target.resourceGroup, target.name, { abortSignal })
        : client.virtualMachines.get(target.resourceGroup, target.name, { abortSignal }),
    );
    return toTargetIdentities(resource);
  }

  /**
   * Lists the VMSS (or VMs) of one resource group with their identities and etags: one ARM LIST, all
   * pages followed through the SDK's async iterator, rate limited as one read of the group (the gate
   * and budget of the pseudo-target `<kind>:<sub>/<rg>/*`), reported as `vmss_list`/`vm_list`.
   * Transient failures are retried like reads.
   */
  async listIdentities(subscriptionId: string, resourceGroup: string, kind: TargetKind, signal?: AbortSignal): Promise<Map<string, TargetIdentities>> {
    const group: Target = { kind, subscriptionId, resourceGroup, name: '*' };
    const retries = this.#options.readRetries ?? 1;
    const baseDelay = this.#options.readRetryDelayMs ?? 500;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#listOnce(group, signal);
      } catch (e) {
        if (!isTransientArmError(e) || attempt >= retries) throw e;
        this.#options.logger?.debug('Retrying ARM list', { resourceGroup, kind, attempt: attempt + 1, err: e });
        await this.#clock.sleep(Math.max(baseDelay * 2 ** attempt, e.retryAfterMs), signal).catch((reason: unknown) => {
          throw classifyCloudError(reason, { callerSignal: signal });
        });
      }
    }
  }

  async #listOnce(group: Target, signal: AbortSignal | undefined): Promise<Map<string, TargetIdentities>> {
    const client = this.clientFor(group.subscriptionId);
    const op: CloudOperation = group.kind === 'vmss' ? 'vmss_list' : 'vm_list';
    return this.#call(group, op, 'read', this.#options.readTimeoutMs ?? 30_000, signal, [], async (abortSignal) => {
      const out = new Map<string, TargetIdentities>();
      const pages = group.kind === 'vmss'
        ? client.virtualMachineScaleSets.list(group.resourceGroup, { abortSignal })
        : client.virtualMachines.list(group.resourceGroup, { abortSignal });
      for await (const resource of pages) {
        if (!resource.name) continue;
        out.set(targetKey({ ...group, name: resource.name }), toTargetIdentities(resource));
      }
      return out;
    });
  }

  /**
   * Adds and removes identities with PATCH deltas (≤150 per request, sent one after another, each
   * LRO awaited), every request conditioned on an etag (`If-Match`). Plans from `current` when it
   * carries an etag, else GETs first. Each chunk is re-planned from the state the previous chunk's
   * LRO reported (with its etag), so the identity `type` sent always comes from the state the request
   * is conditioned on. Refuses targets whose provisioningState is `Deleting`. `beforeWrite` runs right
   * before each PATCH; `onProgress` after each chunk ARM confirmed when more follow. Returns the state
   * reported by the last LRO.
   */
  async updateIdentities(
    target: Target,
    add: readonly string[],
    remove: readonly string[],
    current?: TargetIdentities,
    options?: UpdateOptions | AbortSignal,
  ): Promise<UpdateResult> {
    const { signal, beforeWrite, onProgress } = updateOptions(options);
    if (add.length === 0 && remove.length === 0 && current) return { after: current, writes: 0 };
    // A view without an etag cannot condition a write: any PATCH (it always carries `type`) could undo
    // a change made since, so read first and plan from that.
    let state = current?.etag !== undefined ? current : await this.getIdentities(target, signal);
    const planned = planIdentityPatch(state, add, remove).length;
    if (planned === 0) {
      if (add.length > 0 || remove.length > 0) this.#options.logger?.debug('No identity change needed', logFields(target));
      return { after: state, writes: 0 };
    }
    if (state.provisioningState?.toLowerCase() === 'deleting') {
      throw new TargetDeletingError(`${target.kind} ${target.name} is in Deleting provisioning state`);
    }
    let writes = 0;
    /** Whether `state` came from ARM in this call or carries an etag (else re-read before the next chunk). */
    let fresh = true;
    // Re-planning after each chunk converges in `planned` chunks unless others write meanwhile (then
    // the etag no longer matches and ARM answers 412); the bound only stops a misbehaving server.
    for (let body = planIdentityPatch(state, add, remove)[0]; body && writes < planned + 1; body = planIdentityPatch(state, add, remove)[0]) {
      if (!fresh) {
        // The previous chunk's result carried no etag: re-read so this chunk is planned from fresh state.
        state = await this.getIdentities(target, signal);
        fresh = true;
        continue;
      }
      this.#options.logger?.info('Updating user-assigned identities', {
        ...logFields(target),
        identityType: body.identity.type,
        assign: countEntries(body, false),
        unassign: countEntries(body, true),
        chunk: writes + 1,
        chunks: Math.max(planned, writes + 1),
        conditional: state.etag !== undefined,
      });
      beforeWrite?.();
      const result = await this.#patch(target, body, state.etag, signal);
      writes++;
      state = stateAfterChunk(state, body, result);
      fresh = state.etag !== undefined;
      // ARM's word on this chunk, while the next ones are still to come (pods waiting for the identities
      // it added need not wait for the whole change).
      if (result?.identity && onProgress && planIdentityPatch(state, add, remove).length > 0) onProgress(state);
    }
    if (planIdentityPatch(state, add, remove).length > 0) {
      this.#options.logger?.warn('Identity update did not converge; the caller re-reads and retries', { ...logFields(target), writes });
    }
    return { after: state, writes };
  }

  async #patch(target: Target, body: IdentityPatchBody, ifMatch: string | undefined, signal: AbortSignal | undefined): Promise<ArmResource | undefined> {
    const client = this.clientFor(target.subscriptionId);
    const op: CloudOperation = target.kind === 'vmss' ? 'vmss_update' : 'vm_update';
    const options = { updateIntervalInMs: this.#options.updateIntervalInMs ?? 2000, ...(ifMatch !== undefined ? { ifMatch } : {}) };
    // The SDK types a removal (`null`) as impossible, but serialises it unchanged: see the wiring test.
    const parameters = { identity: body.identity } as unknown as VirtualMachineScaleSetUpdate & VirtualMachineUpdate;
    const requested = Object.entries(body.identity.userAssignedIdentities ?? {}).filter(([, v]) => v !== null).map(([id]) => id);
    return this.#call(target, op, 'write', this.#options.updateTimeoutMs ?? 600_000, signal, requested, (abortSignal) =>
      // `pollUntilDone({ abortSignal })`, not `await poller`: awaiting the poller polls without the
      // signal, so its sleep between polls ignored the abort (the signal only reached the HTTP calls).
      target.kind === 'vmss'
        ? client.virtualMachineScaleSets.update(target.resourceGroup, target.name, parameters, { ...options, abortSignal }).pollUntilDone({ abortSignal })
        : client.virtualMachines.update(target.resourceGroup, target.name, parameters, { ...options, abortSignal }).pollUntilDone({ abortSignal }),
    );
  }

  /** Runs one ARM call with rate limiting, a timeout, classification and the `onCall` hook. */
  async #call<T>(
    target: Target,
    op: CloudOperation,
    kind: CallKind,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    requestedIdentityIds: readonly string[],
    fn: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const limiter = this.#options.rateLimiter;
    if (limiter) {
      const reservation = limiter.reserve(target, kind);
      if (!reservation.ok) {
        this.#report({ op, outcome: 'throttled', durationMs: 0, errorClass: 'ThrottledError', local: true });
        throw new ThrottledError(`client-side ${kind} budget exhausted for ${target.kind} ${target.name}`, {
          retryAfterMs: reservation.waitMs,
          scope: reservation.scope,
          local: true,
        });
      }
    }
    if (signal?.aborted) throw classifyCloudError(signal.reason, { callerSignal: signal });
    const timeout = new AbortController();
    let timedOut = false;
    const cancelTimer = this.#clock.setTimer(() => {
      timedOut = true;
      timeout.abort(new Error('ARM call timed out'));
    }, timeoutMs);
    const abortSignal = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    const started = this.#clock.now();
    try {
      const result = await fn(abortSignal);
      this.#report({ op, outcome: 'success', durationMs: this.#clock.now() - started });
      return result;
    } catch (e) {
      const err = classifyCloudError(e, { callerSignal: signal, timedOut, nowMs: this.#clock.now(), target, requestedIdentityIds });
      this.#noteThrottle(target, kind, err);
      this.#report({
        op,
        outcome: isThrottledError(err) ? 'throttled' : 'error',
        durationMs: this.#clock.now() - started,
        errorClass: err.name,
        ...(err.statusCode !== undefined ? { statusCode: err.statusCode } : {}),
      });
      throw err;
    } finally {
      cancelTimer();
    }
  }

  #noteThrottle(target: Target, kind: CallKind, err: CloudError): void {
    const limiter = this.#options.rateLimiter;
    if (!limiter || !isThrottledError(err) || err.local) return;
    if (err.scope === 'subscription') limiter.noteSubscriptionRetryAfter(target.subscriptionId, err.retryAfterMs);
    else limiter.noteRetryAfter(target, err.retryAfterMs, kind);
  }

  #report(event: CloudCallEvent): void {
    try {
      this.#options.onCall?.(event);
    } catch (e) {
      this.#options.logger?.warn('Cloud call hook failed', { err: e });
    }
  }
}

/** The fields of a VM/VMSS this provider reads. */
interface ArmResource {
  identity?: { type?: string; userAssignedIdentities?: Record<string, { clientId?: string | null } | null | undefined> };
  provisioningState?: string;
  etag?: string;
}

/** Maps an SDK VM/VMSS to {@link TargetIdentities} (canonical IDs, lower-cased client IDs, etag). */
export function toTargetIdentities(resource: ArmResource | undefined): TargetIdentities {
  const entries = Object.entries(resource?.identity?.userAssignedIdentities ?? {});
  const clientIds = new Map<string, string>();
  for (const [id, value] of entries) {
    if (typeof value?.clientId === 'string' && value.clientId !== '') clientIds.set(canonicalIdentityId(id), value.clientId.toLowerCase());
  }
  const out: TargetIdentities = {
    userAssigned: new Set(entries.map(([id]) => canonicalIdentityId(id))),
    type: resource?.identity?.type ?? '',
    clientIds,
  };
  if (resource?.provisioningState !== undefined) out.provisioningState = resource.provisioningState;
  if (resource?.etag !== undefined) out.etag = resource.etag;
  return out;
}

/**
 * The state after one PATCH chunk: what the LRO reported (with its etag). An LRO result without an
 * identity block (ARM omits it for type `None`) or without a result at all: the chunk applied to
 * `before`, with the reported etag if any (none → the next chunk reads first).
 */
function stateAfterChunk(before: TargetIdentities, body: IdentityPatchBody, result: ArmResource | undefined): TargetIdentities {
  if (result?.identity) return toTargetIdentities(result);
  const after = applyIdentityPatch(before, body);
  if (result?.provisioningState !== undefined) after.provisioningState = result.provisioningState;
  if (result?.etag !== undefined) after.etag = result.etag;
  return after;
}

/** Normalises the options argument (a bare signal from callers not yet migrated). */
function updateOptions(options: UpdateOptions | AbortSignal | undefined): UpdateOptions {
  if (options === undefined) return {};
  return options instanceof AbortSignal ? { signal: options } : options;
}

function countEntries(body: IdentityPatchBody, removals: boolean): number {
  return Object.values(body.identity.userAssignedIdentities ?? {}).filter((v) => (v === null) === removals).length;
}

function logFields(target: Target): Record<string, string> {
  return { [target.kind]: targetArmId(target) };
}
