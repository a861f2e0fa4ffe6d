import type { Party } from '@parley/protocol';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

/** The roles a token can carry. Guests come with group calls. */
export type TokenRole = 'visitor' | 'agent';

/** What a verified token says about its bearer. */
export interface TokenClaims {
  sub: string;
  role: TokenRole;
  name: string;
}

export const TOKEN_TTL_SECONDS: Record<TokenRole, number> = {
  visitor: 30 * 24 * 3600,
  agent: 12 * 3600,
};

const ISSUER = 'parley';

/** Why a token was refused; said to the client in the `unauthorized` message. */
export type TokenProblem = 'missing' | 'expired' | 'invalid';

/** Signs and verifies Parley's HS256 tokens. */
export class TokenService {
  readonly #key: Uint8Array;

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret);
  }

  /** Issues a token for a party; returns it with its expiry (ISO 8601). */
  async issue(party: { id: string; role: TokenRole; name: string }, ttlSeconds = TOKEN_TTL_SECONDS[party.role]) {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    const token = await new SignJWT({ role: party.role, name: party.name })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(party.id)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** Verifies a token. Never throws: returns the claims or the reason it was refused. */
  async verify(token: string | undefined | null): Promise<{ ok: true; claims: TokenClaims } | { ok: false; problem: TokenProblem }> {
    if (!token) return { ok: false, problem: 'missing' };
    try {
      const { payload } = await jwtVerify(token, this.#key, { issuer: ISSUER, algorithms: ['HS256'] });
      const role = payload['role'];
      const name = payload['name'];
      if (typeof payload.sub !== 'string' || (role !== 'visitor' && role !== 'agent') || typeof name !== 'string') {
        return { ok: false, problem: 'invalid' };
      }
      return { ok: true, claims: { sub: payload.sub, role, name } };
    } catch (err) {
      return { ok: false, problem: err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}

/** Human text for a refused token. */
export function describeTokenProblem(problem: TokenProblem): string {
  switch (problem) {
    case 'missing':
      return 'a token is required';
    case 'expired':
      return 'the token has expired; sign in again';
    case 'invalid':
      return 'the token is not valid';
  }
}

export function partyOf(claims: TokenClaims): Party {
  return { id: claims.sub, role: claims.role, name: claims.name };
}
