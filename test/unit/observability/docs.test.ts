/** The troubleshooting guide documents every metric and every Warning Event reason. */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createMetrics } from '../../../controller/observability/metrics.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const guide = readFileSync(join(ROOT, 'docs/troubleshooting.md'), 'utf8');

describe('docs/troubleshooting.md', () => {
  it('documents every controller metric', async () => {
    const metrics = createMetrics(new Registry(), { defaultMetrics: false });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    const documented = (name: string): boolean =>
      guide.includes(`\`${name}\``) ||
      // Paired rows such as `aadpodidentity_x_count` / `_duration_seconds`.
      [...guide.matchAll(/`([a-z_]+)_count` \/ `(_[a-z_]+)`/g)].some((m) => `${m[1]}${m[2]}` === name);
    for (const name of names) expect({ name, documented: documented(name) }).toEqual({ name, documented: true });
  });

  it('explains every Event reason', () => {
    for (const reason of [
      'binding apply error',
      'binding removed',
      'binding remove error',
      'status update error',
      'IdentityForbidden',
      'IdentityNotFound',
      'Throttled',
      'IdentityLimitExceeded',
      'NodeNotFound',
      'InvalidIdentity',
    ]) {
      expect(guide).toContain(`| \`${reason}\``);
    }
  });
});
