/**
 * azure.json re-read on change: a rotated service-principal secret written into a Secret-volume
 * style directory (`..data` symlink swap) is used by the next ARM calls without a restart; a broken
 * file keeps the current credential (Warning log).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createAzureCloudProvider, createCloudCredential, watchCloudConfigCredential } from '../../../controller/app/cloud.js';
import { SwappableCredential } from '../../../controller/cloud/credential.js';
import type { AzureCloudProvider } from '../../../controller/cloud/azure-provider.js';
import type { CloudConfigWatcher } from '../../../controller/config/cloud-config-watcher.js';
import { loadCloudConfig } from '../../../controller/config/cloud-config.js';
import { createLogger } from '../../../controller/observability/logger.js';
import { startAzureEmulator, type AzureEmulator } from '../../../hack/emulators/azure/index.js';
import { waitFor } from '../../support/wait.js';

const SUB = '00000000-0000-0000-0000-0000000000aa';
const RG = 'MC_reload';
const target = { kind: 'vmss' as const, subscriptionId: SUB, resourceGroup: RG, name: 'pool' };

let emu: AzureEmulator;
let dir: string;
let env: NodeJS.ProcessEnv;
let watcher: CloudConfigWatcher | undefined;
let provider: AzureCloudProvider;
const lines: Record<string, unknown>[] = [];
let generation = 0;

/** Publishes `content` as azure.json the way the kubelet updates a Secret volume. */
function publish(content: string): void {
  const data = join(dir, `..gen_${++generation}`);
  mkdirSync(data);
  writeFileSync(join(data, 'azure.json'), content);
  symlinkSync(`..gen_${generation}`, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
}

function azureJson(secret: string): string {
  return JSON.stringify({
    cloud: 'AzureStackCloud',
    tenantId: emu.tenantId,
    aadClientId: emu.clientId,
    aadClientSecret: secret,
    subscriptionId: SUB,
    resourceGroup: RG,
  });
}

const canRead = async (): Promise<boolean> => {
  try {
    await provider.getIdentities(target);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  if (!process.env.NODE_EXTRA_CA_CERTS) throw new Error('run through `npm test`/`make`: NODE_EXTRA_CA_CERTS must name the emulator test CA');
  // Tokens live 1 s, so every ARM call needs a fresh one: calls show which secret the credential holds.
  emu = await startAzureEmulator({ lroLatencyMs: 10, throttling: false, tokenLifetimeSeconds: 1 });
  emu.controls.addVmss(SUB, RG, 'pool');
  dir = mkdtempSync(join(tmpdir(), 'mic-reload-'));
  const envFile = join(dir, 'environment.json');
  writeFileSync(envFile, JSON.stringify(emu.environmentJson()));
  env = { AZURE_ENVIRONMENT_FILEPATH: envFile };
  mkdirSync(join(dir, 'secret'));
  dir = join(dir, 'secret');
  publish(azureJson(emu.clientSecret));
  symlinkSync('..data/azure.json', join(dir, 'azure.json'));

  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const logger = createLogger({ stream, level: 'info' });
  const config = loadCloudConfig(join(dir, 'azure.json'), env);
  const credential = new SwappableCredential(createCloudCredential(config, 'reload-test'));
  provider = createAzureCloudProvider(config, { logger, credential, updateIntervalInMs: 10 });
  watcher = watchCloudConfigCredential({ config, env, credential, logger, debounceMs: 20, pollIntervalMs: 0 });
});

afterAll(async () => {
  watcher?.close();
  await emu?.stop();
  if (dir) rmSync(join(dir, '..'), { recursive: true, force: true });
});

describe('azure.json reload', () => {
  it('uses a rotated client secret after the Secret volume is updated, without a restart', async () => {
    expect(await canRead()).toBe(true);

    emu.controls.setClientSecret('rotated-secret-2');
    await waitFor(async () => !(await canRead()), 'ARM calls to fail with the old secret');

    publish(azureJson('rotated-secret-2'));
    await waitFor(() => lines.find((l) => l.message === 'Cloud config reloaded; new Azure credential in use'), 'the reload log line');
    await waitFor(canRead, 'ARM calls to succeed with the rotated secret');
    expect(JSON.stringify(lines)).not.toContain('rotated-secret-2');
  });

  it('keeps the current credential when the new file does not parse (Warning log)', async () => {
    publish('{ "cloud": "AzureStackCloud", "aadClientSecret": ');
    const warning = await waitFor(
      () => lines.find((l) => l.message === 'Cloud config changed but cannot be loaded; keeping the current credential'),
      'the reload warning',
    );
    expect(warning.level).toBe('warn');
    expect(await canRead()).toBe(true);
  });
});
