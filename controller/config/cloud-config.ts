/**
 * The Azure cloud configuration: `azure.json` (`--cloudconfig`, YAML or JSON, case-sensitive keys)
 * or, when no file is given, environment variables (upstream's admin-secret mode).
 *
 * Secrets (`aadClientSecret`) never appear in error messages: errors name files, keys and env vars
 * only, and parser messages (which quote file content) are never passed on.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { selectAuthMode, WORKLOAD_IDENTITY_ENV } from './auth-mode.js';
import { KNOWN_CLOUD_NAMES, resolveCloudEndpoints, type CloudEndpoints } from './cloud-environments.js';
import { ConfigError } from './errors.js';

/** Resolved cloud configuration: settings plus the endpoints of the selected cloud. */
export interface CloudConfig extends CloudEndpoints {
  /** Where the settings came from. */
  source: 'file' | 'env';
  /** The file path in `file` mode. */
  path?: string;
  /** Cloud name as configured (see `environmentName` for the resolved one). */
  cloud: string;
  /** Tenant for service-principal authentication. */
  tenantId: string;
  /** Service principal client ID (AKS MSI clusters write `msi`, ignored in MSI mode). */
  aadClientId: string;
  /** Service principal secret. Never log it: use {@link redactCloudConfig}. */
  aadClientSecret: string;
  /** Subscription of every ARM call. */
  subscriptionId: string;
  /** Node resource group. */
  resourceGroup: string;
  /** Authenticate with a managed identity (IMDS) instead of a service principal. */
  useManagedIdentityExtension: boolean;
  /** Client ID of the user-assigned identity used in MSI mode ('' = system-assigned). */
  userAssignedIdentityID: string;
  /**
   * Authenticate with workload identity (a federated token file); wins over
   * `useManagedIdentityExtension` (see `auth-mode.ts`). Absent means false.
   */
  useFederatedWorkloadIdentityExtension?: boolean;
  /**
   * Federated token file of workload identity mode: the key's value, else `AZURE_FEDERATED_TOKEN_FILE`
   * (resolved at load time; '' outside workload identity mode).
   */
  aadFederatedTokenFile?: string;
  /** Parsed for compatibility; VM vs VMSS comes from node provider IDs. */
  vmType: string;
}

/** The settings as read, before validation (the azure.json keys of {@link CloudConfig}). */
interface RawSettings {
  cloud: string;
  tenantId: string;
  aadClientId: string;
  aadClientSecret: string;
  subscriptionId: string;
  resourceGroup: string;
  useManagedIdentityExtension: boolean;
  userAssignedIdentityID: string;
  vmType: string;
  useFederatedWorkloadIdentityExtension: boolean;
  aadFederatedTokenFile: string;
}

type BooleanSetting = 'useManagedIdentityExtension' | 'useFederatedWorkloadIdentityExtension';
type StringSetting = Exclude<keyof RawSettings, BooleanSetting>;
const BOOLEAN_SETTINGS: readonly BooleanSetting[] = ['useManagedIdentityExtension', 'useFederatedWorkloadIdentityExtension'];

/** Env var of each setting in environment-only mode (§4.2 of the upstream spec). */
const ENV_NAMES: Readonly<Record<keyof RawSettings, string>> = {
  cloud: 'CLOUD',
  tenantId: 'TENANT_ID',
  aadClientId: 'CLIENT_ID',
  aadClientSecret: 'CLIENT_SECRET',
  subscriptionId: 'SUBSCRIPTION_ID',
  resourceGroup: 'RESOURCE_GROUP',
  useManagedIdentityExtension: 'USE_MSI',
  userAssignedIdentityID: 'USER_ASSIGNED_MSI_CLIENT_ID',
  vmType: 'VM_TYPE',
  useFederatedWorkloadIdentityExtension: 'USE_FEDERATED_WORKLOAD_IDENTITY_EXTENSION',
  aadFederatedTokenFile: 'AAD_FEDERATED_TOKEN_FILE',
};

const STRING_SETTINGS: readonly StringSetting[] = [
  'cloud',
  'tenantId',
  'aadClientId',
  'aadClientSecret',
  'subscriptionId',
  'resourceGroup',
  'userAssignedIdentityID',
  'vmType',
  'aadFederatedTokenFile',
];

/** Values kept byte-for-byte (everything else is trimmed). */
const UNTRIMMED: ReadonlySet<StringSetting> = new Set(['aadClientSecret']);

/** `line L, column C` (1-based) of a character offset. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** Parses file text as JSON, falling back to YAML; never leaks parser messages (they quote content). */
function parseDocument(text: string, where: string): unknown {
  if (text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch {
      // Not strict JSON (comments, trailing commas, ...): YAML may still read it.
    }
  }
  try {
    return parseYaml(text, { prettyErrors: false, logLevel: 'error' });
  } catch (e) {
    const offset = (e as { pos?: [number, number] }).pos?.[0];
    throw new ConfigError(`${where} is not valid JSON or YAML${offset === undefined ? '' : ` (${lineAndColumn(text, offset)})`}`);
  }
}

function readSettingsFromFile(path: string): RawSettings {
  const where = `cloud config ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'read error';
    throw new ConfigError(`cannot read cloud config file ${path}: ${code}`, { cause: e });
  }
  const doc = parseDocument(text, where);
  if (doc === null || doc === undefined) throw new ConfigError(`${where} is empty`);
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${where} must contain an object`);
  const obj = doc as Record<string, unknown>;

  const str = (key: StringSetting): string => {
    const value = obj[key];
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string') throw new ConfigError(`${where}: key "${key}" must be a string`);
    return UNTRIMMED.has(key) ? value : value.trim();
  };
  const bool = (key: BooleanSetting): boolean => {
    const value = obj[key];
    if (value !== undefined && value !== null && typeof value !== 'boolean') {
      throw new ConfigError(`${where}: key "${key}" must be true or false`);
    }
    return value === true;
  };
  const strings = Object.fromEntries(STRING_SETTINGS.map((k) => [k, str(k)])) as Omit<RawSettings, BooleanSetting>;
  const booleans = Object.fromEntries(BOOLEAN_SETTINGS.map((k) => [k, bool(k)])) as Pick<RawSettings, BooleanSetting>;
  return { ...strings, ...booleans };
}

function readSettingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const str = (key: StringSetting): string => {
    const value = env[ENV_NAMES[key]] ?? '';
    return UNTRIMMED.has(key) ? value : value.trim();
  };
  const bool = (key: BooleanSetting): boolean => (env[ENV_NAMES[key]] ?? '').trim().toLowerCase() === 'true';
  const strings = Object.fromEntries(STRING_SETTINGS.map((k) => [k, str(k)])) as Omit<RawSettings, BooleanSetting>;
  const booleans = Object.fromEntries(BOOLEAN_SETTINGS.map((k) => [k, bool(k)])) as Pick<RawSettings, BooleanSetting>;
  return { ...strings, ...booleans };
}

/**
 * Workload identity mode: values the cloud config leaves empty are taken from the variables the
 * workload-identity webhook injects (the cloud config's own values win).
 */
function withWorkloadIdentityEnv(settings: RawSettings, env: NodeJS.ProcessEnv): RawSettings {
  const fromEnv = (name: string): string => (env[name] ?? '').trim();
  return {
    ...settings,
    tenantId: settings.tenantId || fromEnv(WORKLOAD_IDENTITY_ENV.tenantId),
    aadClientId: settings.aadClientId || fromEnv(WORKLOAD_IDENTITY_ENV.clientId),
    aadFederatedTokenFile: settings.aadFederatedTokenFile || fromEnv(WORKLOAD_IDENTITY_ENV.tokenFile),
  };
}

/**
 * Loads and validates the cloud configuration: from the azure.json at `path`, or from environment
 * variables when `path` is empty/undefined. Throws {@link ConfigError} naming the file/key or env
 * var: unreadable or unparsable file, wrong value types, missing or unknown `cloud`, missing
 * `subscriptionId`/`resourceGroup`, or what the selected authentication mode (`auth-mode.ts`)
 * needs: `tenantId`, `aadClientId` and `aadClientSecret` for a service principal; `tenantId`,
 * `aadClientId` and `aadFederatedTokenFile` (or the webhook's variables) for workload identity.
 */
export function loadCloudConfig(path: string | undefined, env: NodeJS.ProcessEnv): CloudConfig {
  const fileMode = path !== undefined && path.trim() !== '';
  const read = fileMode ? readSettingsFromFile(path) : readSettingsFromEnv(env);
  const mode = selectAuthMode(read);
  const settings = mode === 'workload-identity' ? withWorkloadIdentityEnv(read, env) : { ...read, aadFederatedTokenFile: '' };
  const where = fileMode ? `cloud config ${path}` : 'cloud config from environment';
  const name = (key: keyof RawSettings): string => (fileMode ? `key "${key}"` : `environment variable ${ENV_NAMES[key]}`);

  if (settings.cloud === '') throw new ConfigError(`${where}: ${name('cloud')} is required`);
  let endpoints: CloudEndpoints | undefined;
  try {
    endpoints = resolveCloudEndpoints(settings.cloud, env);
  } catch (e) {
    throw new ConfigError(`${where}: ${(e as Error).message}`, { cause: e });
  }
  if (!endpoints) {
    const shown = JSON.stringify(settings.cloud.slice(0, 64));
    throw new ConfigError(`${where}: unknown cloud ${shown} in ${name('cloud')} (expected one of ${KNOWN_CLOUD_NAMES.join(', ')})`);
  }
  const missing = (['subscriptionId', 'resourceGroup'] as const).filter((k) => settings[k] === '');
  if (missing.length > 0) throw new ConfigError(`${where}: ${missing.map(name).join(' and ')} required`);
  if (mode === 'workload-identity') {
    const wiMissing = (['tenantId', 'aadClientId', 'aadFederatedTokenFile'] as const).filter((k) => settings[k] === '');
    if (wiMissing.length > 0) {
      const envNames: Record<(typeof wiMissing)[number], string> = {
        tenantId: WORKLOAD_IDENTITY_ENV.tenantId,
        aadClientId: WORKLOAD_IDENTITY_ENV.clientId,
        aadFederatedTokenFile: WORKLOAD_IDENTITY_ENV.tokenFile,
      };
      throw new ConfigError(
        `${where}: workload identity authentication needs ${wiMissing.map((k) => `${name(k)} (or ${envNames[k]})`).join(', ')}`,
      );
    }
  } else if (mode === 'service-principal') {
    const spMissing = (['tenantId', 'aadClientId', 'aadClientSecret'] as const).filter((k) => settings[k].trim() === '');
    if (spMissing.length > 0) {
      throw new ConfigError(
        `${where}: service principal authentication needs ${spMissing.map(name).join(', ')} ` +
          `(or set ${name('useManagedIdentityExtension')} to true for managed identity, ` +
          `or ${name('useFederatedWorkloadIdentityExtension')} to true for workload identity)`,
      );
    }
  }
  return { source: fileMode ? 'file' : 'env', ...(fileMode ? { path } : {}), ...settings, ...endpoints };
}

/** Upstream's client-ID redaction: `abcd##### REDACTED #####wxyz` (values shorter than 8 kept). */
export function redactClientId(clientId: string): string {
  if (clientId.length < 8) return clientId;
  return `${clientId.slice(0, 4)}##### REDACTED #####${clientId.slice(-4)}`;
}

/** A copy safe to log: secret replaced by `[REDACTED]`, client IDs partially redacted. */
export function redactCloudConfig(config: CloudConfig): Record<string, unknown> {
  return {
    ...config,
    aadClientSecret: config.aadClientSecret === '' ? '' : '[REDACTED]',
    aadClientId: redactClientId(config.aadClientId),
    userAssignedIdentityID: redactClientId(config.userAssignedIdentityID),
  };
}

/**
 * Client ID of the identity MIC itself authenticates with when it is a user-assigned identity
 * (MSI mode with `userAssignedIdentityID`), else ''. MIC must never remove it (upstream #981).
 */
export function clusterIdentityClientId(config: Pick<CloudConfig, 'useManagedIdentityExtension' | 'userAssignedIdentityID'>): string {
  return config.useManagedIdentityExtension ? config.userAssignedIdentityID : '';
}
