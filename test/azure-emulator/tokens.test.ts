/** Entra ID client-credentials and IMDS token flows of the emulator, driven by @azure/identity. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuthenticationRequiredError, ManagedIdentityCredential } from '@azure/identity';
import { startAzureEmulator, type AzureEmulator } from '../../hack/emulators/azure/index.js';
import { RG, SUB, caught, computeClient, emulatorCredential } from './helpers.js';

const ARM_SCOPE = 'https://management.azure.com/.default';

describe('Azure emulator token endpoints', () => {
  let emu: AzureEmulator;
  let kubeletClientId: string;
  const savedHost = process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;

  beforeAll(async () => {
    emu = await startAzureEmulator({ throttling: false });
    emu.controls.addVmss(SUB, RG, 'vmss');
    kubeletClientId = '6f0c1a1e-3c2b-4d6e-9a11-0123456789ab';
    emu.controls.addIdentity(SUB, RG, 'kubelet', { clientId: kubeletClientId });
    process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = emu.imdsUrl;
  });
  afterAll(async () => {
    if (savedHost === undefined) delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
    else process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = savedHost;
    await emu.stop();
  });

  it('issues a token to ClientSecretCredential that ARM accepts', async () => {
    const token = await emulatorCredential(emu).getToken(ARM_SCOPE);
    expect(token.token).toMatch(/^emu\./);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_000_000);
    const got = await computeClient(emu).virtualMachineScaleSets.get(RG, 'vmss');
    expect(got.name).toBe('vmss');
    const paths = emu.controls.auditLog().filter((e) => e.kind === 'token').map((e) => `${e.method} ${e.path}`);
    expect(paths).toEqual(expect.arrayContaining([
      `GET /${emu.tenantId}/v2.0/.well-known/openid-configuration`,
      `POST /${emu.tenantId}/oauth2/v2.0/token`,
    ]));
    expect(emu.controls.counters().tokens).toBeGreaterThanOrEqual(2);
  });

  it('rejects a wrong client secret with invalid_client (AADSTS7000215)', async () => {
    const err = await caught(() => emulatorCredential(emu, 'wrong-secret').getToken(ARM_SCOPE));
    // @azure/identity 4.14 surfaces the AAD error as AuthenticationRequiredError with the AAD text.
    expect(err).toBeInstanceOf(AuthenticationRequiredError);
    expect(err.message).toContain('invalid_client');
    expect(err.message).toContain('AADSTS7000215');
    const token = emu.controls.auditLog().filter((e) => e.path.endsWith('/oauth2/v2.0/token')).at(-1);
    expect(token?.status).toBe(401);
  });

  it('issues IMDS tokens to ManagedIdentityCredential via AZURE_POD_IDENTITY_AUTHORITY_HOST', async () => {
    const credential = new ManagedIdentityCredential({ clientId: kubeletClientId });
    const token = await credential.getToken(ARM_SCOPE);
    expect(token.token).toMatch(/^emu\./);
    const got = await computeClient(emu, { credential }).virtualMachineScaleSets.get(RG, 'vmss');
    expect(got.name).toBe('vmss');
    const imds = emu.controls.auditLog().filter((e) => /^\/metadata\/identity\/oauth2\/token\/?$/.test(e.path));
    expect(imds.at(-1)?.status).toBe(200);
  });

  it('enforces the Metadata header and known identities on IMDS', async () => {
    const base = `${emu.imdsUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com`;
    const noHeader = await fetch(base);
    expect(noHeader.status).toBe(400);
    const unknown = await fetch(`${base}&client_id=00000000-0000-0000-0000-000000000001`, { headers: { Metadata: 'true' } });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ error: 'invalid_request', error_description: 'Identity not found' });
  });

  it('answers 401 for an expired token', async () => {
    const shortLived = await startAzureEmulator({ tokenLifetimeSeconds: 0 });
    try {
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: shortLived.clientId, client_secret: shortLived.clientSecret, scope: ARM_SCOPE });
      const tokenRes = await fetch(`${shortLived.armUrl}/${shortLived.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form });
      const { access_token: token } = (await tokenRes.json()) as { access_token: string };
      const res = await fetch(`${shortLived.armUrl}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/vmss?api-version=x`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('InvalidAuthenticationToken');
      expect(body.error.message).toContain('expired');
    } finally {
      await shortLived.stop();
    }
  });
});
