import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudConfig } from '../../../controller/config/cloud-config.js';
import { CloudConfigWatcher } from '../../../controller/config/cloud-config-watcher.js';
import type { ConfigError } from '../../../controller/config/errors.js';
import { waitFor } from '../../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'mic-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = { cloud: 'AzurePublicCloud', tenantId: 't', aadClientId: 'c', subscriptionId: 's', resourceGroup: 'rg' };
let watcher: CloudConfigWatcher | undefined;
afterEach(() => watcher?.close());

function start(path: string): { reloads: CloudConfig[]; errors: ConfigError[] } {
  const seen = { reloads: [] as CloudConfig[], errors: [] as ConfigError[] };
  watcher = new CloudConfigWatcher({
    path,
    env: {},
    debounceMs: 10,
    pollIntervalMs: 0,
    onReload: (c) => seen.reloads.push(c),
    onError: (e) => seen.errors.push(e),
  });
  watcher.start();
  return seen;
}

describe('CloudConfigWatcher', () => {
  it('reloads after an in-place rewrite, ignores unchanged content, reports a broken file once', async () => {
    const path = join(dir, 'azure.json');
    writeFileSync(path, JSON.stringify({ ...base, aadClientSecret: 'one' }));
    const seen = start(path);

    writeFileSync(path, JSON.stringify({ ...base, aadClientSecret: 'two' }));
    await waitFor(() => seen.reloads.length === 1, 'the reload');
    expect(seen.reloads[0]?.aadClientSecret).toBe('two');

    watcher?.check(); // same content again: nothing to do
    expect(seen.reloads).toHaveLength(1);

    writeFileSync(path, '{ "cloud": ');
    await waitFor(() => seen.errors.length === 1, 'the parse error');
    watcher?.check();
    expect(seen.errors).toHaveLength(1);
    expect(seen.errors[0]?.message).toContain('is not valid JSON or YAML');

    writeFileSync(path, JSON.stringify({ ...base, useManagedIdentityExtension: true }));
    await waitFor(() => seen.reloads.length === 2, 'the reload after the fix');
    expect(seen.reloads[1]?.useManagedIdentityExtension).toBe(true);
  });

  it('does not report the content it started with', () => {
    const path = join(dir, 'start.json');
    writeFileSync(path, JSON.stringify({ ...base, aadClientSecret: 'x' }));
    const seen = start(path);
    watcher?.check();
    expect(seen.reloads).toEqual([]);
    expect(seen.errors).toEqual([]);
  });
});
