/**
 * A list page that never answers (half-open connection, stuck API server) fails after the page
 * timeout instead of keeping an informer, and with it leadership start-up, waiting forever.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { listPages } from '../../../controller/kube/informer.js';

let server: Server;
let kc: KubeConfig;

beforeAll(async () => {
  server = createServer(() => {
    // Accept the request and never answer.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('listPages', () => {
  it('rejects a page that never answers once the page timeout passes', async () => {
    const pages = listPages(kc, '/api/v1/pods', { pageTimeoutMs: 200 });
    await expect(pages.next()).rejects.toThrow();
  });
});
