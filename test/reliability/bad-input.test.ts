/**
 * Bad input and security: a corpus of malformed objects (test/fixtures/bad-input/objects.json)
 * against a running controller, broken azure.json files against the real entry point, a secret scan
 * of every log line, and namespaced mode refusing cross-namespace claims.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GROUP, PLURALS, VERSION } from '../../controller/api/types.js';
import { startHarness, type Harness } from '../support/harness.js';
import { waitFor } from '../support/wait.js';

const FIXTURES = path.resolve('test/fixtures/bad-input');
const NODE0 = 'aks-nodepool1-12345678-vmss000000';
const NODE1 = 'aks-nodepool1-12345678-vmss000001';
const AZURE_JSON_SECRET = 'SUPER-SECRET-VALUE-1';

interface CorpusCase {
  case: string;
  /** `warn`: an admitted object must be named by a warning log line or Warning Event; `any`: only "no crash". */
  expect: 'warn' | 'any';
  /** Label of a pod created for this case (none when null). */
  selector: string | null;
  objects: { kind: string; metadata: { name: string; namespace?: string } }[];
}

const corpus = JSON.parse(readFileSync(path.join(FIXTURES, 'objects.json'), 'utf8')) as CorpusCase[];
const pluralOf = (kind: string): string => (PLURALS as Record<string, string>)[kind] ?? `${kind.toLowerCase()}s`;

/** Secrets and credentials that must never reach a log line. */
function secretLeaks(lines: readonly string[], secrets: readonly string[]): string[] {
  const jwt = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./;
  return lines.filter((l) => secrets.some((s) => l.includes(s)) || jwt.test(l) || /bearer\s+[A-Za-z0-9._-]{16,}/i.test(l));
}

describe('malformed objects', () => {
  let h: Harness;
  const outcome: { case: string; admitted: boolean[]; status: (number | undefined)[]; warned?: boolean }[] = [];

  beforeAll(async () => {
    h = await startHarness();
    await h.addIdentity('valid');
    await h.addBinding('valid', 'valid', 'valid');
  });
  afterAll(async () => {
    await h.stop();
  });

  it('rejects or reports every bad object, keeps serving valid ones, never crashes', async () => {
    const app = await h.startMic();
    await waitFor(() => app.active, 'the controller to lead');
    for (const [i, c] of corpus.entries()) {
      const row = { case: c.case, admitted: [] as boolean[], status: [] as (number | undefined)[] };
      for (const obj of c.objects) {
        try {
          await h.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: obj.metadata.namespace ?? 'default', plural: pluralOf(obj.kind), body: obj });
          row.admitted.push(true);
          row.status.push(undefined);
        } catch (err) {
          const code = (err as { code?: number }).code;
          row.admitted.push(false);
          row.status.push(code);
        }
      }
      if (c.selector !== null) await h.addPod(`bad-${i}`, NODE0, c.selector).catch(() => undefined); // the API server may refuse the label
      outcome.push(row);
    }
    // Rejections at admission must be clear client errors, never 5xx.
    for (const row of outcome) for (const s of row.status) if (s !== undefined) expect(s).toBeGreaterThanOrEqual(400);
    for (const row of outcome) for (const s of row.status) if (s !== undefined) expect(s).toBeLessThan(500);

    // The valid binding still works, in both directions.
    const { resourceId } = { resourceId: (await h.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: PLURALS.AzureIdentity, name: 'valid' }) as { spec: { resourceID: string } }).spec.resourceID };
    await h.addPod('good', NODE1, 'valid');
    await waitFor(async () => (await h.listAssigned()).some((a) => a.spec.pod === 'good' && a.status?.status === 'Assigned'), 'the valid pod to be Assigned', 30_000);
    expect(h.vmssIdentities()).toContain(resourceId.toLowerCase());

    // Admitted objects of `warn` cases are named by a warning log line or a Warning Event.
    const events = (await h.core.listEventForAllNamespaces()).items.filter((e) => e.type === 'Warning');
    for (const [i, c] of corpus.entries()) {
      if (c.expect !== 'warn' || !outcome[i]!.admitted[0]) continue;
      const name = c.objects[0]!.metadata.name;
      const warned = await waitFor(async () => {
        const evs = (await h.core.listEventForAllNamespaces()).items.filter((e) => e.type === 'Warning');
        return h.logLines.some((l) => /"level":"(warn|error)"/.test(l) && l.includes(name)) || evs.some((e) => e.involvedObject.name === name || e.message?.includes(name));
      }, `a warning naming ${c.case}`, 10_000).catch(() => false);
      outcome[i]!.warned = warned;
    }
    process.stderr.write(`bad-input outcome:\n${outcome.map((o) => `  ${o.case}: admitted=${o.admitted.join(',')} status=${o.status.join(',')} warned=${o.warned ?? '-'}`).join('\n')}\n`);
    expect(outcome.filter((o, i) => corpus[i]!.expect === 'warn' && o.admitted[0] && !o.warned).map((o) => o.case)).toEqual([]);
    expect(events.length).toBeGreaterThan(0);

    // No crash: still leading, sync loop running, no failed passes, no AAI for a bad identity.
    expect(app.active).toBe(true);
    expect(h.logLines.filter((l) => l.includes('"Sync pass failed"'))).toEqual([]);
    const assigned = await h.listAssigned();
    expect(assigned.filter((a) => a.spec.pod?.startsWith('bad-') && a.status?.status === 'Assigned').map((a) => a.metadata?.name)).toEqual(
      assigned.filter((a) => a.spec.pod?.startsWith('bad-') && a.status?.status === 'Assigned' && /userassignedidentities\/[^/]+$/i.test(a.spec.azureIdentityRef.spec.resourceID ?? '')).map((a) => a.metadata?.name),
    );
    await h.deletePod('good');
    await waitFor(() => !h.vmssIdentities().includes(resourceId.toLowerCase()), 'the valid identity to be removed after its pod');
  });

  it('never logs the client secret or a token', () => {
    expect(h.logLines.length).toBeGreaterThan(10);
    expect(secretLeaks(h.logLines, [h.azure.clientSecret])).toEqual([]);
  });
});

describe('broken azure.json', () => {
  const main = path.resolve('dist/controller/main.js');
  const variants = readdirSync(path.join(FIXTURES, 'azure-json')).sort();
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mic-bad-azure-json-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is built (make build)', () => {
    expect(existsSync(main)).toBe(true);
  });

  it.each(variants)('%s: exit code 2 with one clear stderr line and no secret', async (file) => {
    const result = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [main, '--cloudconfig', path.join(FIXTURES, 'azure-json', file), '--kubeconfig', path.join(dir, 'missing-kubeconfig')], {
        env: { PATH: process.env.PATH ?? '', MIC_POD_NAMESPACE: 'default', HOME: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.on('close', (code) => resolve({ code, stderr, stdout }));
    });
    const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
    expect({ code: result.code, lines: lines.length }).toEqual({ code: 2, lines: 1 });
    expect(lines[0]).toMatch(/^mic: .*(azure\.json|cloud|config|subscription|vmType|credential|aadClient|JSON)/i);
    expect(lines[0]).not.toMatch(/\n\s+at /);
    expect(result.stderr + result.stdout).not.toContain(AZURE_JSON_SECRET);
  }, 20_000);
});

describe('namespaced mode', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('a pod cannot claim an identity of another namespace', async () => {
    await h.core.createNamespace({ body: { metadata: { name: 'team-a' } } });
    const { resourceId } = await h.addIdentity('team-a-id', { namespace: 'team-a' });
    await h.addBinding('team-a-binding', 'team-a-id', 'shared', 'team-a');
    // In default: a binding pointing at the team-a identity's name (no such identity in default).
    await h.addBinding('sneaky', 'team-a-id', 'shared', 'default');
    const app = await h.startMic({ forceNamespaced: true });
    await waitFor(() => app.active, 'the controller to lead');
    await h.addPod('intruder', NODE0, 'shared', 'default');
    await h.addPod('owner', NODE1, 'shared', 'team-a');
    await waitFor(async () => (await h.listAssigned()).some((a) => a.spec.pod === 'owner' && a.status?.status === 'Assigned'), 'the team-a pod to be Assigned');
    // A later pass (it assigns owner-2) has certainly seen the intruder too.
    await h.addPod('owner-2', NODE1, 'shared', 'team-a');
    await waitFor(async () => (await h.listAssigned()).some((a) => a.spec.pod === 'owner-2' && a.status?.status === 'Assigned'), 'the second team-a pod to be Assigned');
    const assigned = await h.listAssigned();
    expect(assigned.map((a) => `${a.metadata?.namespace}/${a.spec.podNamespace}/${a.spec.pod}`).sort()).toEqual(['team-a/team-a/owner', 'team-a/team-a/owner-2']);
    expect(h.vmssIdentities()).toContain(resourceId.toLowerCase());
  });
});
