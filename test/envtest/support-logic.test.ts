/** Pure helpers of the real-server tier: request attributes, rule matching, unused grants, the Helm subset renderer. */
import { describe, expect, it } from '@jest/globals';
import { allowingGrants, requestAttributes, unusedGrants, type Grant } from '../support/rbac-compare.js';
import { HelmLite } from '../support/helm-lite.js';

const q = (s = ''): URLSearchParams => new URLSearchParams(s);

describe('requestAttributes', () => {
  it('derives verb, group, resource, subresource, namespace and name as the API server does', () => {
    expect(requestAttributes('GET', '/api/v1/pods', q('watch=true'))).toEqual({ verb: 'watch', group: '', resource: 'pods', namespace: undefined });
    expect(requestAttributes('GET', '/api/v1/nodes', q('limit=500'))).toEqual({ verb: 'list', group: '', resource: 'nodes', namespace: undefined });
    expect(requestAttributes('PATCH', '/api/v1/namespaces/a/pods/p/status', q())).toEqual({ verb: 'patch', group: '', resource: 'pods/status', namespace: 'a', name: 'p' });
    expect(requestAttributes('PUT', '/apis/coordination.k8s.io/v1/namespaces/k/leases/l', q())).toEqual({ verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'k', name: 'l' });
    expect(requestAttributes('GET', '/apis/aadpodidentity.k8s.io/v1/watch/azureidentities', q())).toMatchObject({ verb: 'watch', resource: 'azureidentities' });
    expect(requestAttributes('DELETE', '/api/v1/namespaces/a/configmaps', q())).toMatchObject({ verb: 'deletecollection' });
    expect(requestAttributes('GET', '/api/v1/namespaces/a', q())).toMatchObject({ verb: 'get', resource: 'namespaces', name: 'a' });
    expect(requestAttributes('GET', '/apis', q())).toBeUndefined();
    expect(requestAttributes('GET', '/version', q())).toBeUndefined();
  });
});

describe('rule matching', () => {
  const grants: Grant[] = [
    { source: 'ClusterRole/c', rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }] },
    { source: 'Role/r', namespace: 'mic', rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['cfg'] }, { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['*'] }] },
  ];

  it('applies Role rules only in their namespace, and resourceNames only to named requests', () => {
    expect(allowingGrants(grants, { verb: 'list', group: '', resource: 'pods', namespace: 'x' })).toHaveLength(1);
    expect(allowingGrants(grants, { verb: 'get', group: '', resource: 'configmaps', namespace: 'mic', name: 'cfg' })).toHaveLength(1);
    expect(allowingGrants(grants, { verb: 'get', group: '', resource: 'configmaps', namespace: 'other', name: 'cfg' })).toHaveLength(0);
    expect(allowingGrants(grants, { verb: 'get', group: '', resource: 'configmaps', namespace: 'mic', name: 'x' })).toHaveLength(0);
    expect(allowingGrants(grants, { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'mic', name: 'l' })).toHaveLength(1);
    expect(allowingGrants(grants, { verb: 'patch', group: '', resource: 'pods/status', namespace: 'x', name: 'p' })).toHaveLength(0);
  });

  it('lists granted (group, resource, verb) triples no call used', () => {
    const unused = unusedGrants(grants.slice(0, 1), [{ verb: 'list', group: '', resource: 'pods' }]);
    expect(unused).toEqual(['ClusterRole/c: core/pods watch']);
  });
});

describe('HelmLite', () => {
  const ctx = { Values: { rbac: { create: true }, name: '', mic: { ns: '' } }, Release: { Name: 'rel', Namespace: 'ns1', Service: 'Helm' }, Chart: { Name: 'chart', Version: '1.0.0' } };
  const helpers = '{{- define "full" -}}{{- printf "%s-%s" .Release.Name (default .Chart.Name .Values.name) | trunc 63 | trimSuffix "-" -}}{{- end -}}' +
    '{{- define "leaseNs" -}}{{- default .Release.Namespace .Values.mic.ns -}}{{- end -}}';

  it('renders define/include, pipelines, conditions, trimming and nindent', () => {
    const h = new HelmLite(ctx, [helpers]);
    expect(h.render('name: {{ include "full" . }}\n{{- if .Values.rbac.create }}\nx: 1\n{{- end }}\n')).toBe('name: rel-chart\nx: 1\n');
    expect(h.render('{{- if ne (include "leaseNs" .) .Release.Namespace }}other{{- else }}same{{- end }}')).toBe('same');
    expect(h.render('labels:{{- "a: b\\nc: d" | nindent 2 }}')).toBe('labels:\n  a: b\n  c: d');
    expect(h.render('{{/* comment */}}v: {{ .Chart.Version | quote }}')).toBe('v: "1.0.0"');
  });

  it('refuses what it does not implement instead of rendering it wrongly', () => {
    const h = new HelmLite(ctx, [helpers]);
    expect(() => h.render('{{ toYaml .Values }}')).toThrow(/unsupported function toYaml/);
    expect(() => h.render('{{ range .Values.x }}{{ end }}')).toThrow(/unsupported action/);
  });
});
