/**
 * classifyArmFailure: a 412 (the target changed since it was read) is its own kind, not an error.
 */
import { describe, expect, it } from '@jest/globals';
import { PreconditionFailedError, TransientArmError } from '../../../controller/cloud/errors.js';
import { classifyArmFailure } from '../../../controller/reconcile/arm-failures.js';

describe('classifyArmFailure', () => {
  it('maps PreconditionFailedError to the precondition kind', () => {
    const failure = classifyArmFailure(new PreconditionFailedError('changed', { statusCode: 412, armCode: 'PreconditionFailed' }));
    expect(failure).toMatchObject({ kind: 'precondition', code: 'PreconditionFailed' });
  });

  it('keeps other failures as they were', () => {
    expect(classifyArmFailure(new TransientArmError('502', { statusCode: 502 }))).toMatchObject({ kind: 'error', transient: true });
  });
});
