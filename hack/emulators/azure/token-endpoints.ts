/**
 * Emulated Entra ID (client-credentials flow used by `ClientSecretCredential`) and IMDS token
 * endpoint (used by `ManagedIdentityCredential` via `AZURE_POD_IDENTITY_AUTHORITY_HOST`).
 */
import { randomUUID } from 'node:crypto';
import type { Reply } from './http-util.js';
import type { AzureStore } from './store.js';
import type { TokenIssuer } from './tokens.js';

/** The service principal the emulator accepts for client-credentials. */
export interface ServicePrincipal {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  objectId: string;
}

function aadError(status: number, error: string, code: number, description: string): Reply {
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    },
  };
}

/** `GET /{tenant}/v2.0/.well-known/openid-configuration` */
export function openIdConfiguration(baseUrl: string, sp: ServicePrincipal, tenant: string): Reply {
  if (tenant.toLowerCase() !== sp.tenantId.toLowerCase()) {
    return aadError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
  }
  const root = `${baseUrl}/${sp.tenantId}`;
  return {
    status: 200,
    body: {
      token_endpoint: `${root}/oauth2/v2.0/token`,
      authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${root}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${root}/oauth2/v2.0/logout`,
      issuer: `${root}/v2.0`,
      jwks_uri: `${root}/discovery/v2.0/keys`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      tenant_region_scope: 'NA',
      cloud_instance_name: 'emulator.local',
    },
  };
}

/** `POST /{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`. */
export function clientCredentialsToken(sp: ServicePrincipal, tenant: string, form: URLSearchParams, tokens: TokenIssuer): Reply {
  if (tenant.toLowerCase() !== sp.tenantId.toLowerCase()) {
    return aadError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
  }
  if (form.get('grant_type') !== 'client_credentials') {
    return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
  }
  const clientId = form.get('client_id') ?? '';
  if (clientId.toLowerCase() !== sp.clientId.toLowerCase()) {
    return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`);
  }
  if (form.get('client_secret') !== sp.clientSecret) {
    return aadError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${sp.clientId}'.`,
    );
  }
  const { token } = tokens.issue({ objectId: sp.objectId, clientId: sp.clientId, source: 'client-secret' });
  return {
    status: 200,
    body: { token_type: 'Bearer', expires_in: tokens.lifetimeSeconds, ext_expires_in: tokens.lifetimeSeconds, access_token: token },
  };
}

/** Object ID used for tokens of the (emulated) node's system-assigned identity. */
export const SYSTEM_ASSIGNED_OBJECT_ID = '00000000-0000-0000-0000-00000000005a';

/** `GET /metadata/identity/oauth2/token` (IMDS). */
export function imdsToken(headers: Record<string, string | string[] | undefined>, query: URLSearchParams, store: AzureStore, tokens: TokenIssuer): Reply {
  const metadata = headers['metadata'];
  if (String(metadata ?? '').toLowerCase() !== 'true') {
    return { status: 400, body: { error: 'invalid_request', error_description: 'Required metadata header not specified' } };
  }
  if (!query.get('api-version')) {
    return { status: 400, body: { error: 'invalid_request', error_description: "Required query variable 'api-version' is missing" } };
  }
  const resource = query.get('resource');
  if (!resource) {
    return { status: 400, body: { error: 'invalid_request', error_description: "Required query variable 'resource' is missing" } };
  }
  const clientId = query.get('client_id') ?? undefined;
  const principalId = query.get('object_id') ?? query.get('principal_id') ?? undefined;
  const resourceId = query.get('msi_res_id') ?? query.get('mi_res_id') ?? undefined;
  let objectId = SYSTEM_ASSIGNED_OBJECT_ID;
  let grantedClientId = SYSTEM_ASSIGNED_OBJECT_ID;
  if (clientId || principalId || resourceId) {
    const lookup: { clientId?: string; principalId?: string; resourceId?: string } = {};
    if (clientId) lookup.clientId = clientId;
    if (principalId) lookup.principalId = principalId;
    if (resourceId) lookup.resourceId = resourceId;
    const identity = store.findIdentity(lookup);
    if (!identity) return { status: 400, body: { error: 'invalid_request', error_description: 'Identity not found' } };
    objectId = identity.principalId;
    grantedClientId = identity.clientId;
  }
  const { token, grant } = tokens.issue({ objectId, clientId: grantedClientId, source: 'managed-identity' });
  const expiresOn = Math.floor(grant.expiresAt / 1000);
  return {
    status: 200,
    body: {
      access_token: token,
      client_id: grantedClientId,
      expires_in: String(tokens.lifetimeSeconds),
      expires_on: String(expiresOn),
      ext_expires_in: String(tokens.lifetimeSeconds),
      not_before: String(expiresOn - tokens.lifetimeSeconds),
      resource,
      token_type: 'Bearer',
    },
  };
}
