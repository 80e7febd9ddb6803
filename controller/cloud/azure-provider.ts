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
import { untilAborted } from '../util/abort.js';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { ComputeManagementClientOptionalParams, VirtualMachineScaleSetUpdate, VirtualMachineUpdate } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import type { Logger } from '../observability/logger.js';
import type { CloudProvider, Target, TargetIdentities, UpdateOptions, UpdateResult } from './provider.js';
import { targetArmId } from './provider.js';
import { applyIdentityPatch, planIdentityPatch } from './delta.js';
import type { IdentityPatchBody } from './delta.js';
import { canonicalIdentityId } from './identity-id.js';
import { armTokenScope } from './credential.js';
import type { CloudError } from './errors.js';
import { TargetDeletingError, ThrottledError, classifyCloudError, isThrottledError, isTransientArmError } from './errors.js';
import type { ArmRateLimiter, CallKind } from './throttle.js';

/** Operation names reported to {@link AzureCloudProviderOptions.onCall} (upstream metric labels). */
export type CloudOperation = 'vmss_get' | 'vmss_update' | 'vm_get' | 'vm_update';

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
      client = new ComputeManagementClient(o.credential, subscriptionId, {
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
    const resource = await this.#call(target, op, 'read', this.#options.readTimeoutMs ?? 30_000, signal, (abortSignal) =>
      target.kind === 'vmss'
        ? client.virtualMachineScaleSets.get(target.resourceGroup, target.name, { abortSignal })
        : client.virtualMachines.get(target.resourceGroup, target.name, { abortSignal }),
    );
    return toTargetIdentities(resource);
  }

  /**
   * Adds and removes identities with PATCH deltas (≤150 per request, sent one after another, each
   * LRO awaited). Plans from `current` when given, else GETs first. Refuses targets whose
   * provisioningState is `Deleting`. Returns the state reported by the last LRO.
   */
  async updateIdentities(
    target: Target,
    add: readonly string[],
    remove: readonly string[],
    current?: TargetIdentities,
    options?: UpdateOptions,
  ): Promise<UpdateResult> {
    const signal = options?.signal;
    let state = current ?? (await this.getIdentities(target, signal));
    if (add.length === 0 && remove.length === 0) return { after: state, writes: 0 };
    if (state.provisioningState?.toLowerCase() === 'deleting') {
      throw new TargetDeletingError(`${target.kind} ${target.name} is in Deleting provisioning state`);
    }
    const bodies = planIdentityPatch(state, add, remove);
    if (bodies.length === 0) {
      this.#options.logger?.debug('No identity change needed', logFields(target));
      return { after: state, writes: 0 };
    }
    let writes = 0;
    for (const body of bodies) {
      this.#options.logger?.info('Updating user-assigned identities', {
        ...logFields(target),
        identityType: body.identity.type,
        assign: countEntries(body, false),
        unassign: countEntries(body, true),
        chunk: writes + 1,
        chunks: bodies.length,
      });
      const result = await this.#patch(target, body, signal);
      writes++;
      const reported = toTargetIdentities(result);
      // A final GET that carries no identity block means the LRO result was empty: assume the PATCH.
      state = result?.identity ? reported : applyIdentityPatch(state, body);
    }
    return { after: state, writes };
  }

  async #patch(target: Target, body: IdentityPatchBody, signal: AbortSignal | undefined): Promise<ArmResource | undefined> {
    const client = this.clientFor(target.subscriptionId);
    const op: CloudOperation = target.kind === 'vmss' ? 'vmss_update' : 'vm_update';
    const interval = this.#options.updateIntervalInMs ?? 2000;
    // The SDK types a removal (`null`) as impossible, but serialises it unchanged: see the wiring test.
    const parameters = { identity: body.identity } as unknown as VirtualMachineScaleSetUpdate & VirtualMachineUpdate;
    return this.#call(target, op, 'write', this.#options.updateTimeoutMs ?? 600_000, signal, async (abortSignal) =>
      target.kind === 'vmss'
        ? await client.virtualMachineScaleSets.update(target.resourceGroup, target.name, parameters, { updateIntervalInMs: interval, abortSignal })
        : await client.virtualMachines.update(target.resourceGroup, target.name, parameters, { updateIntervalInMs: interval, abortSignal }),
    );
  }

  /** Runs one ARM call with rate limiting, a timeout, classification and the `onCall` hook. */
  async #call<T>(
    target: Target,
    op: CloudOperation,
    kind: CallKind,
    timeoutMs: number,
    signal: AbortSignal | undefined,
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
      const result = await untilAborted(fn(abortSignal), abortSignal);
      this.#report({ op, outcome: 'success', durationMs: this.#clock.now() - started });
      return result;
    } catch (e) {
      const err = classifyCloudError(e, { callerSignal: signal, timedOut, nowMs: this.#clock.now() });
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
  identity?: { type?: string; userAssignedIdentities?: Record<string, unknown> };
  provisioningState?: string;
}

/** Maps an SDK VM/VMSS to {@link TargetIdentities} (canonical IDs). */
export function toTargetIdentities(resource: ArmResource | undefined): TargetIdentities {
  const ids = Object.keys(resource?.identity?.userAssignedIdentities ?? {}).map(canonicalIdentityId);
  const out: TargetIdentities = { userAssigned: new Set(ids), type: resource?.identity?.type ?? '' };
  if (resource?.provisioningState !== undefined) out.provisioningState = resource.provisioningState;
  return out;
}

function countEntries(body: IdentityPatchBody, removals: boolean): number {
  return Object.values(body.identity.userAssignedIdentities ?? {}).filter((v) => (v === null) === removals).length;
}

function logFields(target: Target): Record<string, string> {
  return { [target.kind]: targetArmId(target) };
}
