import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isConfigError, isHelpRequested, isVersionRequested, type HelpRequested } from '../../../controller/config/errors.js';
import { FLAGS, parseFlags, usage } from '../../../controller/config/flags.js';
import type { MicOptions } from '../../../controller/config/options.js';

const ENV = { MIC_POD_NAMESPACE: 'kube-system', HOSTNAME: 'mic-7d9f' };
const parse = (...argv: string[]): MicOptions => parseFlags(argv, ENV);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

function configErrorMessage(argv: string[], env: NodeJS.ProcessEnv = ENV): string {
  const e = thrown(() => parseFlags(argv, env));
  if (!isConfigError(e)) throw e;
  expect(e.message).not.toContain('\n');
  return e.message;
}

describe('parseFlags defaults', () => {
  it('applies every upstream default and the project defaults', () => {
    expect(parse()).toEqual({
      kubeconfig: '',
      cloudconfig: '',
      forceNamespaced: false,
      syncRetryDurationMs: 3_600_000,
      leaderElectionInstance: 'mic-7d9f',
      leaderElectionNamespace: 'default',
      leaderElectionName: 'aad-pod-identity-mic',
      leaderElectionDurationMs: 15_000,
      httpProbePort: 8080,
      prometheusPort: 8888,
      enableProfile: false,
      enableScaleFeatures: false,
      createDeleteBatch: 20,
      clientQps: 5,
      immutableUserMsis: [],
      configMapName: 'aad-pod-identity-config',
      typeUpgradeStatusKey: 'type-upgrade-status',
      enableTypeUpgrade: true,
      updateUserMsiMaxRetry: 2,
      updateUserMsiRetryIntervalMs: 1000,
      identityAssignmentReconcileIntervalMs: 180_000,
      logFormat: 'text',
      customUserAgent: '',
      unassignGracePeriodMs: 0,
      dryRun: false,
      pauseConfigMap: 'aad-pod-identity-mic-pause',
      armWriteTimeoutMs: 600_000,
      armPollIntervalMs: 2_000,
      armBatchWindowMs: 1_000,
      logLevel: 'info',
      verbosity: 0,
      micPodNamespace: 'kube-system',
    } satisfies MicOptions);
  });
});

describe('parseFlags values', () => {
  it.each<[string, string, Partial<MicOptions>]>([
    ['kubeconfig', '/k/config', { kubeconfig: '/k/config' }],
    ['cloudconfig', '/etc/kubernetes/azure.json', { cloudconfig: '/etc/kubernetes/azure.json' }],
    ['syncRetryDuration', '1h30m', { syncRetryDurationMs: 5_400_000 }],
    ['leader-election-instance', 'pod-a', { leaderElectionInstance: 'pod-a' }],
    ['leader-election-namespace', 'kube-system', { leaderElectionNamespace: 'kube-system' }],
    ['leader-election-name', 'lock', { leaderElectionName: 'lock' }],
    ['leader-election-duration', '60s', { leaderElectionDurationMs: 60_000 }],
    ['http-probe-port', '9090', { httpProbePort: 9090 }],
    ['prometheus-port', '0', { prometheusPort: 0 }],
    ['createDeleteBatch', '50', { createDeleteBatch: 50 }],
    ['clientQps', '12.5', { clientQps: 12.5 }],
    ['immutable-user-msis', ' a , b,,c ', { immutableUserMsis: ['a', 'b', 'c'] }],
    ['config-map-name', 'cm', { configMapName: 'cm' }],
    ['type-upgrade-status-key', 'k', { typeUpgradeStatusKey: 'k' }],
    ['update-user-msi-max-retry', '0', { updateUserMsiMaxRetry: 0 }],
    ['update-user-msi-retry-interval', '500ms', { updateUserMsiRetryIntervalMs: 500 }],
    ['identity-assignment-reconcile-interval', '10m', { identityAssignmentReconcileIntervalMs: 600_000 }],
    ['log-format', 'json', { logFormat: 'json' }],
    ['custom-user-agent', 'my-platform/1.0', { customUserAgent: 'my-platform/1.0' }],
    ['unassign-grace-period', '5m', { unassignGracePeriodMs: 300_000 }],
    ['pause-configmap', 'pause-me', { pauseConfigMap: 'pause-me' }],
    ['arm-write-timeout', '2m', { armWriteTimeoutMs: 120_000 }],
    ['arm-poll-interval', '500ms', { armPollIntervalMs: 500 }],
    ['arm-batch-window', '0s', { armBatchWindowMs: 0 }],
    ['log-level', 'debug', { logLevel: 'debug' }],
  ])('--%s %s', (name, value, expected) => {
    expect(parse(`--${name}=${value}`)).toMatchObject(expected);
    expect(parse(`-${name}`, value)).toMatchObject(expected);
    expect(parse(`--${name}`, value)).toMatchObject(expected);
    expect(parse(`-${name}=${value}`)).toMatchObject(expected);
  });

  it.each<[string, keyof MicOptions, boolean]>([
    ['forceNamespaced', 'forceNamespaced', false],
    ['enableProfile', 'enableProfile', false],
    ['enableScaleFeatures', 'enableScaleFeatures', false],
    ['enable-type-upgrade', 'enableTypeUpgrade', true],
    ['dry-run', 'dryRun', false],
  ])('boolean --%s: bare, =true, =false, Go spellings', (name, key, defaultValue) => {
    expect(parse()[key]).toBe(defaultValue);
    expect(parse(`--${name}`)[key]).toBe(true);
    expect(parse(`-${name}`)[key]).toBe(true);
    expect(parse(`--${name}=true`)[key]).toBe(true);
    expect(parse(`--${name}=false`)[key]).toBe(false);
    expect(parse(`--${name}=0`)[key]).toBe(false);
    expect(parse(`--${name}=T`)[key]).toBe(true);
    expect(parse(`--${name}=FALSE`)[key]).toBe(false);
  });

  it('a boolean never consumes the next argument', () => {
    expect(configErrorMessage(['--dry-run', 'false'])).toBe('unexpected argument "false": MIC takes no positional arguments');
  });

  it('the last occurrence of a flag wins', () => {
    expect(parse('--kubeconfig=a', '--kubeconfig=b').kubeconfig).toBe('b');
  });

  it('accepts upstream manifest arguments unchanged', () => {
    const o = parse('--cloudconfig=/etc/kubernetes/azure.json', '--logtostderr', '--syncRetryDuration=3600s', '-v=2', '--http-probe-port=8085');
    expect(o).toMatchObject({ cloudconfig: '/etc/kubernetes/azure.json', syncRetryDurationMs: 3_600_000, verbosity: 2, httpProbePort: 8085, logLevel: 'info' });
  });

  it('a value may itself start with a dash when given as the next argument (Go semantics)', () => {
    expect(parse('--custom-user-agent', '-x').customUserAgent).toBe('-x');
  });

  it('accepts `--` as the end of flags', () => {
    expect(parse('--dry-run', '--').dryRun).toBe(true);
  });
});

describe('klog compatibility', () => {
  it.each([
    '--logtostderr',
    '--alsologtostderr=false',
    '--log_dir=/tmp',
    '--log_file /tmp/x',
    '--log_file_max_size=1800',
    '--stderrthreshold=2',
    '--vmodule=mic=5',
    '--skip_headers',
    '--skip_log_headers',
    '--add_dir_header',
    '--one_output=true',
    '--log_backtrace_at=main.go:1',
  ])('accepts and ignores %s', (args) => {
    expect(parse(...args.split(' '))).toEqual(parse());
  });

  it('maps -v to the log level unless --log-level is given', () => {
    expect(parse('-v=5').logLevel).toBe('debug');
    expect(parse('-v', '3').logLevel).toBe('verbose');
    expect(parse('--v=4').logLevel).toBe('verbose');
    expect(parse('-v=2').logLevel).toBe('info');
    expect(parse('-v=6', '--log-level=warn').logLevel).toBe('warn');
    expect(parse('--log-level=error', '-v=9').logLevel).toBe('error');
  });

  it('rejects a bad klog value', () => {
    expect(configErrorMessage(['--logtostderr=maybe'])).toContain('--logtostderr');
    expect(configErrorMessage(['-v=high'])).toContain('--v');
  });
});

describe('environment', () => {
  it('ORs FORCENAMESPACED=true into forceNamespaced', () => {
    expect(parseFlags([], { ...ENV, FORCENAMESPACED: 'true' }).forceNamespaced).toBe(true);
    expect(parseFlags([], { ...ENV, FORCENAMESPACED: 'TRUE' }).forceNamespaced).toBe(true);
    expect(parseFlags([], { ...ENV, FORCENAMESPACED: 'false' }).forceNamespaced).toBe(false);
    expect(parseFlags(['--forceNamespaced'], { ...ENV, FORCENAMESPACED: 'false' }).forceNamespaced).toBe(true);
  });

  it('requires MIC_POD_NAMESPACE', () => {
    expect(configErrorMessage([], { HOSTNAME: 'h' })).toContain('MIC_POD_NAMESPACE');
    expect(configErrorMessage([], { MIC_POD_NAMESPACE: '  ' })).toContain('MIC_POD_NAMESPACE');
  });

  it('defaults the leader election instance to the hostname', () => {
    expect(parseFlags([], { MIC_POD_NAMESPACE: 'x', HOSTNAME: 'pod-9' }).leaderElectionInstance).toBe('pod-9');
    expect(parseFlags([], { MIC_POD_NAMESPACE: 'x' }).leaderElectionInstance.length).toBeGreaterThan(0);
  });
});

describe('errors', () => {
  it.each<[string[], string]>([
    [['--nope'], 'unknown flag --nope (see --help for the list of flags)'],
    [['--sync-retry-duration=1h'], 'unknown flag --sync-retry-duration'],
    [['--syncretryduration=1h'], 'unknown flag --syncretryduration'],
    [['--enable-scale-features'], 'unknown flag --enable-scale-features'],
    [['stray'], 'unexpected argument "stray"'],
    [['--', 'stray'], 'unexpected argument "stray"'],
    [['---kubeconfig=x'], 'bad flag syntax: "---kubeconfig=x"'],
    [['--=x'], 'bad flag syntax'],
    [['--kubeconfig'], 'flag --kubeconfig needs a value'],
    [['--syncRetryDuration=10'], 'invalid value "10" for flag --syncRetryDuration: expected a Go duration such as 500ms, 90s or 1h30m'],
    [['--syncRetryDuration=0s'], 'invalid value "0s" for flag --syncRetryDuration: must be greater than 0'],
    [['--identity-assignment-reconcile-interval=-1m'], 'must be greater than 0'],
    [['--unassign-grace-period=-1s'], 'must not be negative'],
    [['--leader-election-duration=0'], 'must be greater than 0'],
    [['--http-probe-port=70000'], 'invalid value "70000" for flag --http-probe-port: expected an integer from 0 to 65535'],
    [['--prometheus-port=80a'], 'expected an integer'],
    [['--createDeleteBatch=0'], 'expected an integer from 1'],
    [['--update-user-msi-max-retry=-1'], 'expected an integer from 0'],
    [['--clientQps=0'], 'expected a number greater than 0'],
    [['--clientQps=fast'], 'expected a number greater than 0'],
    [['--log-format=xml'], 'invalid value "xml" for flag --log-format: expected one of text, json'],
    [['--log-level=loud'], 'expected one of error, warn, info'],
    [['--dry-run=yes'], 'invalid value "yes" for flag --dry-run: expected true or false'],
  ])('%j → %s', (argv, expected) => {
    expect(configErrorMessage(argv)).toContain(expected);
  });
});

describe('help and version', () => {
  it.each(['-h', '--help', '-help'])('%s throws HelpRequested with usage listing every flag and default', (arg) => {
    const e = thrown(() => parseFlags(['--kubeconfig=x', arg], {}));
    expect(isHelpRequested(e)).toBe(true);
    const text = (e as HelpRequested).usage;
    for (const flag of FLAGS.filter((f) => f.origin !== 'klog' || f.name === 'v')) expect(text).toContain(`--${flag.name} `);
    expect(text).toContain('--syncRetryDuration duration (default 1h0m0s)');
    expect(text).toContain('--identity-assignment-reconcile-interval duration (default 3m0s)');
    expect(text).toContain('--arm-write-timeout duration (default 10m0s) [new]');
    expect(text).toContain('--leader-election-name string (default "aad-pod-identity-mic")');
    expect(text).toContain('--enable-type-upgrade (default true)');
    expect(text).toContain('MIC_POD_NAMESPACE');
    expect(text).toContain('--logtostderr');
    expect(usage()).toBe(text);
  });

  it('--version throws VersionRequested without needing MIC_POD_NAMESPACE; =false does not', () => {
    expect(isVersionRequested(thrown(() => parseFlags(['--version'], {})))).toBe(true);
    expect(isVersionRequested(thrown(() => parseFlags(['-version=true'], {})))).toBe(true);
    expect(parse('--version=false').micPodNamespace).toBe('kube-system');
  });

  it('a bad flag after --version is still reported', () => {
    expect(configErrorMessage(['--version', '--nope'])).toContain('--nope');
  });
});

describe('docs/configuration.md', () => {
  it('documents every flag', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url)), 'utf8');
    const missing = FLAGS.map((f) => `--${f.name}`).filter((name) => !doc.includes(`\`${name}`));
    expect(missing).toEqual([]);
  });
});
