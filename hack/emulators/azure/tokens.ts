/** Opaque bearer tokens issued by the emulated Entra ID / IMDS endpoints and checked by ARM. */
import { randomBytes } from 'node:crypto';

/** Who a token was issued to. */
export interface TokenGrant {
  /** Object ID of the caller (service principal or managed identity). */
  objectId: string;
  clientId: string;
  /** Real wall-clock ms. */
  expiresAt: number;
  source: 'client-secret' | 'managed-identity';
}

/** Issues and validates tokens (real time: token lifetimes are not scaled). */
export class TokenIssuer {
  readonly #tokens = new Map<string, TokenGrant>();
  readonly lifetimeSeconds: number;
  readonly #now: () => number;

  constructor(lifetimeSeconds = 3599, now: () => number = () => Date.now()) {
    this.lifetimeSeconds = lifetimeSeconds;
    this.#now = now;
  }

  /** Issues a new random opaque token. */
  issue(grant: Omit<TokenGrant, 'expiresAt'>): { token: string; grant: TokenGrant } {
    const token = `emu.${randomBytes(24).toString('base64url')}`;
    const full: TokenGrant = { ...grant, expiresAt: this.#now() + this.lifetimeSeconds * 1000 };
    this.#tokens.set(token, full);
    return { token, grant: full };
  }

  /** Checks an `Authorization` header value: the grant, or why it is refused. */
  check(authorization: string | undefined): { ok: true; grant: TokenGrant } | { ok: false; reason: string } {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) return { ok: false, reason: "The request has no 'Authorization' bearer token." };
    const grant = this.#tokens.get(match[1]);
    if (!grant) return { ok: false, reason: 'The access token is invalid.' };
    if (grant.expiresAt <= this.#now()) return { ok: false, reason: 'The access token has expired.' };
    return { ok: true, grant };
  }

  /** Makes every issued token expire now (tests of token refresh). */
  expireAll(): void {
    for (const grant of this.#tokens.values()) grant.expiresAt = 0;
  }
}
