import { randomUUID } from 'node:crypto';
import type { CallSnapshot, ClientFrameOf, IceServerInfo, MediaAccess, Party } from '@parley/protocol';
import type { Logger } from 'pino';
import type { Bus } from '../bus/Bus.ts';
import { topics } from '../bus/topics.ts';
import type { Config } from '../config.ts';
import { ParleyServerError } from '../errors.ts';
import type { ConversationRecord } from '../store/Store.ts';
import { Call } from './Call.ts';
import type { CallChange, CallEvent } from './CallEvent.ts';
import { CallTimers } from './CallTimers.ts';
import { callEventText } from './callText.ts';
import type { MediaTopology } from './media/MediaTopology.ts';
import { iceServersFor } from './turn.ts';
import { SlidingWindow } from '../rateLimit/SlidingWindow.ts';

/** What calls need of conversations: who belongs to one. */
export interface CallConversations {
  /** The conversation, when `party` is a member of it; throws `forbidden`/`not_found` otherwise. */
  requireMember(party: Party, sessionID: string): Promise<ConversationRecord>;
}

/** Where call events are written, in order with the conversation's messages. */
export interface CallTranscript {
  appendEvent(sessionID: string, text: string): Promise<unknown>;
}

export interface CallServiceOptions {
  bus: Bus;
  conversations: CallConversations;
  transcript: CallTranscript;
  log: Logger;
  /** How long a request or invitation rings before it expires. */
  ringMs: number;
  /** How long a joined participant may be without a connection before the call ends. */
  graceMs: number;
  ice: Pick<Config, 'iceServers' | 'turn'>;
  /** How media travels: peer-to-peer (mesh) or through an SFU. */
  media: MediaTopology;
  /** Calls (requests and invitations) one conversation may start per minute (CALL_REQUESTS_PER_MINUTE). */
  callRequestsPerMinute: number;
  /** Guest links one call may hand out (GUEST_LINKS_PER_CALL). */
  guestLinksPerCall: number;
}

/**
 * Calls: at most one live call per conversation, held in memory by this node. Each {@link Call} applies its
 * own actions and says what changed; this service does the rest — it finds the call, arms and disarms its
 * timers, prepares and releases its media, tells members (`call.updated`) and writes each event to the
 * transcript. The server carries signaling only, relayed between joined participants of the same call.
 */
export class CallService {
  readonly #calls = new Map<string, Call>();
  readonly #timers = new CallTimers();
  /** Per call id: its media is ready (a room, with an SFU); made when the call is accepted. */
  readonly #mediaReady = new Map<string, Promise<void>>();
  readonly #options: CallServiceOptions;
  /** Per conversation: the calls it started in the last minute. */
  readonly #starts: SlidingWindow;

  constructor(options: CallServiceOptions) {
    this.#options = options;
    this.#starts = new SlidingWindow(options.callRequestsPerMinute, 60_000);
  }

  /** The live call of a conversation, or null. */
  liveCall(sessionID: string): CallSnapshot | null {
    return this.#calls.get(sessionID)?.snapshot() ?? null;
  }

  /** The visitor requests a call, or the agent invites the visitor to one: it rings. */
  async start(party: Party, frame: ClientFrameOf<'call.request'> | ClientFrameOf<'call.invite'>): Promise<CallSnapshot> {
    const conversation = await this.#options.conversations.requireMember(party, frame.sessionID);
    if (conversation.status === 'closed') throw ParleyServerError.conflict('the conversation is closed');
    const { media, ringMs, log } = this.#options;
    const { call, change } = Call.begin(
      {
        id: randomUUID(),
        sessionID: frame.sessionID,
        action: { type: frame.type === 'call.request' ? 'request' : 'invite', by: party, useAudio: frame.useAudio, useVideo: frame.useVideo },
        visitor: conversation.visitor,
        agent: conversation.agent,
        media: { topology: media.kind, capacity: media.capacity, capacityHint: media.capacityHint },
        ringMs,
      },
      this.#calls.get(frame.sessionID),
    );
    // Begun but not yet rung (Call.begin does nothing else): a refusal here leaves no trace.
    const waitMs = this.#starts.take(frame.sessionID);
    if (waitMs > 0) {
      const limit = this.#options.callRequestsPerMinute;
      throw ParleyServerError.rateLimited(
        `this conversation started ${limit} calls in the last minute, the most CALL_REQUESTS_PER_MINUTE allows (${limit}); try again in ${Math.ceil(waitMs / 1000)} s`,
      );
    }
    this.#calls.set(frame.sessionID, call);
    this.#run(call, change);
    log.info({ sessionID: call.sessionID, callId: call.id, by: party.id, kind: call.kind }, 'call started ringing');
    return call.snapshot();
  }

  answer(party: Party, frame: ClientFrameOf<'call.answer'>): CallSnapshot {
    const call = this.#live(frame.sessionID, frame.callId);
    call.requireParticipant(party); // who asks comes before the call's state: an outsider learns nothing of it
    this.#run(call, call.apply(frame.accept ? { type: 'accept', by: party } : { type: 'decline', by: party }));
    return call.snapshot();
  }

  cancel(party: Party, frame: ClientFrameOf<'call.cancel'>): CallSnapshot {
    const call = this.#live(frame.sessionID, frame.callId);
    call.requireParticipant(party);
    this.#run(call, call.apply({ type: 'cancel', by: party }));
    return call.snapshot();
  }

  /** Ends the call for everyone, or — for a guest or an added member — leaves it (see {@link Call.hangup}). */
  hangup(party: Party, frame: ClientFrameOf<'call.hangup'>): CallSnapshot {
    const call = this.#live(frame.sessionID, frame.callId);
    this.#run(call, call.hangup(party, frame.reason === 'media-denied'));
    return call.snapshot();
  }

  /** A participant enters the media session (first time, or again after a reload or reconnect). */
  async join(party: Party, frame: ClientFrameOf<'call.join'>): Promise<{ call: CallSnapshot; iceServers: IceServerInfo[]; media: MediaAccess }> {
    const call = this.#live(frame.sessionID, frame.callId);
    call.requireJoinable(party);
    await this.#mediaReady.get(call.id);
    const media = await this.#options.media.access(call.id, party.id);
    // The call may have ended, or this participant been removed, while the media was prepared.
    const change = this.#calls.get(call.sessionID) === call ? call.join(party.id) : null;
    if (change === null) {
      void this.#options.media.revoke(call.id, party.id);
      throw ParleyServerError.conflict('that call is over for you');
    }
    this.#timers.disarm(call.id, `grace:${party.id}`);
    this.#timers.disarm(call.id, `invite:${party.id}`);
    this.#run(call, change);
    return { call: call.snapshot(), iceServers: iceServersFor(this.#options.ice, party.id), media };
  }

  /** A participant leaves (see {@link Call.leave}). */
  leave(party: Party, frame: ClientFrameOf<'call.leave'>): CallSnapshot {
    const call = this.#live(frame.sessionID, frame.callId);
    this.#run(call, call.leave(party));
    return call.snapshot();
  }

  /** An agent in the call takes another participant out (removing the visitor ends the call). */
  remove(party: Party, frame: ClientFrameOf<'call.remove'>): CallSnapshot {
    const call = this.#live(frame.sessionID, frame.callId);
    this.#run(call, call.remove(party, frame.participantId));
    return call.snapshot();
  }

  /** Invites a member just added to the conversation into its call in progress. Throws `capacity` when full. */
  inviteMember(sessionID: string, by: Party, agent: Party): void {
    const call = this.#calls.get(sessionID);
    if (!call || !call.inProgress || call.participant(agent.id)) return;
    this.#run(call, call.invite(agent, by));
  }

  /** The call of a conversation can take one more person (a guest link is about to be made or used). */
  requireRoom(sessionID: string): CallSnapshot {
    const call = this.#calls.get(sessionID);
    if (!call || !call.inProgress) throw ParleyServerError.conflict('there is no call in progress to invite a guest to');
    call.requireRoom();
    return call.snapshot();
  }

  /** A guest link is about to be made for the call in progress: counts it, or refuses (`capacity`) past GUEST_LINKS_PER_CALL. */
  takeGuestLink(sessionID: string): void {
    this.#calls.get(sessionID)?.takeGuestLink(this.#options.guestLinksPerCall);
  }

  /** A guest redeemed its link: it becomes a participant of the call, and joins with `call.join`. */
  admitGuest(sessionID: string, callId: string, guest: Party, invitedBy: Party): CallSnapshot {
    const call = this.#live(sessionID, callId);
    this.#run(call, call.invite(guest, invitedBy));
    return call.snapshot();
  }

  /** Relays SDP or ICE to another joined participant of the same call. Never awaits: it is the hot path of setup. */
  signal(party: Party, frame: ClientFrameOf<'signal'>): void {
    const call = this.#live(frame.sessionID, frame.callId);
    call.requireSignalPath(party, frame.to);
    this.#options.bus.publish(topics.party(frame.to), {
      type: 'signal',
      sessionID: frame.sessionID,
      callId: frame.callId,
      from: party.id,
      ...(frame.description ? { description: frame.description } : {}),
      ...(frame.candidate !== undefined ? { candidate: frame.candidate } : {}),
    });
  }

  /** A participant reports its link state to a peer. The first `connected` makes the call active. */
  connection(party: Party, frame: ClientFrameOf<'call.connection'>): void {
    const call = this.#live(frame.sessionID, frame.callId);
    this.#run(call, call.connectionChanged(party, frame.state));
  }

  /** A participant says what it sends now (mute, camera off/on, upgrade to video). */
  media(party: Party, frame: ClientFrameOf<'call.media'>): void {
    const call = this.#live(frame.sessionID, frame.callId);
    this.#run(call, call.mediaChanged(party, frame.audio, frame.video));
  }

  /** The party's last connection closed: its calls wait the grace period for it to come back. */
  partyOffline(party: Party): void {
    for (const call of this.#calls.values()) {
      const change = call.disconnected(party.id);
      if (change === null) continue;
      this.#run(call, change);
      this.#timers.arm(call.id, `grace:${party.id}`, this.#options.graceMs, () =>
        this.#quietly(call, 'graceExpired', () => call.graceExpired(party)),
      );
    }
  }

  /** The conversation closed: its call, if any, ends (reason `closed`). */
  conversationClosed(event: { sessionID: string; by: Party }): void {
    this.#starts.forget(event.sessionID);
    const call = this.#calls.get(event.sessionID);
    if (call) this.#quietly(call, 'conversationClosed', () => call.parentClosed(event.by));
  }

  /** Ends every call (server shutdown); nothing is written. */
  async shutdown(): Promise<void> {
    this.#timers.disarmAll();
    this.#calls.clear();
    this.#mediaReady.clear();
    await this.#options.media.shutdown();
  }

  // ---------------------------------------------------------------- internals

  #live(sessionID: string, callId: string): Call {
    const call = this.#calls.get(sessionID);
    if (!call || call.id !== callId) throw ParleyServerError.conflict('that call is over');
    return call;
  }

  /** Members hear what changed; then each event takes effect and is written to the transcript. */
  #run(call: Call, change: CallChange | null): void {
    if (change === null) return;
    for (const event of change.events) this.#takeEffect(call, event);
    this.#options.bus.publish(topics.conversation(call.sessionID), { type: 'call.updated', call: call.snapshot() });
    for (const event of change.events) {
      const text = callEventText(event, call.kind);
      if (text !== null) this.#record(call, text);
    }
  }

  /** The timers, media and bookkeeping an event asks for. */
  #takeEffect(call: Call, event: CallEvent): void {
    const { media, ringMs, log } = this.#options;
    switch (event.type) {
      case 'requested':
      case 'invited':
        this.#timers.arm(call.id, 'ring', Math.max(0, (call.expiresAt?.getTime() ?? Date.now()) - Date.now()), () =>
          this.#quietly(call, 'expire', () => call.apply({ type: 'expire' })),
        );
        return;
      case 'accepted': {
        this.#timers.disarm(call.id, 'ring');
        const ready = media.open(call.id);
        this.#mediaReady.set(call.id, ready);
        ready.catch((err: unknown) => {
          log.error({ err, callId: call.id }, 'the call media could not be prepared');
          this.#quietly(call, 'fail', () => call.apply({ type: 'fail' }));
        });
        return;
      }
      case 'ended': {
        this.#timers.disarmCall(call.id);
        this.#calls.delete(call.sessionID);
        const ready = this.#mediaReady.get(call.id);
        this.#mediaReady.delete(call.id);
        if (ready) void ready.then(() => media.close(call.id), () => undefined);
        log.info({ sessionID: call.sessionID, callId: call.id, reason: event.reason, durationMs: event.durationMs }, 'call ended');
        return;
      }
      case 'participantInvited': {
        const id = event.participant.id;
        this.#timers.arm(call.id, `invite:${id}`, ringMs, () => this.#quietly(call, 'inviteLapsed', () => call.inviteLapsed(id)));
        return;
      }
      case 'participantLeft': {
        const id = event.participant.id;
        this.#timers.disarm(call.id, `grace:${id}`);
        this.#timers.disarm(call.id, `invite:${id}`);
        void media.revoke(call.id, id);
        log.info({ sessionID: call.sessionID, callId: call.id, partyId: id }, 'participant left the call');
        return;
      }
      case 'started':
      case 'participantJoined':
      case 'upgradedToVideo':
        return;
    }
  }

  /** For timers and hooks: acts only on a call still live here; a refusal is logged, never thrown. */
  #quietly(call: Call, what: string, act: () => CallChange | null): void {
    if (this.#calls.get(call.sessionID) !== call) return;
    try {
      this.#run(call, act());
    } catch (err) {
      this.#options.log.warn({ err, callId: call.id, action: what }, 'call transition refused');
    }
  }

  #record(call: Call, text: string): void {
    this.#options.transcript
      .appendEvent(call.sessionID, text)
      .catch((err: unknown) => this.#options.log.error({ err, sessionID: call.sessionID }, 'could not record a call event'));
  }
}
