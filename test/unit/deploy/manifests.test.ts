import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { HARD_EXIT_AFTER_MS } from '../../../controller/app/run.js';
import { CONTROLLER_NODE_OPTIONS } from '../../../hack/bench/controller-child.js';
import {
  CONFIG,
  heapCapMiB,
  memoryMiB,
  ROOT,
  at,
  grants,
  objectsOf,
  only,
  parseYamlFile,
  plainYamlFiles,
  type K8sObject,
  type PolicyRule,
} from './load.js';

/** What MIC may do, and nothing more: `group/resource` → verbs (sorted). */
const EXPECTED_CLUSTER_GRANTS: Record<string, string[]> = {
  'core/pods': ['list', 'watch'],
  'core/nodes': ['list', 'watch'],
  'core/events': ['create', 'patch'],
  'aadpodidentity.k8s.io/azureassignedidentities': ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  'aadpodidentity.k8s.io/azureidentities': ['get', 'list', 'update', 'watch'],
  'aadpodidentity.k8s.io/azureidentitybindings': ['get', 'list', 'update', 'watch'],
  'aadpodidentity.k8s.io/azurepodidentityexceptions': ['list', 'update'],
};
/** Namespaced grants in MIC's own namespace. */
const EXPECTED_NAMESPACE_GRANTS: Record<string, string[]> = {
  'coordination.k8s.io/leases': ['create', 'get', 'update'],
  'core/configmaps': ['create', 'get', 'list', 'patch', 'update', 'watch'],
};

type Container = {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path?: string; port?: number | string } };
  readinessProbe?: { httpGet?: { path?: string; port?: number | string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
};

/** The objects of config/base, loaded through its kustomization's resource list. */
function base(): K8sObject[] {
  const [k] = parseYamlFile(join(CONFIG, 'base/kustomization.yaml')) as { resources: string[] }[];
  return (k?.resources ?? []).flatMap((file) => objectsOf(`base/${file}`));
}

function micContainer(deployment: K8sObject): Container {
  const containers = at(deployment, 'spec.template.spec.containers') as Container[];
  const mic = containers.find((c) => c.name === 'mic');
  if (!mic) throw new Error('no mic container');
  return mic;
}

describe('every YAML file under config/', () => {
  const files = plainYamlFiles();

  it('finds the expected files', () => {
    const rel = files.map((f) => relative(CONFIG, f));
    expect(rel).toEqual(expect.arrayContaining(['base/deployment.yaml', 'policy/kustomization.yaml', 'helm/aad-pod-identity-mic/values.yaml']));
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))('%s parses', (_rel, file) => {
    const docs = parseYamlFile(file);
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      if (typeof doc === 'object' && doc !== null && 'kind' in doc) {
        expect(typeof (doc as K8sObject).apiVersion).toBe('string');
      }
    }
  });

  it('never grants anything on Secrets or wildcards', () => {
    for (const file of files) {
      for (const doc of parseYamlFile(file)) {
        const obj = doc as K8sObject;
        if (obj.kind !== 'ClusterRole' && obj.kind !== 'Role') continue;
        for (const rule of (obj.rules ?? []) as PolicyRule[]) {
          expect(rule.resources ?? []).not.toContain('secrets');
          expect(rule.resources ?? []).not.toContain('*');
          expect(rule.verbs).not.toContain('*');
          expect(rule.apiGroups ?? []).not.toContain('*');
        }
      }
    }
  });
});

describe('kustomizations', () => {
  const kustomizations = plainYamlFiles().filter((f) => f.endsWith('kustomization.yaml'));

  it('exist for base, overlays and policy', () => {
    expect(kustomizations.map((f) => relative(CONFIG, dirname(f))).sort()).toEqual(
      ['base', 'components/readiness-gate', 'overlays/aks-run-as-root', 'overlays/secret-config', 'policy'].sort(),
    );
  });

  it.each(kustomizations.map((f) => [relative(ROOT, f), f]))('%s points at existing files', (_rel, file) => {
    const [k] = parseYamlFile(file) as { resources?: string[]; patches?: { path?: string }[] }[];
    const dir = dirname(file);
    const entries = [...(k?.resources ?? []), ...(k?.patches ?? []).flatMap((p) => (p.path ? [p.path] : []))];
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      const target = join(dir, entry);
      expect({ entry, exists: existsSync(target) }).toEqual({ entry, exists: true });
      if (statSync(target).isDirectory()) expect(existsSync(join(target, 'kustomization.yaml'))).toBe(true);
    }
  });

  it('base lists every manifest file in its directory', () => {
    const [k] = parseYamlFile(join(CONFIG, 'base/kustomization.yaml')) as { resources: string[] }[];
    const onDisk = plainYamlFiles()
      .filter((f) => dirname(f) === join(CONFIG, 'base') && !f.endsWith('kustomization.yaml'))
      .map((f) => relative(join(CONFIG, 'base'), f));
    expect([...(k?.resources ?? [])].sort()).toEqual(onDisk.sort());
  });
});

describe('base Deployment', () => {
  const objects = base();
  const deployment = only(objects, 'Deployment', 'mic');
  const podSpec = at(deployment, 'spec.template.spec') as Record<string, unknown>;
  const mic = micContainer(deployment);

  it('runs 2 replicas with labels app/component mic', () => {
    expect(at(deployment, 'spec.replicas')).toBe(2);
    expect(at(deployment, 'spec.template.metadata.labels')).toMatchObject({ app: 'mic', component: 'mic' });
    const selector = at(deployment, 'spec.selector.matchLabels') as Record<string, string>;
    expect(at(deployment, 'spec.template.metadata.labels')).toMatchObject(selector);
  });

  it('is non-root, read-only, without capabilities, RuntimeDefault seccomp', () => {
    expect(podSpec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(mic.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(mic.securityContext?.privileged).toBeUndefined();
    expect(podSpec.hostNetwork).toBeUndefined();
    // The only writable path is an emptyDir on /tmp.
    const tmp = mic.volumeMounts?.find((m) => m.mountPath === '/tmp');
    const volumes = podSpec.volumes as { name: string; emptyDir?: unknown; hostPath?: { path: string; type?: string } }[];
    expect(volumes.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the probe port; exposes metrics', () => {
    expect(mic.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 8080 });
    expect(mic.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 8080 });
    expect(mic.ports).toEqual(expect.arrayContaining([{ name: 'metrics', containerPort: 8888, protocol: 'TCP' }]));
    expect(mic.args).toEqual(expect.arrayContaining(['--http-probe-port=8080', '--prometheus-port=8888']));
  });

  it('passes upstream-style args and MIC_POD_NAMESPACE from the downward API', () => {
    expect(mic.args).toEqual(
      expect.arrayContaining(['--cloudconfig=/etc/kubernetes/azure.json', '--leader-election-namespace=$(MIC_POD_NAMESPACE)']),
    );
    const env = mic.env?.find((e) => e.name === 'MIC_POD_NAMESPACE');
    expect(env?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    // $(VAR) expansion only works for variables defined in env.
    for (const arg of mic.args ?? []) {
      for (const [, name] of arg.matchAll(/\$\(([A-Z_]+)\)/g)) expect(mic.env?.map((e) => e.name)).toContain(name);
    }
  });

  it('mounts azure.json read-only from the host', () => {
    const mount = mic.volumeMounts?.find((m) => m.mountPath === '/etc/kubernetes/azure.json');
    expect(mount?.readOnly).toBe(true);
    const volumes = podSpec.volumes as { name: string; hostPath?: { path: string; type?: string } }[];
    expect(volumes.find((v) => v.name === mount?.name)?.hostPath).toEqual({ path: '/etc/kubernetes/azure.json', type: 'File' });
  });

  it('requests 100m/256Mi and limits memory to 1Gi', () => {
    expect(mic.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } });
  });

  it('caps the V8 heap at 75 % of the memory limit (and the benchmark runs the controller the same way)', () => {
    const limit = memoryMiB(mic.resources?.limits?.memory ?? '');
    const nodeOptions = mic.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
    expect(heapCapMiB(nodeOptions)).toBe(Math.floor(limit * 0.75));
    expect(heapCapMiB(CONTROLLER_NODE_OPTIONS)).toBe(heapCapMiB(nodeOptions));
  });

  it('gives the process time to exit on its own before the kubelet kills it', () => {
    expect(Number(podSpec.terminationGracePeriodSeconds) * 1000).toBeGreaterThanOrEqual(HARD_EXIT_AFTER_MS + 15_000);
  });

  it('spreads replicas and lets drains evict one replica at a time', () => {
    expect(podSpec.topologySpreadConstraints).toEqual(
      expect.arrayContaining([expect.objectContaining({ topologyKey: 'kubernetes.io/hostname' })]),
    );
    expect(at(podSpec, 'affinity.podAntiAffinity')).toBeDefined();
    const pdb = only(objects, 'PodDisruptionBudget');
    expect(at(pdb, 'spec.maxUnavailable')).toBe(1);
    expect(at(pdb, 'spec.minAvailable')).toBeUndefined();
    expect(at(deployment, 'spec.template.metadata.labels')).toMatchObject(at(pdb, 'spec.selector.matchLabels') as object);
  });

  it('runs as the ServiceAccount the RBAC bindings name', () => {
    const sa = only(objects, 'ServiceAccount');
    expect(podSpec.serviceAccountName).toBe(sa.metadata?.name);
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const binding = only(objects, kind);
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata?.name, namespace: sa.metadata?.namespace }]);
    }
    expect(at(only(objects, 'ClusterRoleBinding'), 'roleRef.name')).toBe(only(objects, 'ClusterRole').metadata?.name);
    expect(at(only(objects, 'RoleBinding'), 'roleRef.name')).toBe(only(objects, 'Role').metadata?.name);
  });

  it('lives with everything else in one namespace', () => {
    const ns = only(objects, 'Namespace').metadata?.name;
    for (const obj of objects) {
      if (['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(obj.kind ?? '')) continue;
      expect({ kind: obj.kind, ns: obj.metadata?.namespace }).toEqual({ kind: obj.kind, ns });
    }
  });
});

describe('base RBAC', () => {
  const objects = base();

  it('grants exactly the listed cluster verbs', () => {
    expect(grants(only(objects, 'ClusterRole').rules as PolicyRule[])).toEqual(EXPECTED_CLUSTER_GRANTS);
  });

  it('grants exactly the listed verbs in the MIC namespace', () => {
    expect(grants(only(objects, 'Role').rules as PolicyRule[])).toEqual(EXPECTED_NAMESPACE_GRANTS);
  });
});

describe('readiness-gate component', () => {
  const objects = [...objectsOf('components/readiness-gate/clusterrole.yaml'), ...objectsOf('components/readiness-gate/clusterrolebinding.yaml')];

  it('is a kustomize Component that lists its files', () => {
    const [k] = parseYamlFile(join(CONFIG, 'components/readiness-gate/kustomization.yaml')) as { kind: string; resources: string[] }[];
    expect(k?.kind).toBe('Component');
    expect([...(k?.resources ?? [])].sort()).toEqual(['clusterrole.yaml', 'clusterrolebinding.yaml']);
  });

  it('grants exactly pods/status patch to the base ServiceAccount', () => {
    const role = only(objects, 'ClusterRole');
    expect(grants(role.rules as PolicyRule[])).toEqual({ 'core/pods/status': ['patch'] });
    const binding = only(objects, 'ClusterRoleBinding');
    expect(at(binding, 'roleRef.name')).toBe(role.metadata?.name);
    const sa = only(base(), 'ServiceAccount');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata?.name, namespace: sa.metadata?.namespace }]);
  });
});

describe('MIC AzurePodIdentityException', () => {
  it('matches the MIC pod labels in the MIC namespace', () => {
    const objects = base();
    const exception = only(objects, 'AzurePodIdentityException');
    expect(exception.apiVersion).toBe('aadpodidentity.k8s.io/v1');
    const podLabels = at(exception, 'spec.podLabels') as Record<string, string>;
    expect(podLabels).toEqual({ app: 'mic', component: 'mic' });
    const deployment = only(objects, 'Deployment', 'mic');
    expect(at(deployment, 'spec.template.metadata.labels')).toMatchObject(podLabels);
    expect(exception.metadata?.namespace).toBe(deployment.metadata?.namespace);
  });
});

describe('overlays', () => {
  it('secret-config swaps the hostPath for a Secret and repoints --cloudconfig', () => {
    const [ops] = parseYamlFile(join(CONFIG, 'overlays/secret-config/secret-config.yaml')) as { op: string; path: string; value: unknown }[][];
    const replaced = Object.fromEntries((ops ?? []).filter((o) => o.op === 'replace').map((o) => [o.path, o.value]));
    expect(replaced['/spec/template/spec/volumes/0']).toMatchObject({ name: 'azure-config', secret: { secretName: 'mic-azure-config', defaultMode: 0o440 } });
    expect(replaced['/spec/template/spec/containers/0/args/0']).toBe('--cloudconfig=/etc/mic/azure.json');
    // The test ops pin the indexes the patch relies on.
    const deployment = only(objectsOf('base/deployment.yaml'), 'Deployment');
    expect(at(deployment, 'spec.template.spec.volumes.0.name')).toBe('azure-config');
    expect(at(deployment, 'spec.template.spec.containers.0.volumeMounts.0.name')).toBe('azure-config');
    expect(at(deployment, 'spec.template.spec.containers.0.args.0')).toBe('--cloudconfig=/etc/kubernetes/azure.json');
  });
});

describe('admission policies', () => {
  const objects = [
    ...objectsOf('policy/azureidentity-resourceid-policy.yaml'),
    ...objectsOf('policy/azureidentitybinding-selector-policy.yaml'),
  ];

  it('binds every ValidatingAdmissionPolicy', () => {
    const policies = objects.filter((o) => o.kind === 'ValidatingAdmissionPolicy').map((o) => o.metadata?.name);
    const bound = objects.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding').map((o) => at(o, 'spec.policyName'));
    expect(policies).toHaveLength(2);
    expect(bound.sort()).toEqual([...policies].sort());
  });

  it('exempts exactly the MIC ServiceAccount of config/base, nothing else', () => {
    const sa = only(base(), 'ServiceAccount');
    const username = `system:serviceaccount:${sa.metadata?.namespace}:${sa.metadata?.name}`;
    for (const policy of objects.filter((o) => o.kind === 'ValidatingAdmissionPolicy')) {
      expect(at(policy, 'spec.matchConditions')).toEqual([{ name: 'not-mic-service-account', expression: `request.userInfo.username != '${username}'` }]);
    }
  });
  // The resource-ID check itself: admission-resource-id.test.ts.
});

/** `kubectl kustomize` when a kubectl with kustomize >= v4 is on PATH, else undefined. */
function kustomizeCommand(): string | undefined {
  try {
    const out = execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const version = (JSON.parse(out) as { kustomizeVersion?: string }).kustomizeVersion ?? '';
    const major = Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);
    return major >= 4 ? 'kubectl' : undefined;
  } catch {
    return undefined;
  }
}

describe('rendered kustomizations', () => {
  const kubectl = kustomizeCommand();
  const render = (dir: string): K8sObject[] => {
    const out = execFileSync('kubectl', ['kustomize', join(CONFIG, dir)], { encoding: 'utf8', timeout: 30_000 });
    return parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
  };
  // Skipped (with this reason in the name) where kubectl is missing or its kustomize predates v4.
  const maybe = kubectl ? it : it.skip;

  maybe('base renders (kubectl kustomize)', () => {
    const objects = render('base');
    expect(objects.map((o) => o.kind).sort()).toEqual(
      ['AzurePodIdentityException', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Namespace', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'ServiceAccount'].sort(),
    );
  });

  maybe('secret-config renders non-root with the Secret (kubectl kustomize)', () => {
    const deployment = only(render('overlays/secret-config'), 'Deployment');
    expect(at(deployment, 'spec.template.spec.securityContext.runAsNonRoot')).toBe(true);
    expect(at(deployment, 'spec.template.spec.volumes.0.secret.defaultMode')).toBe(0o440);
    expect(at(deployment, 'spec.template.spec.volumes.0.hostPath')).toBeUndefined();
    expect(micContainer(deployment).args).toContain('--cloudconfig=/etc/mic/azure.json');
  });

  maybe('aks-run-as-root renders uid 0 with capabilities still dropped (kubectl kustomize)', () => {
    const deployment = only(render('overlays/aks-run-as-root'), 'Deployment');
    expect(at(deployment, 'spec.template.spec.securityContext')).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
    expect(micContainer(deployment).securityContext).toMatchObject({ readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  });

  maybe('base plus the readiness-gate component grants pods/status to the MIC ServiceAccount (kubectl kustomize)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mic-kustomize-'));
    try {
      const config = relative(dir, CONFIG);
      writeFileSync(join(dir, 'kustomization.yaml'), `resources: [${config}/base]\ncomponents: [${config}/components/readiness-gate]\n`);
      const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 30_000 });
      const objects = parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
      const roles = objects.filter((o) => o.kind === 'ClusterRole');
      expect(roles).toHaveLength(2);
      expect(grants(roles.flatMap((r) => r.rules as PolicyRule[]))).toEqual({ ...EXPECTED_CLUSTER_GRANTS, 'core/pods/status': ['patch'] });
      expect(objects.filter((o) => o.kind === 'ClusterRoleBinding').map((b) => b.subjects)).toEqual([
        [{ kind: 'ServiceAccount', name: 'aad-pod-identity-mic', namespace: 'aad-pod-identity' }],
        [{ kind: 'ServiceAccount', name: 'aad-pod-identity-mic', namespace: 'aad-pod-identity' }],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  maybe('policy renders (kubectl kustomize)', () => {
    expect(render('policy')).toHaveLength(4);
  });
});
