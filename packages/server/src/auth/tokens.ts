import type { Party } from '@parley/protocol';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

/** The roles a token can carry. A guest's token is good for one call only. */
export type TokenRole = 'visitor' | 'agent' | 'guest';

/** What a verified token says about its bearer. */
export interface TokenClaims {
  sub: string;
  role: TokenRole;
  name: string;
  /** Guests only: the conversation and the call the guest was let into. */
  scope?: { sessionID: string; callId: string };
}

export const TOKEN_TTL_SECONDS: Record<TokenRole, number> = {
  visitor: 30 * 24 * 3600,
  agent: 12 * 3600,
  guest: 6 * 3600,
};

/** What an invitation link carries: who may come into which call, on whose invitation. */
export interface InviteClaims {
  /** The invitation's own id: each is redeemed once. */
  jti: string;
  sessionID: string;
  callId: string;
  invitedBy: Party;
  expiresAt: Date;
}

/** Invitation links are signed for this audience only: they never authenticate a connection. */
const INVITE_AUDIENCE = 'parley:guest-invite';

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
  async issue(
    party: { id: string; role: TokenRole; name: string },
    ttlSeconds = TOKEN_TTL_SECONDS[party.role],
    scope?: { sessionID: string; callId: string },
  ) {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    const token = await new SignJWT({ role: party.role, name: party.name, ...(scope ? { sid: scope.sessionID, cid: scope.callId } : {}) })
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
      if (typeof payload.sub !== 'string' || (role !== 'visitor' && role !== 'agent' && role !== 'guest') || typeof name !== 'string') {
        return { ok: false, problem: 'invalid' };
      }
      if (payload.aud !== undefined) return { ok: false, problem: 'invalid' };
      if (role !== 'guest') return { ok: true, claims: { sub: payload.sub, role, name } };
      const sid = payload['sid'];
      const cid = payload['cid'];
      if (typeof sid !== 'string' || typeof cid !== 'string') return { ok: false, problem: 'invalid' };
      return { ok: true, claims: { sub: payload.sub, role, name, scope: { sessionID: sid, callId: cid } } };
    } catch (err) {
      return { ok: false, problem: err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}

/** Signs and verifies guest invitation links (a separate audience: an invitation is not a login). */
export class InviteTokens {
  readonly #key: Uint8Array;

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret);
  }

  async issue(input: { jti: string; sessionID: string; callId: string; invitedBy: Party; ttlSeconds: number }) {
    const exp = Math.floor(Date.now() / 1000) + input.ttlSeconds;
    const token = await new SignJWT({ sid: input.sessionID, cid: input.callId, by: input.invitedBy })
      .setProtectedHeader({ alg: 'HS256' })
      .setJti(input.jti)
      .setIssuer(ISSUER)
      .setAudience(INVITE_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Never throws: the invitation, or why it is refused. */
  async verify(token: string): Promise<{ ok: true; claims: InviteClaims } | { ok: false; problem: 'expired' | 'invalid' }> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { issuer: ISSUER, audience: INVITE_AUDIENCE, algorithms: ['HS256'] });
      const { sid, cid, by, jti, exp } = payload as Record<string, unknown>;
      if (typeof sid !== 'string' || typeof cid !== 'string' || typeof jti !== 'string' || typeof exp !== 'number' || !isParty(by)) {
        return { ok: false, problem: 'invalid' };
      }
      return { ok: true, claims: { jti, sessionID: sid, callId: cid, invitedBy: by, expiresAt: new Date(exp * 1000) } };
    } catch (err) {
      return { ok: false, problem: err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}

function isParty(value: unknown): value is Party {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return typeof p['id'] === 'string' && typeof p['name'] === 'string' && (p['role'] === 'visitor' || p['role'] === 'agent');
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
