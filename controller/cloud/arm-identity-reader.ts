/**
 * The {@link IdentityReader} on `@azure/arm-msi`: `userAssignedIdentities.get` per identity. Kept apart
 * from identity-validator.ts so the validator (loaded at start-up) does not pull in the Azure SDK;
 * this module is loaded with the ARM clients on the first ARM call (controller/app/lazy-cloud.ts).
 */
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import type { ManagedServiceIdentityClientOptionalParams } from '@azure/arm-msi';
import { isRestError } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import { abortableCredential } from './abortable-credential.js';
import { DEFAULT_ARM_ENDPOINT } from './azure-provider.js';
import { armTokenScope } from './credential.js';
import { IdentityReadForbiddenError, type IdentityReader } from './identity-validator.js';

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
