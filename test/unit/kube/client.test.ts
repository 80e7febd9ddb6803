import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiException, HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import {
  apiErrorCode,
  apiErrorReason,
  apiRetryAfterMs,
  isAlreadyExists,
  isApiError,
  isConflict,
  isGone,
  isKubeConfigError,
  isNotFound,
  isTooManyRequests,
  loadKubeConfig,
  userAgent,
  withUserAgent,
} from '../../../controller/kube/client.js';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-client-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function statusError(code: number, reason: string, headers: Record<string, string> = {}): ApiException<string> {
  return new ApiException(code, 'failed', JSON.stringify({ kind: 'Status', code, reason, details: { retryAfterSeconds: 3 } }), headers);
}

describe('loadKubeConfig', () => {
  it('uses the --kubeconfig file when given, even inside a cluster', () => {
    const file = path.join(dir, 'config');
    fs.writeFileSync(file, [
      'apiVersion: v1', 'kind: Config', 'current-context: c',
      'clusters: [{name: k, cluster: {server: "http://127.0.0.1:1234", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: c, context: {cluster: k, user: u}}]',
    ].join('\n'));
    const kc = loadKubeConfig({ kubeconfigPath: file, env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' } });
    expect(kc.getCurrentCluster()?.server).toBe('http://127.0.0.1:1234');
  });

  it('fails with KubeConfigError for an unreadable kubeconfig', () => {
    let caught: unknown;
    try {
      loadKubeConfig({ kubeconfigPath: path.join(dir, 'missing'), env: {} });
    } catch (e) {
      caught = e;
    }
    expect(isKubeConfigError(caught)).toBe(true);
    expect((caught as Error).cause).toBeDefined();
  });

  it('builds in-cluster config from the environment and the service-account mount', () => {
    const sa = path.join(dir, 'sa');
    fs.mkdirSync(sa);
    fs.writeFileSync(path.join(sa, 'token'), 'tok');
    fs.writeFileSync(path.join(sa, 'namespace'), 'kube-system\n');
    const kc = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }, serviceAccountDir: sa });
    expect(kc.getCurrentCluster()?.server).toBe('https://[fd00::1]:6443');
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('kube-system');
    expect(kc.getCurrentUser()?.authProvider?.name).toBe('tokenFile');
  });

  it('always uses https in-cluster, also on ports that were plain-http conventions', () => {
    const sa = path.join(dir, 'sa-http');
    fs.mkdirSync(sa);
    fs.writeFileSync(path.join(sa, 'token'), 'tok');
    for (const port of ['80', '8080', '8001']) {
      const kc = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: port }, serviceAccountDir: sa });
      expect(kc.getCurrentCluster()).toMatchObject({ server: `https://10.0.0.1:${port}`, skipTLSVerify: false });
    }
  });

  it('fails in-cluster without a token file', () => {
    expect(() => loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, serviceAccountDir: path.join(dir, 'none') }))
      .toThrow(/token/);
  });

  it('never falls back to localhost when neither is available', () => {
    let caught: unknown;
    try {
      loadKubeConfig({ env: {} });
    } catch (e) {
      caught = e;
    }
    expect(isKubeConfigError(caught)).toBe(true);
  });
});

describe('userAgent', () => {
  it('matches the upstream format and appends the custom part', () => {
    expect(userAgent('1.8.17')).toBe('aad-pod-identity/MIC/1.8.17/unknown/unknown');
    expect(userAgent('1.8.17', ' my-ops ', { gitCommit: 'abc', buildDate: '2026-11-23' }))
      .toBe('aad-pod-identity/MIC/1.8.17/abc/2026-11-23 my-ops');
  });
});

describe('withUserAgent', () => {
  it('adds the user agent to requests authenticated through the view and keeps the credentials', async () => {
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser({ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }, { name: 'u', token: 'tok' });
    const view = withUserAgent(kc, 'aad-pod-identity/MIC/x');
    const ctx = new RequestContext('http://127.0.0.1:1/api', HttpMethod.GET);
    await view.applySecurityAuthentication(ctx);
    expect(ctx.getHeaders()['User-Agent']).toBe('aad-pod-identity/MIC/x');
    expect(ctx.getHeaders().Authorization).toBe('Bearer tok');
    expect(view.getCurrentCluster()?.server).toBe('http://127.0.0.1:1');
    const plain = new RequestContext('http://127.0.0.1:1/api', HttpMethod.GET);
    await kc.applySecurityAuthentication(plain);
    expect(plain.getHeaders()['User-Agent']).toBeUndefined(); // the original is untouched
  });
});

describe('API error predicates', () => {
  it('classifies status codes and reasons', () => {
    expect(isNotFound(statusError(404, 'NotFound'))).toBe(true);
    expect(isConflict(statusError(409, 'Conflict'))).toBe(true);
    expect(isAlreadyExists(statusError(409, 'Conflict'))).toBe(false);
    expect(isAlreadyExists(statusError(409, 'AlreadyExists'))).toBe(true);
    expect(isConflict(statusError(409, 'AlreadyExists'))).toBe(false);
    expect(isGone(statusError(410, 'Expired'))).toBe(true);
    expect(isTooManyRequests(statusError(429, 'TooManyRequests'))).toBe(true);
    expect(apiErrorReason(statusError(404, 'NotFound'))).toBe('NotFound');
    expect(isApiError(statusError(500, 'InternalError'))).toBe(true);
    expect(isApiError(statusError(500, 'InternalError'), 503)).toBe(false);
  });

  it('treats non-API errors as none of them', () => {
    const plain = new Error('ECONNRESET');
    expect(isApiError(plain)).toBe(false);
    expect(isNotFound(plain)).toBe(false);
    expect(apiErrorReason(plain)).toBeUndefined();
    expect(apiErrorCode(undefined)).toBeUndefined();
    expect(apiErrorReason(new ApiException(409, 'x', 'not json', {}))).toBeUndefined();
    expect(isConflict(new ApiException(409, 'x', 'not json', {}))).toBe(true);
  });

  it('reads the status code of Watch errors', () => {
    expect(isGone(Object.assign(new Error('Gone'), { statusCode: 410 }))).toBe(true);
  });

  it('reads Retry-After from the header, then from the Status details', () => {
    expect(apiRetryAfterMs(statusError(429, 'TooManyRequests', { 'Retry-After': '7' }))).toBe(7000);
    expect(apiRetryAfterMs(statusError(429, 'TooManyRequests'))).toBe(3000);
    expect(apiRetryAfterMs(new Error('x'))).toBeUndefined();
  });
});
