import { randomUUID } from 'node:crypto';
import type {
  CallAction,
  CallCore,
  CallRoles,
  CallSnapshot,
  ClientFrameOf,
  IceServerInfo,
  Party,
} from '@parley/protocol';
import { IDLE_CALL, departureEndsCall, transition } from '@parley/protocol';
import type { MediaAccess } from '@parley/protocol';
import type { Logger } from 'pino';
import type { Bus } from '../bus/Bus.ts';
import { topics } from '../bus/topics.ts';
import type { Config } from '../config.ts';
import { ParleyServerError } from '../errors.ts';
import type { ConversationRecord } from '../store/Store.ts';
import { Call } from './Call.ts';
import { endedText } from './callText.ts';
import type { MediaTopology } from './media/MediaTopology.ts';
import { iceServersFor } from './turn.ts';

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
}

const inProgress = (call: Call) => call.core.state === 'connecting' || call.core.state === 'active';
/** Grace-timer key of a participant invited into a running call who has not joined yet. */
const inviteKey = (partyId: string) => `invite:${partyId}`;

/**
 * Calls: at most one live call per conversation, held in memory by this node. Every change goes through the
 * pure state machine (`transition` from the protocol), so an illegal action is refused before anything changes.
 * Members hear of every change as `call.updated`; the transcript gets an event message for each step.
 * The server carries signaling only, relayed between joined participants of the same call.
 */
export class CallService {
  readonly #calls = new Map<string, Call>();
  readonly #options: CallServiceOptions;

  constructor(options: CallServiceOptions) {
    this.#options = options;
  }

  /** The conversation closed: its call, if any, ends (reason `closed`). */
  conversationClosed(event: { sessionID: string; by: Party }): void {
    const call = this.#calls.get(event.sessionID);
    if (call) this.#applyQuietly(call, { type: 'conversationClosed', by: event.by });
  }

  /** The live call of a conversation, or null. */
  liveCall(sessionID: string): CallSnapshot | null {
    return this.#calls.get(sessionID)?.snapshot() ?? null;
  }

  async start(party: Party, frame: ClientFrameOf<'call.request'> | ClientFrameOf<'call.invite'>): Promise<CallSnapshot> {
    const conversation = await this.#options.conversations.requireMember(party, frame.sessionID);
    if (conversation.status === 'closed') throw ParleyServerError.conflict('the conversation is closed');
    const roles: CallRoles = { visitorId: conversation.visitor.id, agentId: conversation.agent?.id ?? null };
    const current = this.#calls.get(frame.sessionID);
    const action: CallAction =
      frame.type === 'call.request'
        ? { type: 'request', by: party, useAudio: frame.useAudio, useVideo: frame.useVideo }
        : { type: 'invite', by: party, useAudio: frame.useAudio, useVideo: frame.useVideo };
    const next = check(transition(current?.core ?? IDLE_CALL, action, roles));
    const members = [conversation.visitor, ...(conversation.agent ? [conversation.agent] : [])];
    const call = new Call(randomUUID(), frame.sessionID, next, members, roles, this.#options.media.kind, this.#options.media.capacity);
    this.#calls.set(frame.sessionID, call);
    call.ring(this.#options.ringMs, () => this.#applyQuietly(call, { type: 'expire' }));
    this.#publish(call);
    const visitorName = conversation.visitor.name;
    this.#event(
      call,
      frame.type === 'call.request' ? `${party.name} asked for a ${call.kind}` : `${party.name} invited ${visitorName} to a ${call.kind}`,
    );
    this.#options.log.info({ sessionID: call.sessionID, callId: call.id, by: party.id, kind: call.kind }, 'call started ringing');
    return call.snapshot();
  }

  answer(party: Party, frame: ClientFrameOf<'call.answer'>): CallSnapshot {
    const call = this.#live(frame.sessionID, frame.callId);
    this.#apply(call, frame.accept ? { type: 'accept', by: party } : { type: 'decline', by: party });
    return call.snapshot();
  }

  cancel(party: Party, frame: ClientFrameOf<'call.cancel'>): CallSnapshot {
    const call = this.#live(frame.sessionID, frame.callId);
    this.#apply(call, { type: 'cancel', by: party });
    return call.snapshot();
  }

  /**
   * Ends the call for everyone (the visitor or the conversation's agent). From anyone else — a guest, an added
   * agent — hanging up is leaving: only that participant goes.
   */
  hangup(party: Party, frame: ClientFrameOf<'call.hangup'>): CallSnapshot {
    const call = this.#live(frame.sessionID, frame.callId);
    this.#participant(call, party);
    if (inProgress(call) && party.id !== call.roles.visitorId && party.id !== call.roles.agentId) return this.leave(party, { ...frame, type: 'call.leave' });
    this.#apply(call, frame.reason === 'media-denied' ? { type: 'mediaDenied', by: party } : { type: 'hangup', by: party });
    return call.snapshot();
  }

  /** A participant enters the media session (first time, or again after a reload or reconnect). */
  async join(party: Party, frame: ClientFrameOf<'call.join'>): Promise<{ call: CallSnapshot; iceServers: IceServerInfo[]; media: MediaAccess }> {
    const call = this.#live(frame.sessionID, frame.callId);
    this.#participant(call, party);
    if (!inProgress(call)) throw ParleyServerError.conflict(`the call is ${call.core.state}; join once it is accepted`);
    await call.mediaReady;
    const media = await this.#options.media.access(call.id, party.id);
    // The call may have ended, or this participant been removed, while the media was prepared.
    const participant = this.#calls.get(call.sessionID) === call ? call.participants.get(party.id) : undefined;
    if (!participant) {
      void this.#options.media.revoke(call.id, party.id);
      throw ParleyServerError.conflict('that call is over for you');
    }
    call.stopGrace(party.id);
    call.stopGrace(inviteKey(party.id));
    const first = !participant.joined;
    participant.joined = true;
    participant.connection = 'connecting';
    this.#publish(call);
    if (first && participant.invitedBy) {
      this.#event(call, party.role === 'guest' ? `${party.name} (guest of ${participant.invitedBy.name}) joined the call` : `${party.name} joined the call`);
    }
    return { call: call.snapshot(), iceServers: iceServersFor(this.#options.ice, party.id), media };
  }

  /**
   * A participant leaves. An invitation not yet taken up is declined. When the visitor or the last agent leaves,
   * the call ends for everyone.
   */
  leave(party: Party, frame: ClientFrameOf<'call.leave'>): CallSnapshot {
    const call = this.#live(frame.sessionID, frame.callId);
    const participant = this.#participant(call, party);
    if (!inProgress(call)) throw ParleyServerError.conflict('the call has not started; cancel or decline it');
    if (!participant.joined && participant.invitedBy) this.#remove(call, participant, `${party.name} declined to join the call`);
    else this.#depart(call, participant, null);
    return call.snapshot();
  }

  /** An agent in the call takes another participant out (removing the visitor ends the call). */
  remove(party: Party, frame: ClientFrameOf<'call.remove'>): CallSnapshot {
    const call = this.#live(frame.sessionID, frame.callId);
    this.#participant(call, party);
    if (party.role !== 'agent') throw ParleyServerError.forbidden('only agents remove participants');
    if (frame.participantId === party.id) throw ParleyServerError.conflict('to leave the call yourself, leave it');
    const target = call.participants.get(frame.participantId);
    if (!target) throw ParleyServerError.notFound('participant');
    if (!inProgress(call)) throw ParleyServerError.conflict(`the call is ${call.core.state}`);
    this.#depart(call, target, party);
    return call.snapshot();
  }

  /** Invites an agent just added to the conversation into its call in progress. Throws `capacity` when full. */
  inviteMember(sessionID: string, by: Party, agent: Party): void {
    const call = this.#calls.get(sessionID);
    if (!call || !inProgress(call) || call.participants.has(agent.id)) return;
    this.#checkCapacity(call);
    this.#invite(call, agent, by);
    this.#event(call, `${by.name} invited ${agent.name} into the call`);
  }

  /** The call of a conversation can take one more person (a guest link is about to be made or used). */
  requireRoom(sessionID: string): CallSnapshot {
    const call = this.#calls.get(sessionID);
    if (!call || !inProgress(call)) throw ParleyServerError.conflict('there is no call in progress to invite a guest to');
    this.#checkCapacity(call);
    return call.snapshot();
  }

  /** A guest redeemed its link: it becomes a participant of the call, and joins with `call.join`. */
  admitGuest(sessionID: string, callId: string, guest: Party, invitedBy: Party): CallSnapshot {
    const call = this.#live(sessionID, callId);
    if (!inProgress(call)) throw ParleyServerError.conflict(`the call is ${call.core.state}`);
    this.#checkCapacity(call);
    this.#invite(call, guest, invitedBy);
    return call.snapshot();
  }

  /** Relays SDP or ICE to another joined participant of the same call. Never awaits: it is the hot path of setup. */
  signal(party: Party, frame: ClientFrameOf<'signal'>): void {
    const call = this.#live(frame.sessionID, frame.callId);
    const from = this.#participant(call, party);
    const to = call.participants.get(frame.to);
    if (!from.joined) throw ParleyServerError.conflict('join the call before signaling');
    if (!to) throw ParleyServerError.forbidden(`${frame.to} is not in this call`);
    if (frame.to === party.id) throw ParleyServerError.invalid('cannot signal yourself');
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
    const participant = this.#participant(call, party);
    if (!participant.joined) throw ParleyServerError.conflict('join the call first');
    if (frame.state === 'failed') return void this.#apply(call, { type: 'fail', by: party });
    participant.connection = frame.state;
    if (frame.state === 'connected' && call.core.state === 'connecting') this.#apply(call, { type: 'connected' });
    else this.#publish(call);
  }

  /** A participant says what it sends now (mute, camera off/on, upgrade to video). */
  media(party: Party, frame: ClientFrameOf<'call.media'>): void {
    const call = this.#live(frame.sessionID, frame.callId);
    const participant = this.#participant(call, party);
    if (participant.audio === frame.audio && participant.video === frame.video) return;
    const upgraded = frame.video && !call.core.useVideo;
    participant.audio = frame.audio;
    participant.video = frame.video;
    if (upgraded) call.core = { ...call.core, useVideo: true };
    this.#publish(call);
    if (upgraded) this.#event(call, `${party.name} turned the voice call into a video call`);
  }

  /** The party's last connection closed: its calls wait the grace period for it to come back. */
  partyOffline(party: Party): void {
    for (const call of this.#calls.values()) {
      const participant = call.participants.get(party.id);
      if (!participant?.joined) continue;
      participant.connection = 'reconnecting';
      this.#publish(call);
      call.startGrace(party.id, this.#options.graceMs, () => {
        const gone = call.participants.get(party.id);
        if (!gone || this.#calls.get(call.sessionID) !== call) return;
        if (departureEndsCall(call.attendees(), party.id, call.roles.visitorId)) this.#applyQuietly(call, { type: 'fail', by: party });
        else this.#remove(call, gone, `${party.name} lost the connection and left the call`);
      });
    }
  }

  /** Ends every call (server shutdown); nothing is written. */
  async shutdown(): Promise<void> {
    for (const call of this.#calls.values()) call.dispose();
    this.#calls.clear();
    await this.#options.media.shutdown();
  }

  // ---------------------------------------------------------------- internals

  #live(sessionID: string, callId: string): Call {
    const call = this.#calls.get(sessionID);
    if (!call || call.id !== callId) throw ParleyServerError.conflict('that call is over');
    return call;
  }

  #checkCapacity(call: Call): void {
    if (call.participants.size < call.capacity) return;
    const { capacity, capacityHint } = this.#options.media;
    throw new ParleyServerError('capacity', `this call has ${call.participants.size} people, the most it carries (${capacity}); ${capacityHint}`);
  }

  /** Adds someone who has not joined yet; the invitation lapses after the ring time. */
  #invite(call: Call, party: Party, by: Party): void {
    const participant = call.add(party, by);
    call.startGrace(inviteKey(party.id), this.#options.ringMs, () => {
      if (call.participants.get(party.id) === participant && !participant.joined) this.#remove(call, participant, `${party.name} did not join the call`);
    });
    this.#publish(call);
  }

  /** A participant goes: the call ends when the visitor or the last agent goes, else only this one leaves. */
  #depart(call: Call, who: Party, by: Party | null): void {
    if (departureEndsCall(call.attendees(), who.id, call.roles.visitorId)) return this.#apply(call, { type: 'hangup', by: by ?? who });
    this.#remove(call, who, by ? `${by.name} removed ${who.name} from the call` : `${who.name} left the call`);
  }

  /** Takes one participant out of a call that goes on. */
  #remove(call: Call, who: Party, text: string): void {
    call.participants.delete(who.id);
    call.stopGrace(who.id);
    call.stopGrace(inviteKey(who.id));
    void this.#options.media.revoke(call.id, who.id);
    this.#publish(call);
    this.#event(call, text);
    this.#options.log.info({ sessionID: call.sessionID, callId: call.id, partyId: who.id }, 'participant left the call');
  }

  #participant(call: Call, party: Party) {
    const participant = call.participants.get(party.id);
    if (!participant) throw ParleyServerError.forbidden('you are not a participant of this call');
    return participant;
  }

  /** Applies an action through the state machine, then its effects. Throws (changing nothing) when refused. */
  #apply(call: Call, action: CallAction): void {
    if (this.#calls.get(call.sessionID) !== call) return;
    const before = call.core.state;
    call.core = check(transition(call.core, action, call.roles));
    const after = call.core.state;
    if (after === before) return this.#publish(call);
    const by = 'by' in action ? (action.by ?? null) : null;
    if (after === 'connecting') {
      call.stopRinging();
      call.mediaReady = this.#options.media.open(call.id);
      call.mediaReady.catch((err: unknown) => {
        this.#options.log.error({ err, callId: call.id }, 'the call media could not be prepared');
        this.#applyQuietly(call, { type: 'fail' });
      });
      this.#event(call, `${by?.name ?? 'The other side'} accepted the ${call.kind}`);
    } else if (after === 'active') {
      call.startedAt = new Date();
      this.#event(call, `${call.kind[0]!.toUpperCase()}${call.kind.slice(1)} started`);
    } else if (after === 'ended') {
      call.endedAt = new Date();
      call.dispose();
      this.#calls.delete(call.sessionID);
      if (call.mediaReady) void call.mediaReady.then(() => this.#options.media.close(call.id), () => undefined);
      const duration = call.startedAt ? call.endedAt.getTime() - call.startedAt.getTime() : null;
      this.#event(call, endedText(call.kind, call.core.endReason ?? 'hangup', call.core.endedBy, duration));
      this.#options.log.info({ sessionID: call.sessionID, callId: call.id, reason: call.core.endReason, durationMs: duration }, 'call ended');
    }
    this.#publish(call);
  }

  /** For timers and hooks: a refusal there is logged, never thrown. */
  #applyQuietly(call: Call, action: CallAction): void {
    try {
      this.#apply(call, action);
    } catch (err) {
      this.#options.log.warn({ err, callId: call.id, action: action.type }, 'call transition refused');
    }
  }

  #publish(call: Call): void {
    this.#options.bus.publish(topics.conversation(call.sessionID), { type: 'call.updated', call: call.snapshot() });
  }

  #event(call: Call, text: string): void {
    this.#options.transcript
      .appendEvent(call.sessionID, text)
      .catch((err: unknown) => this.#options.log.error({ err, sessionID: call.sessionID }, 'could not record a call event'));
  }
}

function check(result: ReturnType<typeof transition>): CallCore {
  if (!result.ok) throw new ParleyServerError(result.code, result.message);
  return result.call;
}
