/** The hack tools' command lines (node:util parseArgs underneath): both flag forms, unknown and missing values rejected. */
import { describe, expect, it } from '@jest/globals';
import { parseBenchArgs } from '../../../hack/bench/bench.js';
import { isDemoUsageError, parseDemoArgs } from '../../../hack/demo/args.js';
import { parseLaunchArgs } from '../../../hack/emulators/launch.js';

describe('bench arguments', () => {
  it('defaults to every scenario and accepts --flag value, --flag=value and repeated/comma lists', () => {
    expect(parseBenchArgs([]).scenarios.length).toBeGreaterThan(1);
    expect(parseBenchArgs(['--smoke', '--scenario', 'burst,churn', '--scenario=steady', '--out=/tmp/b'])).toEqual({ smoke: true, scenarios: ['burst', 'churn', 'steady'], out: '/tmp/b' });
  });

  it.each([[['--nope']], [['--out']], [['--out=']], [['--scenario', 'nope']], [['positional']], [['--smoke=yes']]])('rejects %j', (argv) => {
    expect(() => parseBenchArgs(argv)).toThrow(RangeError);
  });
});

describe('demo arguments', () => {
  it('accepts -h and both value forms', () => {
    expect(parseDemoArgs(['-h'], { stateDir: '/s' }).help).toBe(true);
    expect(parseDemoArgs(['--mic-main', 'x.js', '--step-timeout=2.5'], { stateDir: '/s' })).toMatchObject({ micMain: 'x.js', stepTimeoutMs: 2500 });
  });

  it.each([[['--state-dir', '--keep']], [['--state-dir=']], [['--lro-latency', 'fast']], [['extra']]])('rejects %j with a usage error', (argv) => {
    let caught: unknown;
    try {
      parseDemoArgs(argv, { stateDir: '/s' });
    } catch (err) {
      caught = err;
    }
    expect(isDemoUsageError(caught)).toBe(true);
  });
});

describe('emulator launcher arguments', () => {
  it('accepts --flag=value', () => {
    expect(parseLaunchArgs(['--state-dir=/tmp/s', '--time-scale=0'])).toEqual({ stateDir: '/tmp/s', timeScale: 0 });
  });

  it.each([[['--state-dir']], [['--state-dir', 's', '--lro-latency', '-1']], [['--state-dir', 's', '--time-scale=']], [['--state-dir', 's', 'x']]])('rejects %j', (argv) => {
    expect(() => parseLaunchArgs(argv)).toThrow(RangeError);
  });
});
