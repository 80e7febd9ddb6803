/**
 * Azure cloud environments: the endpoints of the named public/sovereign clouds and custom
 * (`AzureStackCloud`) environments read from a go-autorest environment file. Every endpoint URL
 * returned ends with exactly one `/`.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

/** The endpoints MIC needs from a cloud environment. */
export interface CloudEndpoints {
  /** Canonical environment name (`AzurePublicCloud`, ..., or the `name` of an environment file). */
  environmentName: string;
  /** ARM base URL, e.g. `https://management.azure.com/`. */
  resourceManagerEndpoint: string;
  /** AAD authority host, e.g. `https://login.microsoftonline.com/`. */
  activeDirectoryEndpoint: string;
  /** Audience (resource) of ARM tokens; scope is `<tokenAudience>.default`. */
  tokenAudience: string;
}

/** Name that makes MIC read endpoints from the file named by {@link ENVIRONMENT_FILE_ENV}. */
export const AZURE_STACK_CLOUD = 'AzureStackCloud';
/** Env var naming the go-autorest environment file for {@link AZURE_STACK_CLOUD}. */
export const ENVIRONMENT_FILE_ENV = 'AZURE_ENVIRONMENT_FILEPATH';

const PUBLIC: CloudEndpoints = {
  environmentName: 'AzurePublicCloud',
  resourceManagerEndpoint: 'https://management.azure.com/',
  activeDirectoryEndpoint: 'https://login.microsoftonline.com/',
  tokenAudience: 'https://management.azure.com/',
};
const CHINA: CloudEndpoints = {
  environmentName: 'AzureChinaCloud',
  resourceManagerEndpoint: 'https://management.chinacloudapi.cn/',
  activeDirectoryEndpoint: 'https://login.chinacloudapi.cn/',
  tokenAudience: 'https://management.chinacloudapi.cn/',
};
const US_GOVERNMENT: CloudEndpoints = {
  environmentName: 'AzureUSGovernmentCloud',
  resourceManagerEndpoint: 'https://management.usgovcloudapi.net/',
  activeDirectoryEndpoint: 'https://login.microsoftonline.us/',
  tokenAudience: 'https://management.usgovcloudapi.net/',
};
const GERMAN: CloudEndpoints = {
  environmentName: 'AzureGermanCloud',
  resourceManagerEndpoint: 'https://management.microsoftazure.de/',
  activeDirectoryEndpoint: 'https://login.microsoftonline.de/',
  tokenAudience: 'https://management.microsoftazure.de/',
};

/** Built-in clouds by lower-cased name (including the `AzureCloud`/`AzureUSGovernment` aliases). */
const BUILT_IN: ReadonlyMap<string, CloudEndpoints> = new Map([
  ['azurepubliccloud', PUBLIC],
  ['azurecloud', PUBLIC],
  ['azurechinacloud', CHINA],
  ['azureusgovernmentcloud', US_GOVERNMENT],
  ['azureusgovernment', US_GOVERNMENT],
  ['azuregermancloud', GERMAN],
]);

/** Names accepted for the `cloud` setting (for error messages and docs). */
export const KNOWN_CLOUD_NAMES: readonly string[] = [
  'AzurePublicCloud',
  'AzureCloud',
  'AzureChinaCloud',
  'AzureUSGovernmentCloud',
  'AzureUSGovernment',
  'AzureGermanCloud',
  AZURE_STACK_CLOUD,
];

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Validates an endpoint URL and normalises it to end with one `/`. Plain `http` is allowed only for
 * loopback hosts (local emulators): tokens must never travel unencrypted over a network.
 */
function normaliseEndpoint(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${what} is not an absolute URL`);
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  if (!secure) throw new ConfigError(`${what} must use https (plain http is allowed only for loopback hosts)`);
  if (url.search !== '' || url.hash !== '') throw new ConfigError(`${what} must not have a query or fragment`);
  return `${url.origin}${url.pathname.replace(/\/+$/u, '')}/`;
}

/** Reads a go-autorest environment JSON file (`name`, `resourceManagerEndpoint`, `activeDirectoryEndpoint`, optional `tokenAudience`). */
export function readEnvironmentFile(path: string): CloudEndpoints {
  const where = `cloud environment file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'read error';
    throw new ConfigError(`cannot read ${where}: ${code}`, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes file content: leave it out.
    throw new ConfigError(`${where} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`${where} must contain a JSON object`);
  }
  const obj = parsed as Record<string, unknown>;
  const stringKey = (key: string, required: boolean): string | undefined => {
    const value = obj[key];
    if (value === undefined || value === null || value === '') {
      if (required) throw new ConfigError(`${where}: key "${key}" is required`);
      return undefined;
    }
    if (typeof value !== 'string') throw new ConfigError(`${where}: key "${key}" must be a string`);
    return value;
  };
  const resourceManagerEndpoint = normaliseEndpoint(
    stringKey('resourceManagerEndpoint', true) ?? '',
    `${where}: key "resourceManagerEndpoint"`,
  );
  const audience = stringKey('tokenAudience', false);
  return {
    environmentName: stringKey('name', false) ?? AZURE_STACK_CLOUD,
    resourceManagerEndpoint,
    activeDirectoryEndpoint: normaliseEndpoint(
      stringKey('activeDirectoryEndpoint', true) ?? '',
      `${where}: key "activeDirectoryEndpoint"`,
    ),
    tokenAudience: audience === undefined ? resourceManagerEndpoint : normaliseEndpoint(audience, `${where}: key "tokenAudience"`),
  };
}

/**
 * Endpoints of the cloud named `name` (case-insensitive). `AzureStackCloud` reads the file named by
 * env `AZURE_ENVIRONMENT_FILEPATH`. Returns `undefined` for an unknown name; file problems throw
 * {@link ConfigError}.
 */
export function resolveCloudEndpoints(name: string, env: NodeJS.ProcessEnv): CloudEndpoints | undefined {
  const key = name.trim().toLowerCase();
  if (key === AZURE_STACK_CLOUD.toLowerCase()) {
    const file = (env[ENVIRONMENT_FILE_ENV] ?? '').trim();
    if (file === '') {
      throw new ConfigError(`cloud ${AZURE_STACK_CLOUD} needs environment variable ${ENVIRONMENT_FILE_ENV} naming the endpoints file`);
    }
    return readEnvironmentFile(file);
  }
  return BUILT_IN.get(key);
}
