/**
 * Static checks of the Helm chart. Debian (bookworm) has no `helm` package, so the chart is checked
 * without rendering: values ↔ template references, one value per controller flag, balanced template
 * blocks, and RBAC/labels equal to the kustomize base. When a `helm` binary is on PATH the chart is
 * also rendered with `helm template` (skipped otherwise; the skip reason is in the test name).
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { HARD_EXIT_AFTER_MS } from '../../../controller/app/run.js';
import { FLAGS, parseFlags } from '../../../controller/config/flags.js';
import { CONFIG, ROOT, at, grants, heapCapMiB, memoryMiB, objectsOf, only, type K8sObject, type PolicyRule } from './load.js';

const CHART = join(CONFIG, 'helm/aad-pod-identity-mic');
const TEMPLATES = join(CHART, 'templates');
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
const templateFiles = readdirSync(TEMPLATES).sort();
const templates = new Map(templateFiles.map((f) => [f, readFileSync(join(TEMPLATES, f), 'utf8')]));
const allTemplateText = [...templates.values()].join('\n');
const deploymentTemplate = templates.get('deployment.yaml') ?? '';

/** Controller flag → the value that feeds it (upstream chart names where they existed). */
const FLAG_VALUES: Record<string, string> = {
  cloudconfig: 'mic.cloudConfig',
  kubeconfig: 'mic.kubeconfig',
  forceNamespaced: 'forceNamespaced',
  syncRetryDuration: 'mic.syncRetryDuration',
  'leader-election-instance': 'mic.leaderElection.instance',
  'leader-election-namespace': 'mic.leaderElection.namespace',
  'leader-election-name': 'mic.leaderElection.name',
  'leader-election-duration': 'mic.leaderElection.duration',
  'http-probe-port': 'mic.probePort',
  'prometheus-port': 'mic.prometheusPort',
  createDeleteBatch: 'mic.createDeleteBatch',
  clientQps: 'mic.clientQps',
  'immutable-user-msis': 'mic.immutableUserMSIs',
  'config-map-name': 'mic.configMapName',
  'type-upgrade-status-key': 'mic.typeUpgradeStatusKey',
  'enable-type-upgrade': 'mic.enableTypeUpgrade',
  'update-user-msi-max-retry': 'mic.updateUserMSIMaxRetry',
  'update-user-msi-retry-interval': 'mic.updateUserMSIRetryInterval',
  'identity-assignment-reconcile-interval': 'mic.identityAssignmentReconcileInterval',
  'log-format': 'mic.loggingFormat',
  'custom-user-agent': 'customUserAgent',
  v: 'mic.logVerbosity',
  'unassign-grace-period': 'mic.unassignGracePeriod',
  'dry-run': 'mic.dryRun',
  'pause-configmap': 'mic.pauseConfigMap',
  'arm-write-timeout': 'mic.armWriteTimeout',
  'arm-poll-interval': 'mic.armPollInterval',
  'arm-batch-window': 'mic.armBatchWindow',
  'log-level': 'mic.logLevel',
};

/** Flags with no chart value: no-ops upstream deprecated, and pprof (which this MIC never serves). */
const FLAGS_WITHOUT_VALUE = new Set(['enableScaleFeatures', 'enableProfile']);

/**
 * Renders the container args of deployment.yaml for `vals`, understanding exactly the template
 * forms used there: `{{- if .Values.x }}`/`{{- end }}` around args, `{{ .Values.x }}`,
 * `{{ join "," .Values.x }}` and `{{ include "mic.leaseNamespace" . }}`.
 */
function renderArgs(vals: Record<string, unknown>, releaseNamespace: string): string[] {
  const lines = deploymentTemplate.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'args:');
  const out: string[] = [];
  const include: boolean[] = [];
  for (const line of lines.slice(start + 1)) {
    const text = line.trim();
    if (text.endsWith(':') && !text.startsWith('-')) break; // next key (env:)
    const cond = /^\{\{- if \.Values\.([\w.]+) \}\}$/.exec(text);
    if (cond) {
      include.push(Boolean(at(vals, cond[1] as string)) && !(Array.isArray(at(vals, cond[1] as string)) && (at(vals, cond[1] as string) as unknown[]).length === 0));
      continue;
    }
    if (text === '{{- end }}') {
      include.pop();
      continue;
    }
    if (include.includes(false)) continue;
    const rendered = text
      .replace(/^- /, '')
      .replace(/\{\{ join "," \.Values\.([\w.]+) \}\}/g, (_m, path: string) => (at(vals, path) as string[]).join(','))
      .replace(/\{\{ include "mic\.leaseNamespace" \. \}\}/g, () => String(at(vals, 'mic.leaderElection.namespace') || releaseNamespace))
      .replace(/\{\{ \.Values\.([\w.]+) \}\}/g, (_m, path: string) => String(at(vals, path)));
    if (rendered.includes('{{')) throw new Error(`unsupported template form in args: ${text}`);
    out.push(rendered);
  }
  return out;
}

/** Every leaf path of a values object (`a.b.c`); empty maps/lists count as leaves. */
function leafPaths(obj: unknown, prefix = ''): string[] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj) || Object.keys(obj).length === 0) return [prefix];
  return Object.entries(obj as Record<string, unknown>).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

/** Every `.Values.x.y` path referenced by the templates. */
function referencedPaths(): Set<string> {
  return new Set([...allTemplateText.matchAll(/\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)/g)].map((m) => m[1] as string));
}

/** Turns a template into plain YAML by dropping action-only lines and stubbing inline actions. */
function stripTemplate(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*\{\{-?.*-?\}\}\s*$/.test(line))
    .map((line) => line.replace(/\{\{-?[^}]*-?\}\}/g, 'x'))
    .join('\n');
}

describe('Helm chart metadata', () => {
  it('is a v2 chart named like its directory', () => {
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'aad-pod-identity-mic', type: 'application' });
    expect(typeof chart.version).toBe('string');
    expect(typeof chart.appVersion).toBe('string');
  });

  it('ships the repository CRDs through a crds/ link', () => {
    const link = join(CHART, 'crds');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(resolve(CHART, readlinkSync(link))).toBe(join(ROOT, 'crds'));
  });
});

describe('Helm values and templates', () => {
  it('has a value for every controller flag and passes each flag from it', () => {
    for (const [flag, path] of Object.entries(FLAG_VALUES)) {
      expect({ flag, hasValue: at(values, path) !== undefined }).toEqual({ flag, hasValue: true });
      const argLines = deploymentTemplate.split('\n').filter((l) => l.trim().startsWith(`- -${flag === 'v' ? '' : '-'}${flag}=`));
      expect({ flag, argLines: argLines.length }).toEqual({ flag, argLines: 1 });
      const line = argLines[0] ?? '';
      const direct = line.includes(`.Values.${path}`);
      const viaHelper = flag === 'leader-election-namespace' && line.includes('include "mic.leaseNamespace"');
      expect({ flag, fedFromValue: direct || viaHelper }).toEqual({ flag, fedFromValue: true });
    }
  });

  it('keeps the upstream value names', () => {
    for (const path of [
      'mic.syncRetryDuration',
      'mic.leaderElection.instance',
      'mic.leaderElection.namespace',
      'mic.leaderElection.name',
      'mic.leaderElection.duration',
      'mic.probePort',
      'mic.createDeleteBatch',
      'mic.clientQps',
      'mic.immutableUserMSIs',
      'mic.prometheusPort',
      'mic.updateUserMSIMaxRetry',
      'mic.updateUserMSIRetryInterval',
      'mic.identityAssignmentReconcileInterval',
      'mic.logVerbosity',
      'mic.loggingFormat',
      'customUserAgent',
      'forceNamespaced',
      'mic.cloudConfig',
    ]) {
      expect({ path, defined: at(values, path) !== undefined }).toEqual({ path, defined: true });
    }
  });

  it('uses upstream defaults for upstream flags', () => {
    expect(at(values, 'replicaCount')).toBe(2);
    expect(at(values, 'mic.syncRetryDuration')).toBe('3600s');
    expect(at(values, 'mic.leaderElection.duration')).toBe('15s');
    expect(at(values, 'mic.probePort')).toBe(8080);
    expect(at(values, 'mic.prometheusPort')).toBe(8888);
    expect(at(values, 'mic.createDeleteBatch')).toBe(20);
    expect(at(values, 'mic.clientQps')).toBe(5);
    expect(at(values, 'mic.updateUserMSIMaxRetry')).toBe(2);
    expect(at(values, 'mic.updateUserMSIRetryInterval')).toBe('1s');
    expect(at(values, 'mic.identityAssignmentReconcileInterval')).toBe('3m');
    expect(at(values, 'mic.cloudConfig')).toBe('/etc/kubernetes/azure.json');
    expect(at(values, 'mic.dryRun')).toBe(false);
    expect(at(values, 'mic.unassignGracePeriod')).toBe('0s');
  });

  it('references only values that exist', () => {
    for (const path of referencedPaths()) {
      expect({ path, exists: at(values, path) !== undefined }).toEqual({ path, exists: true });
    }
  });

  it('uses every value somewhere in the templates', () => {
    const refs = referencedPaths();
    for (const leaf of leafPaths(values)) {
      const used = [...refs].some((ref) => leaf === ref || leaf.startsWith(`${ref}.`));
      expect({ leaf, used }).toEqual({ leaf, used: true });
    }
  });

  it.each(templateFiles)('%s has balanced template blocks', (file) => {
    const text = templates.get(file) ?? '';
    const opens = [...text.matchAll(/\{\{-?\s*(if|with|range|define|block)\b/g)].length;
    const ends = [...text.matchAll(/\{\{-?\s*end\s*-?\}\}/g)].length;
    expect(ends).toBe(opens);
    expect([...text.matchAll(/\{\{/g)].length).toBe([...text.matchAll(/\}\}/g)].length);
  });
});

describe('Helm args and the controller flag parser', () => {
  it('covers every controller flag except deprecated no-ops', () => {
    const covered = new Set(Object.keys(FLAG_VALUES));
    const missing = FLAGS.filter((f) => f.origin !== 'klog' && !FLAGS_WITHOUT_VALUE.has(f.name) && !covered.has(f.name)).map((f) => f.name);
    expect(missing).toEqual([]);
    const known = new Set(FLAGS.map((f) => f.name));
    expect(Object.keys(FLAG_VALUES).filter((f) => !known.has(f))).toEqual([]);
  });

  it('renders default args the parser accepts, with upstream defaults', () => {
    const argv = renderArgs(values, 'pod-identity');
    expect(argv).toEqual(expect.arrayContaining(['--leader-election-namespace=pod-identity', '--dry-run=false', '--syncRetryDuration=3600s']));
    expect(argv.filter((a) => a.startsWith('--kubeconfig') || a.startsWith('--immutable-user-msis'))).toEqual([]);
    const options = parseFlags(argv, { MIC_POD_NAMESPACE: 'pod-identity', HOSTNAME: 'mic-0' });
    expect(options).toMatchObject({
      cloudconfig: '/etc/kubernetes/azure.json',
      syncRetryDurationMs: 3_600_000,
      leaderElectionNamespace: 'pod-identity',
      leaderElectionName: 'aad-pod-identity-mic',
      leaderElectionDurationMs: 15_000,
      httpProbePort: 8080,
      prometheusPort: 8888,
      createDeleteBatch: 20,
      clientQps: 5,
      immutableUserMsis: [],
      updateUserMsiMaxRetry: 2,
      updateUserMsiRetryIntervalMs: 1000,
      identityAssignmentReconcileIntervalMs: 180_000,
      enableTypeUpgrade: true,
      forceNamespaced: false,
    });
  });

  it('passes non-default values through', () => {
    const custom = structuredClone(values) as Record<string, unknown>;
    const mic = custom.mic as Record<string, unknown>;
    mic.immutableUserMSIs = ['aaaa', 'bbbb'];
    mic.leaderElection = { ...(mic.leaderElection as object), namespace: 'kube-system', instance: 'me' };
    mic.syncRetryDuration = '30m';
    mic.dryRun = true;
    custom.forceNamespaced = true;
    custom.customUserAgent = 'ops-team';
    const options = parseFlags(renderArgs(custom, 'pod-identity'), { MIC_POD_NAMESPACE: 'pod-identity' });
    expect(options).toMatchObject({
      immutableUserMsis: ['aaaa', 'bbbb'],
      leaderElectionNamespace: 'kube-system',
      leaderElectionInstance: 'me',
      syncRetryDurationMs: 1_800_000,
      forceNamespaced: true,
      customUserAgent: 'ops-team',
    });
    expect((options as unknown as Record<string, unknown>).dryRun).toBe(true);
  });

  it('base Deployment args are accepted by the parser', () => {
    const deployment = only(objectsOf('base/deployment.yaml'), 'Deployment');
    const args = at(deployment, 'spec.template.spec.containers.0.args') as string[];
    const env = { MIC_POD_NAMESPACE: 'aad-pod-identity' };
    const expanded = args.map((a) => a.replace(/\$\((\w+)\)/g, (_m, name: string) => env[name as keyof typeof env] ?? ''));
    expect(parseFlags(expanded, env)).toMatchObject({
      cloudconfig: '/etc/kubernetes/azure.json',
      leaderElectionNamespace: 'aad-pod-identity',
      httpProbePort: 8080,
      prometheusPort: 8888,
      logFormat: 'json',
    });
  });
});

describe('Helm objects match the kustomize base', () => {
  const baseRole = only(objectsOf('base/clusterrole.yaml'), 'ClusterRole');

  it('grants the same cluster-wide verbs, plus pods/status patch only with readinessGate.enabled', () => {
    const text = templates.get('clusterrole.yaml') ?? '';
    const [role] = parseAllDocuments(stripTemplate(text)).map((d) => d.toJS() as K8sObject);
    const gate = only(objectsOf('components/readiness-gate/clusterrole.yaml'), 'ClusterRole');
    expect(grants(role?.rules as PolicyRule[])).toEqual({ ...grants(baseRole.rules as PolicyRule[]), ...grants(gate.rules as PolicyRule[]) });
    const conditional = /\{\{- if \.Values\.readinessGate\.enabled \}\}\n([\s\S]*?)\{\{- end \}\}/.exec(text)?.[1] ?? '';
    expect(grants(parse(`rules:\n${conditional}`).rules as PolicyRule[])).toEqual({ 'core/pods/status': ['patch'] });
    expect(at(values, 'readinessGate.enabled')).toBe(false);
  });

  it('grants configmaps and leases in the release namespace', () => {
    const docs = parseAllDocuments(stripTemplate(templates.get('role.yaml') ?? '')).map((d) => d.toJS() as K8sObject);
    const baseNamespaced = grants(only(objectsOf('base/role.yaml'), 'Role').rules as PolicyRule[]);
    expect(grants((docs[0]?.rules ?? []) as PolicyRule[])).toEqual(baseNamespaced);
  });

  it('labels pods so the MIC exception matches them', () => {
    const helpers = templates.get('_helpers.tpl') ?? '';
    const selector = /define "mic.selectorLabels"[\s\S]*?\{\{- end -\}\}/.exec(helpers)?.[0] ?? '';
    const [exception] = parseAllDocuments(stripTemplate(templates.get('mic-exception.yaml') ?? '')).map((d) => d.toJS() as K8sObject);
    const podLabels = at(exception, 'spec.podLabels') as Record<string, string>;
    expect(podLabels).toMatchObject({ app: 'mic', component: 'mic' });
    for (const [key, value] of Object.entries(podLabels)) expect(selector).toContain(`${key}: ${value}`);
    expect(deploymentTemplate).toMatch(/labels:\n\s+\{\{- include "mic.labels" \. \| nindent 8 \}\}\n\s+\{\{- include "mic.selectorLabels" \. \| nindent 8 \}\}/);
  });

  it('derives the V8 heap cap (75 %) and the memory limit from mic.memoryLimitMiB, as the base has them', () => {
    const limitMiB = at(values, 'mic.memoryLimitMiB') as number;
    expect(deploymentTemplate).toContain('value: "--max-old-space-size={{ div (mul (int .Values.mic.memoryLimitMiB) 3) 4 }}"');
    expect(deploymentTemplate).toContain('memory: {{ int .Values.mic.memoryLimitMiB }}Mi');
    expect(at(values, 'mic.resources.limits.memory')).toBeUndefined();
    const base = only(objectsOf('base/deployment.yaml'), 'Deployment');
    const container = at(base, 'spec.template.spec.containers.0') as { resources: { limits: { memory: string } }; env: { name: string; value?: string }[] };
    expect(limitMiB).toBe(memoryMiB(container.resources.limits.memory));
    // Helm's div is integer division: the same number the base writes.
    expect(Math.floor((limitMiB * 3) / 4)).toBe(heapCapMiB(container.env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? ''));
  });

  it('lets drains evict one replica at a time', () => {
    expect(at(values, 'mic.podDisruptionBudget.maxUnavailable')).toBe(1);
    expect(templates.get('poddisruptionbudget.yaml')).toContain('maxUnavailable: {{ .Values.mic.podDisruptionBudget.maxUnavailable }}');
    expect(templates.get('poddisruptionbudget.yaml')).not.toContain('minAvailable');
  });

  it('refuses a termination grace period the hard-exit timer does not fit in', () => {
    const floor = /\{\{- if le \(int \.Values\.mic\.terminationGracePeriodSeconds\) (\d+) \}\}\n\s*\{\{- fail /.exec(deploymentTemplate);
    expect(Number(floor?.[1]) * 1000).toBe(HARD_EXIT_AFTER_MS);
    expect(at(values, 'mic.terminationGracePeriodSeconds')).toBe(60);
  });

  it('keeps the security context and probes of the base', () => {
    expect(deploymentTemplate).toContain('readOnlyRootFilesystem: true');
    expect(deploymentTemplate).toContain('drop: ["ALL"]');
    expect(deploymentTemplate).toContain('type: RuntimeDefault');
    expect(deploymentTemplate).toMatch(/path: \/healthz/);
    expect(deploymentTemplate).toMatch(/path: \/readyz/);
    expect(deploymentTemplate).toContain('fieldPath: metadata.namespace');
  });
});

describe('Helm admission policy', () => {
  const text = templates.get('admission-policy.yaml') ?? '';
  const helmObjects = parseAllDocuments(stripTemplate(text)).map((d) => d.toJS() as K8sObject).filter((o) => o && o.kind);
  const kustomizeObjects = [
    ...objectsOf('policy/azureidentity-resourceid-policy.yaml'),
    ...objectsOf('policy/azureidentitybinding-selector-policy.yaml'),
  ];

  it('is off by default and wraps the whole file', () => {
    expect(at(values, 'admissionPolicy')).toEqual({ enabled: false, validationActions: ['Deny'] });
    expect(text.startsWith('{{- if .Values.admissionPolicy.enabled }}\n')).toBe(true);
    expect(text.trimEnd().endsWith('{{- end }}')).toBe(true);
  });

  it('ships the policies of config/policy unchanged except names, labels and actions', () => {
    const specOf = (o: K8sObject): unknown => {
      const spec = structuredClone(o.spec) as Record<string, unknown>;
      delete spec.matchConditions;
      delete spec.policyName;
      delete spec.validationActions;
      return { kind: o.kind, spec };
    };
    expect(helmObjects.map(specOf)).toEqual(kustomizeObjects.map(specOf));
    expect(helmObjects.map((o) => o.metadata?.name)).toEqual(kustomizeObjects.map((o) => o.metadata?.name?.replace(/^aad-pod-identity-/, 'x-')));
  });

  it("exempts exactly the chart's ServiceAccount in the release namespace", () => {
    const exemptions = text.split('\n').filter((l) => l.includes('request.userInfo.username'));
    expect(exemptions).toHaveLength(2);
    for (const line of exemptions) {
      expect(line.trim()).toBe(`request.userInfo.username != 'system:serviceaccount:{{ .Release.Namespace }}:{{ include "mic.serviceAccountName" . }}'`);
    }
    expect(templates.get('serviceaccount.yaml')).toContain('name: {{ include "mic.serviceAccountName" . }}');
    expect(templates.get('deployment.yaml')).toContain('serviceAccountName: {{ include "mic.serviceAccountName" . }}');
  });
});

/** True when a `helm` binary runs. */
function helmAvailable(): boolean {
  try {
    execFileSync('helm', ['version', '--short'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

describe('helm template', () => {
  const available = helmAvailable();
  const maybe = available ? it : it.skip;

  maybe(available ? 'renders the chart' : 'renders the chart (skipped: helm not installed; Debian offers no helm package)', () => {
    const out = execFileSync('helm', ['template', 'mic', CHART, '--namespace', 'pod-identity'], { encoding: 'utf8', timeout: 60_000 });
    const objects = parseAllDocuments(out).map((d) => d.toJS() as K8sObject).filter((o) => o && o.kind);
    const deployment = only(objects, 'Deployment');
    expect(at(deployment, 'spec.replicas')).toBe(2);
    expect(at(deployment, 'spec.template.spec.securityContext.runAsNonRoot')).toBe(true);
    expect(grants(only(objects, 'ClusterRole').rules as PolicyRule[])).toEqual(
      grants(only(objectsOf('base/clusterrole.yaml'), 'ClusterRole').rules as PolicyRule[]),
    );
  });
});
