/**
 * Every documented Event and condition reason (controller/observability/event-reasons.ts, rendered
 * into docs/troubleshooting.md) must be shown to appear in the situation its table row names: each
 * reason maps to the integration/e2e/reliability test file that causes the situation and asserts the
 * reason (checked by finding the quoted reason string in that file), or is listed as not yet asserted
 * with a reason. A new reason fails this test until it is one or the other.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_REASONS } from '../../../controller/observability/event-reasons.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const EVENT_REASONS_TEST = 'test/integration/controller/event-reasons.test.ts';
const IDENTITY_VALIDATION_TEST = 'test/integration/cloud/identity-validation.emulator.test.ts';
const READINESS_TEST = 'test/integration/controller/readiness-gate.test.ts';

/** Reason → test file (relative to the root) that causes the situation and asserts the reason. */
const ASSERTED_IN: Readonly<Record<string, string>> = {
  'binding applied': EVENT_REASONS_TEST,
  'binding apply error': EVENT_REASONS_TEST,
  'binding removed': EVENT_REASONS_TEST,
  'binding remove error': EVENT_REASONS_TEST,
  'status update error': EVENT_REASONS_TEST,
  InvalidObject: EVENT_REASONS_TEST,
  InvalidIdentity: EVENT_REASONS_TEST,
  IdentityNameCollision: EVENT_REASONS_TEST,
  InvalidAssignedIdentityName: EVENT_REASONS_TEST,
  NodeNotFound: EVENT_REASONS_TEST,
  UnsupportedNode: EVENT_REASONS_TEST,
  MissingPermission: 'test/integration/envtest/upstream-rbac.envtest.test.ts',
  LeaderElection: 'test/integration/envtest/upstream-rbac.envtest.test.ts',
  IdentityForbidden: 'test/integration/controller/assignment.test.ts',
  IdentityNotFound: IDENTITY_VALIDATION_TEST,
  IdentityClientIDMismatch: IDENTITY_VALIDATION_TEST,
  IdentityInvalid: EVENT_REASONS_TEST,
  IdentityLimitExceeded: EVENT_REASONS_TEST,
  Throttled: EVENT_REASONS_TEST,
  TargetBusy: EVENT_REASONS_TEST,
  TargetDeleting: EVENT_REASONS_TEST,
  CloudAuthFailed: EVENT_REASONS_TEST,
  CloudError: EVENT_REASONS_TEST,
  IdentityMissing: 'test/integration/controller/safe-writes.test.ts',
  TargetNotFound: EVENT_REASONS_TEST,
  IdentityAssigned: READINESS_TEST,
  AssignmentPending: READINESS_TEST,
  NoMatchingIdentity: EVENT_REASONS_TEST,
};

/** Reasons no test asserts yet, with why. Move an entry to ASSERTED_IN when one does. */
const NOT_ASSERTED: Readonly<Record<string, string>> = {};

const TEST_DIRS = ['test/integration/', 'test/e2e/', 'test/reliability/'];

describe('every documented reason is asserted in its situation', () => {
  const reasons = ALL_REASONS.map((r) => r.reason);

  it('maps each reason to a test or to a reason', () => {
    expect(reasons.filter((r) => !(r in ASSERTED_IN) && !(r in NOT_ASSERTED))).toEqual([]);
  });

  it('lists no reason that does not exist, and none twice', () => {
    const known = new Set(reasons);
    expect([...Object.keys(ASSERTED_IN), ...Object.keys(NOT_ASSERTED)].filter((r) => !known.has(r))).toEqual([]);
    expect(Object.keys(ASSERTED_IN).filter((r) => r in NOT_ASSERTED)).toEqual([]);
  });

  it('maps each reason to an integration, e2e or reliability test that names it as a quoted string', () => {
    const bad = Object.entries(ASSERTED_IN).filter(([reason, file]) => {
      if (!TEST_DIRS.some((d) => file.startsWith(d)) || !existsSync(join(ROOT, file))) return true;
      const text = readFileSync(join(ROOT, file), 'utf8');
      return !text.includes(`'${reason}'`) && !text.includes(`"${reason}"`);
    });
    expect(bad).toEqual([]);
  });
});
