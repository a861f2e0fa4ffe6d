import { randomUUID } from 'node:crypto';
import type { GuestInvite, GuestJoinResponse, Party } from '@parley/protocol';
import type { Logger } from 'pino';
import type { InviteTokens, TokenService } from '../auth/tokens.ts';
import { ParleyServerError } from '../errors.ts';
import type { CallConversations, CallService } from './CallService.ts';

export interface GuestInvitesOptions {
  invites: InviteTokens;
  tokens: TokenService;
  conversations: CallConversations;
  calls: Pick<CallService, 'requireRoom' | 'takeGuestLink' | 'admitGuest'>;
  log: Logger;
  /** How long a link stays valid. */
  ttlSeconds: number;
  /** The server's public base URL (known once it listens). */
  baseUrl: () => string;
}

/**
 * Guest links: the visitor or an agent of a conversation makes a signed link for one more person to join the
 * call in progress. A link expires (GUEST_INVITE_MINUTES), is redeemed once, and names the call it was made
 * for: it opens nothing after that call ends. Redeeming it (`POST /api/guests`) makes the guest a participant
 * of the call and gives it a guest token that authenticates its WebSocket for that call only.
 *
 * A redemption is recorded in the store in the same transaction as the guest's admission, so a used link
 * stays used across restarts, and two redemptions at once admit one guest.
 */
export class GuestInvites {
  readonly #options: GuestInvitesOptions;

  constructor(options: GuestInvitesOptions) {
    this.#options = options;
  }

  /** Makes a link for the call in progress of a conversation `party` belongs to. */
  async create(party: Party, sessionID: string): Promise<GuestInvite> {
    if (party.role !== 'visitor' && party.role !== 'agent') throw ParleyServerError.forbidden('only the visitor or an agent invites guests');
    const conversation = await this.#options.conversations.requireMember(party, sessionID);
    if (conversation.status === 'closed') throw ParleyServerError.conflict('the conversation is closed');
    const call = this.#options.calls.requireRoom(sessionID);
    if (!call.participants.some((p) => p.id === party.id)) throw ParleyServerError.forbidden('only participants of the call invite guests to it');
    await this.#options.calls.takeGuestLink(sessionID, call.callId);
    const { token, expiresAt } = await this.#options.invites.issue({
      jti: randomUUID(),
      sessionID,
      callId: call.callId,
      invitedBy: { id: party.id, role: party.role, name: party.name },
      ttlSeconds: this.#options.ttlSeconds,
    });
    this.#options.log.info({ sessionID, callId: call.callId, by: party.id }, 'guest link made');
    // The token rides in the fragment: browsers never send it to a server, so it stays out of access logs.
    return { url: `${this.#options.baseUrl()}/guest#${token}`, token, expiresAt: expiresAt.toISOString() };
  }

  /** Redeems a link once: the guest becomes a participant of the call and gets its own token. */
  async redeem(token: string, name: string): Promise<GuestJoinResponse> {
    const verified = await this.#options.invites.verify(token);
    if (!verified.ok) {
      if (verified.problem === 'expired') throw new ParleyServerError('invite_expired', 'this invitation link has expired; ask for a new one');
      throw ParleyServerError.unauthorized('this invitation link is not valid');
    }
    const { jti, sessionID, callId, invitedBy, expiresAt } = verified.claims;
    const guest = { id: `guest-${randomUUID()}`, role: 'guest' as const, name };
    // The redemption is stored with the admission, once per link: a second one (here, after a restart or on
    // another node) is refused with `invite_used`.
    await this.#options.calls.admitGuest(sessionID, callId, guest, invitedBy, { jti, expiresAt });
    const issued = await this.#options.tokens.issue(guest, undefined, { sessionID, callId });
    this.#options.log.info({ sessionID, callId, guestId: guest.id, invitedBy: invitedBy.id }, 'guest admitted');
    return { guest, token: issued.token, expiresAt: issued.expiresAt, sessionID, callId };
  }
}
