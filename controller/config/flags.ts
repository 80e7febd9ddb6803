/**
 * Command-line parsing with Go `flag` semantics, so upstream MIC manifests work unchanged:
 * `-x` and `--x`, `--x=v` and `--x v`, booleans as `--x` or `--x=true|false` (never consuming the
 * next argument), Go durations, last occurrence wins, flag names case-sensitive (upstream mixes
 * camelCase and kebab-case). klog flags are accepted; only `-v` has an effect (log level).
 */
import { formatGoDuration, parseGoDuration } from './duration.js';
import { ConfigError, HelpRequested, VersionRequested } from './errors.js';
import {
  LOG_FORMATS,
  LOG_LEVELS,
  MIC_ENV_VARS,
  defaultMicOptions,
  logLevelForVerbosity,
  type LogFormat,
  type LogLevel,
  type MicOptions,
} from './options.js';

/** Where a flag comes from: upstream `cmd/mic`, this project, or klog (accepted for compatibility). */
export type FlagOrigin = 'upstream' | 'project' | 'klog';

/** Value syntax of a flag. */
export type FlagKind = 'string' | 'bool' | 'int' | 'float' | 'duration';

/** One command-line flag. */
export interface FlagSpec {
  /** Name without dashes, exactly as on the command line (case-sensitive). */
  name: string;
  kind: FlagKind;
  origin: FlagOrigin;
  description: string;
  /** The default as shown in usage and docs. */
  defaultText: (defaults: MicOptions) => string;
  /** Parses `raw` and stores it; throws {@link ConfigError} on a bad value. */
  apply: (options: MicOptions, raw: string) => void;
}

/** Keys of {@link MicOptions} whose type is exactly `V` (not a narrower literal union). */
type KeysOfType<V> = {
  [K in keyof MicOptions]-?: [MicOptions[K]] extends [V] ? ([V] extends [MicOptions[K]] ? K : never) : never;
}[keyof MicOptions];

/** One-line error for a value that does not parse or is out of range. */
function badValue(name: string, raw: string, expected: string): ConfigError {
  return new ConfigError(`invalid value ${JSON.stringify(raw)} for flag --${name}: ${expected}`);
}

const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go `strconv.ParseBool`. */
function parseBool(name: string, raw: string): boolean {
  if (TRUE_WORDS.has(raw)) return true;
  if (FALSE_WORDS.has(raw)) return false;
  throw badValue(name, raw, 'expected true or false');
}

function parseInteger(name: string, raw: string, min: number, max: number): number {
  const value = /^[-+]?\d+$/u.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw badValue(name, raw, `expected an integer from ${min} to ${max}`);
  }
  return value;
}

function stringFlag(
  name: string,
  key: KeysOfType<string>,
  description: string,
  origin: FlagOrigin = 'upstream',
): FlagSpec {
  return {
    name,
    kind: 'string',
    origin,
    description,
    defaultText: (d) => JSON.stringify(d[key]),
    apply: (o, raw) => {
      o[key] = raw;
    },
  };
}

function boolFlag(name: string, key: KeysOfType<boolean>, description: string, origin: FlagOrigin = 'upstream'): FlagSpec {
  return {
    name,
    kind: 'bool',
    origin,
    description,
    defaultText: (d) => String(d[key]),
    apply: (o, raw) => {
      o[key] = parseBool(name, raw);
    },
  };
}

function intFlag(
  name: string,
  key: KeysOfType<number>,
  description: string,
  range: { min: number; max: number },
  origin: FlagOrigin = 'upstream',
): FlagSpec {
  return {
    name,
    kind: 'int',
    origin,
    description,
    defaultText: (d) => String(d[key]),
    apply: (o, raw) => {
      o[key] = parseInteger(name, raw, range.min, range.max);
    },
  };
}

/** Duration flag; `positive` rejects 0 (upstream treats a non-positive ticker period as fatal). */
function durationFlag(
  name: string,
  key: KeysOfType<number>,
  description: string,
  bound: 'positive' | 'non-negative',
  origin: FlagOrigin = 'upstream',
): FlagSpec {
  return {
    name,
    kind: 'duration',
    origin,
    description,
    defaultText: (d) => formatGoDuration(d[key]),
    apply: (o, raw) => {
      const ms = parseGoDuration(raw);
      if (ms === undefined) throw badValue(name, raw, 'expected a Go duration such as 500ms, 90s or 1h30m');
      if (bound === 'positive' ? ms <= 0 : ms < 0) {
        throw badValue(name, raw, bound === 'positive' ? 'must be greater than 0' : 'must not be negative');
      }
      o[key] = ms;
    },
  };
}

function choiceFlag<T extends string>(
  name: string,
  choices: readonly T[],
  set: (o: MicOptions, value: T) => void,
  defaultText: (d: MicOptions) => string,
  description: string,
  origin: FlagOrigin,
): FlagSpec {
  return {
    name,
    kind: 'string',
    origin,
    description: `${description} (${choices.join(', ')})`,
    defaultText,
    apply: (o, raw) => {
      if (!(choices as readonly string[]).includes(raw)) throw badValue(name, raw, `expected one of ${choices.join(', ')}`);
      set(o, raw as T);
    },
  };
}

/** A klog flag: accepted (value syntax checked by kind) and otherwise ignored. */
function klogFlag(name: string, kind: 'string' | 'bool'): FlagSpec {
  return {
    name,
    kind,
    origin: 'klog',
    description: 'klog flag, accepted for compatibility and ignored',
    defaultText: () => (kind === 'bool' ? 'false' : '""'),
    apply: (_o, raw) => {
      if (kind === 'bool') parseBool(name, raw);
    },
  };
}

const PORT = { min: 0, max: 65_535 };
const MAX_INT = Number.MAX_SAFE_INTEGER;

/** Every flag MIC accepts, in usage order (`--help` and `--version` are handled separately). */
export const FLAGS: readonly FlagSpec[] = [
  stringFlag('kubeconfig', 'kubeconfig', 'Path to the kubeconfig file. Empty means the in-cluster configuration (KUBERNETES_SERVICE_HOST/_PORT, always https with the service-account CA and token)'),
  stringFlag('cloudconfig', 'cloudconfig', 'Path to `azure.json`. Empty means the cloud configuration is read from environment variables (docs/configuration.md). Manifests usually pass `/etc/kubernetes/azure.json`'),
  boolFlag('forceNamespaced', 'forceNamespaced', 'Namespaced mode: a pod only matches bindings and identities in its own namespace, and AzureAssignedIdentities are created in the identity\'s namespace instead of `default`. Env `FORCENAMESPACED=true` also turns it on'),
  durationFlag('syncRetryDuration', 'syncRetryDurationMs', 'Period of the full resync. Must be > 0', 'positive'),
  stringFlag('leader-election-instance', 'leaderElectionInstance', 'Holder identity used in leader election (default: the hostname)'),
  stringFlag('leader-election-namespace', 'leaderElectionNamespace', 'Namespace of the leader-election locks (upstream\'s Endpoints record and a Lease, both held). The default and the manifests use upstream\'s (`default`), so an upstream MIC and this one exclude each other. Must match upstream\'s while an upstream MIC may run'),
  stringFlag('leader-election-name', 'leaderElectionName', 'Name of the leader-election locks (the Endpoints object and the Lease)'),
  durationFlag('leader-election-duration', 'leaderElectionDurationMs', 'Lease duration (written in both lock records). The renew deadline is 2/3 of it and the retry period 1/10 (upstream: 1/2 and 1/4), so a standby takes over about 17 s after a leader crash with the default. Must be > 0', 'positive'),
  intFlag('http-probe-port', 'httpProbePort', 'Port of the `/healthz` and `/readyz` probe endpoints', PORT),
  intFlag('prometheus-port', 'prometheusPort', 'Port of the Prometheus `/metrics` endpoint', PORT),
  boolFlag('enableProfile', 'enableProfile', 'Accepted and ignored: this MIC serves no profiling endpoint (upstream served pprof)'),
  boolFlag('enableScaleFeatures', 'enableScaleFeatures', 'Deprecated and ignored by MIC (a warning is logged); accepted so existing manifests still start. The NMI flag of the same name still matters'),
  intFlag('createDeleteBatch', 'createDeleteBatch', 'Number of concurrent AzureAssignedIdentity writes, for all VMs/VMSS together (upstream counted per VM/VMSS). Must be >= 1', { min: 1, max: MAX_INT }),
  {
    name: 'clientQps',
    kind: 'float',
    origin: 'upstream',
    description: 'Rate of Kubernetes writes (AzureAssignedIdentities and pod conditions) per second; the burst is its floor. Must be > 0. Raise it for large bursts of pods: each new assignment costs one or two writes',
    defaultText: (d) => String(d.clientQps),
    apply: (o, raw) => {
      const value = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/u.test(raw) ? Number(raw) : NaN;
      if (!Number.isFinite(value) || value <= 0) throw badValue('clientQps', raw, 'expected a number greater than 0');
      o.clientQps = value;
    },
  },
  {
    name: 'immutable-user-msis',
    kind: 'string',
    origin: 'upstream',
    description: 'Comma-separated client IDs of identities MIC never removes from VMs or VMSS. Empty entries are ignored',
    defaultText: (d) => JSON.stringify(d.immutableUserMsis.join(',')),
    apply: (o, raw) => {
      o.immutableUserMsis = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    },
  },
  stringFlag('config-map-name', 'configMapName', 'ConfigMap in `MIC_POD_NAMESPACE` that records the one-time type upgrade'),
  stringFlag('type-upgrade-status-key', 'typeUpgradeStatusKey', 'Key of the type-upgrade record in that ConfigMap'),
  boolFlag('enable-type-upgrade', 'enableTypeUpgrade', 'On becoming leader, run the one-time upgrade of legacy (pre-1.6) field names'),
  intFlag('update-user-msi-max-retry', 'updateUserMsiMaxRetry', 'Accepted for compatibility and not used: instead of retrying a rejected PATCH, this MIC quarantines the rejected identities with backoff and writes the others in the next PATCH', { min: 0, max: MAX_INT }),
  durationFlag('update-user-msi-retry-interval', 'updateUserMsiRetryIntervalMs', 'Accepted for compatibility and not used (see --update-user-msi-max-retry)', 'non-negative'),
  durationFlag('identity-assignment-reconcile-interval', 'identityAssignmentReconcileIntervalMs', 'Period of the per-VM/VMSS check that Azure still has the identities MIC assigned: every interval while pods on the VM/VMSS use identities (an identity removed out of band is repaired within it), else doubling up to 8x while nothing drifts; a new pod on a VM/VMSS read longer ago than this waits for one read before it is Assigned. A check is one ARM LIST of the VMSS (or VMs) of a resource group, shared by every target in it. Must be > 0', 'positive'),
  choiceFlag<LogFormat>('log-format', LOG_FORMATS, (o, v) => (o.logFormat = v), (d) => JSON.stringify(d.logFormat), 'Log line format', 'upstream'),
  stringFlag('custom-user-agent', 'customUserAgent', 'Text appended to the user agent of Kubernetes, ARM and AAD requests'),
  durationFlag('unassign-grace-period', 'unassignGracePeriodMs', 'Keep an identity assigned this long after its last pod is gone, so short-lived pods (CronJobs, rollouts) do not cause an unassign followed by a re-assign. 0 unassigns at once, as upstream does', 'non-negative', 'project'),
  boolFlag('dry-run', 'dryRun', 'Log the ARM identity updates and AzureAssignedIdentity writes MIC would make instead of making them. Use it to check a migration. It still reads ARM and the cluster and takes part in leader election (its lock records: the Endpoints record and the Lease); it writes nothing else: no ARM write, AzureAssignedIdentity, ownership ConfigMap, pod condition or Event', 'project'),
  stringFlag('pause-configmap', 'pauseConfigMap', 'While a ConfigMap with this name exists in `MIC_POD_NAMESPACE` (and its `data.paused` is not "false"), MIC makes no ARM writes; watching and reporting go on. Use it during cluster upgrades instead of scaling MIC to zero', 'project'),
  durationFlag('arm-write-timeout', 'armWriteTimeoutMs', 'Upper bound of one ARM identity update, including the wait for its long-running operation. Must be > 0', 'positive', 'project'),
  durationFlag('arm-batch-window', 'armBatchWindowMs', 'Hold an ARM write until the VM/VMSS\'s desired identities have not changed for this long (at most 10 windows of planned time, 20 of wall time), so a burst of pods costs one write. On by default (upstream writes at once); 0 writes at once', 'non-negative', 'project'),
  durationFlag('arm-poll-interval', 'armPollIntervalMs', 'Poll interval of ARM long-running operations when ARM sends no `Retry-After` (each poll counts against the Compute Get Operation budget). Must be > 0', 'positive', 'project'),
  choiceFlag<LogLevel>('log-level', LOG_LEVELS, (o, v) => (o.logLevel = v), (d) => JSON.stringify(d.logLevel), 'Minimum log level; when this flag is absent, klog `-v` decides: >= 5 debug, >= 3 verbose, otherwise info. Levels', 'project'),
  {
    name: 'v',
    kind: 'int',
    origin: 'klog',
    description: 'klog verbosity; sets the log level when `--log-level` is absent (>= 5 debug, >= 3 verbose, otherwise info)',
    defaultText: (d) => String(d.verbosity),
    apply: (o, raw) => {
      o.verbosity = parseInteger('v', raw, 0, MAX_INT);
    },
  },
  klogFlag('logtostderr', 'bool'),
  klogFlag('alsologtostderr', 'bool'),
  klogFlag('log_dir', 'string'),
  klogFlag('log_file', 'string'),
  klogFlag('log_file_max_size', 'string'),
  klogFlag('stderrthreshold', 'string'),
  klogFlag('vmodule', 'string'),
  klogFlag('skip_headers', 'bool'),
  klogFlag('skip_log_headers', 'bool'),
  klogFlag('add_dir_header', 'bool'),
  klogFlag('one_output', 'bool'),
  klogFlag('log_backtrace_at', 'string'),
];

const FLAGS_BY_NAME = new Map(FLAGS.map((f) => [f.name, f]));
const HELP_NAMES = new Set(['h', 'help']);

/** Flags handled by the parser itself rather than stored in {@link MicOptions}. */
export const BUILTIN_FLAGS: readonly { name: string; description: string }[] = [
  { name: 'version', description: 'Print the version and exit. Unlike upstream, it does not need `MIC_POD_NAMESPACE`' },
  { name: 'help', description: 'Print this help and exit (also `-h`)' },
];

/** Flags shown one per line in usage and the docs table (klog flags other than `-v` are listed together). */
export function listedFlags(): FlagSpec[] {
  return FLAGS.filter((f) => f.origin !== 'klog' || f.name === 'v');
}

/** klog flags accepted and ignored (everything klog except `-v`). */
export function ignoredKlogFlags(): FlagSpec[] {
  return FLAGS.filter((f) => f.origin === 'klog' && f.name !== 'v');
}

/** Words of `text` as lines of at most `width` characters, each prefixed by `indent`. */
function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/u)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/** Plain-text form of a description (docs use Markdown backticks). */
function plain(text: string): string {
  return text.replace(/`/gu, '');
}

/** Usage text: every flag with its default and description, then the environment variables. */
export function usage(defaults: MicOptions = defaultMicOptions({ HOSTNAME: '<hostname>' })): string {
  const line = (f: FlagSpec): string[] => {
    const tag = f.origin === 'project' ? ' [new]' : '';
    return [`  --${f.name} ${f.kind === 'bool' ? '' : f.kind + ' '}(default ${f.defaultText(defaults)})${tag}`, ...wrap(plain(f.description), '      ')];
  };
  return [
    'Usage: mic [flags]',
    '',
    'Managed Identity Controller for AAD Pod Identity (standard mode), compatible with upstream MIC v1.8.',
    'Flags accept -name or --name, and -name=value or -name value (booleans only -name or -name=false).',
    '',
    'Flags:',
    ...listedFlags().flatMap(line),
    ...BUILTIN_FLAGS.flatMap((f) => [`  --${f.name}`, ...wrap(plain(f.description), '      ')]),
    '',
    `Accepted and ignored for compatibility (klog): ${ignoredKlogFlags().map((f) => `--${f.name}`).join(' ')}`,
    '',
    'Environment:',
    ...MIC_ENV_VARS.flatMap((e) => [`  ${e.name}`, ...wrap(plain(e.description), '      ')]),
    '',
  ].join('\n');
}

/** Splits `-name`, `--name`, `-name=value` into name and optional inline value (undefined if not a flag). */
function splitFlag(arg: string): { name: string; inline?: string } | undefined {
  if (!arg.startsWith('-') || arg === '-' || arg === '--') return undefined;
  const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
  if (body === '' || body.startsWith('-') || body.startsWith('=')) {
    throw new ConfigError(`bad flag syntax: ${JSON.stringify(arg)}`);
  }
  const eq = body.indexOf('=');
  return eq < 0 ? { name: body } : { name: body.slice(0, eq), inline: body.slice(eq + 1) };
}

/**
 * Parses the command line (without the node/script prefix) and environment into {@link MicOptions}.
 * Throws {@link ConfigError} (unknown flag, bad value, missing value, stray argument, missing
 * `MIC_POD_NAMESPACE`), {@link HelpRequested} for `-h`/`--help` and {@link VersionRequested} for
 * `--version` (neither needs `MIC_POD_NAMESPACE`).
 */
export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv): MicOptions {
  const options = defaultMicOptions(env);
  let logLevelGiven = false;
  let versionRequested = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      if (i + 1 < argv.length) throw new ConfigError(`unexpected argument ${JSON.stringify(argv[i + 1])}: MIC takes no positional arguments`);
      break;
    }
    const flag = splitFlag(arg);
    if (!flag) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}: MIC takes no positional arguments`);
    if (HELP_NAMES.has(flag.name)) throw new HelpRequested(usage());
    if (flag.name === 'version') {
      versionRequested = flag.inline === undefined ? true : parseBool('version', flag.inline);
      continue;
    }
    const spec = FLAGS_BY_NAME.get(flag.name);
    if (!spec) throw new ConfigError(`unknown flag --${flag.name} (see --help for the list of flags)`);
    let raw = flag.inline;
    if (raw === undefined) {
      if (spec.kind === 'bool') raw = 'true';
      else {
        const next = argv[i + 1];
        if (next === undefined) throw new ConfigError(`flag --${spec.name} needs a value`);
        raw = next;
        i++;
      }
    }
    spec.apply(options, raw);
    if (spec.name === 'log-level') logLevelGiven = true;
  }

  if (versionRequested) throw new VersionRequested();
  if (!logLevelGiven) options.logLevel = logLevelForVerbosity(options.verbosity);
  options.forceNamespaced ||= (env.FORCENAMESPACED ?? '').toLowerCase() === 'true';
  options.micPodNamespace = (env.MIC_POD_NAMESPACE ?? '').trim();
  if (options.micPodNamespace === '') {
    throw new ConfigError('environment variable MIC_POD_NAMESPACE must be set to the namespace MIC runs in');
  }
  return options;
}
