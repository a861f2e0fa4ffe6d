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
import { IDLE_CALL, transition } from '@parley/protocol';
import type { Logger } from 'pino';
import type { Bus } from '../bus/Bus.ts';
import type { Config } from '../config.ts';
import type { ConversationService } from '../domain/ConversationService.ts';
import { ParleyServerError } from '../errors.ts';
import { Call } from './Call.ts';
import { endedText } from './callText.ts';
import { iceServersFor } from './turn.ts';

export interface CallServiceOptions {
  bus: Bus;
  conversations: ConversationService;
  log: Logger;
  /** How long a request or invitation rings before it expires. */
  ringMs: number;
  /** How long a joined participant may be without a connection before the call ends. */
  graceMs: number;
  ice: Pick<Config, 'iceServers' | 'turn'>;
}

/**
 * Calls: at most one live call per conversation, held in memory by this node. Every change goes through the
 * pure state machine (`transition` from the protocol), so an illegal action is refused before anything changes.
 * Members hear of every change as `call.updated`; the transcript gets an event message for each step.
 * The server carries signaling only, relayed between joined participants of the same call.
 */
export class CallService {
  readonly #calls = new Map<string, Call>();
  readonly #o: CallServiceOptions;

  constructor(options: CallServiceOptions) {
    this.#o = options;
    options.conversations.setCallLookup((sessionID) => this.liveCall(sessionID));
    options.conversations.onClosed(async (sessionID, by) => {
      const call = this.#calls.get(sessionID);
      if (call) this.#applyQuietly(call, { type: 'conversationClosed', by });
    });
  }

  /** The live call of a conversation, or null. */
  liveCall(sessionID: string): CallSnapshot | null {
    return this.#calls.get(sessionID)?.snapshot() ?? null;
  }

  async start(party: Party, frame: ClientFrameOf<'call.request'> | ClientFrameOf<'call.invite'>): Promise<CallSnapshot> {
    const conversation = await this.#o.conversations.requireMember(party, frame.sessionID);
    if (conversation.status === 'closed') throw ParleyServerError.conflict('the conversation is closed');
    const roles: CallRoles = { visitorId: conversation.visitor.id, agentId: conversation.agent?.id ?? null };
    const current = this.#calls.get(frame.sessionID);
    const action: CallAction =
      frame.type === 'call.request'
        ? { type: 'request', by: party, useAudio: frame.useAudio, useVideo: frame.useVideo }
        : { type: 'invite', by: party, useAudio: frame.useAudio, useVideo: frame.useVideo };
    const next = check(transition(current?.core ?? IDLE_CALL, action, roles));
    const members = [conversation.visitor, ...(conversation.agent ? [conversation.agent] : [])];
    const call = new Call(randomUUID(), frame.sessionID, next, members, roles);
    this.#calls.set(frame.sessionID, call);
    call.ring(this.#o.ringMs, () => this.#applyQuietly(call, { type: 'expire' }));
    this.#publish(call);
    const visitorName = conversation.visitor.name;
    this.#event(
      call,
      frame.type === 'call.request' ? `${party.name} asked for a ${call.kind}` : `${party.name} invited ${visitorName} to a ${call.kind}`,
    );
    this.#o.log.info({ sessionID: call.sessionID, callId: call.id, by: party.id, kind: call.kind }, 'call started ringing');
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

  hangup(party: Party, frame: ClientFrameOf<'call.hangup'>): CallSnapshot {
    const call = this.#live(frame.sessionID, frame.callId);
    this.#participant(call, party);
    this.#apply(call, frame.reason === 'media-denied' ? { type: 'mediaDenied', by: party } : { type: 'hangup', by: party });
    return call.snapshot();
  }

  /** A participant enters the media session (first time, or again after a reload or reconnect). */
  join(party: Party, frame: ClientFrameOf<'call.join'>): { call: CallSnapshot; iceServers: IceServerInfo[] } {
    const call = this.#live(frame.sessionID, frame.callId);
    const participant = this.#participant(call, party);
    if (call.core.state !== 'connecting' && call.core.state !== 'active') {
      throw ParleyServerError.conflict(`the call is ${call.core.state}; join once it is accepted`);
    }
    call.stopGrace(party.id);
    participant.joined = true;
    participant.connection = 'connecting';
    this.#publish(call);
    return { call: call.snapshot(), iceServers: iceServersFor(this.#o.ice, party.id) };
  }

  /** Relays SDP or ICE to another joined participant of the same call. Never awaits: it is the hot path of setup. */
  signal(party: Party, frame: ClientFrameOf<'signal'>): void {
    const call = this.#live(frame.sessionID, frame.callId);
    const from = this.#participant(call, party);
    const to = call.participants.get(frame.to);
    if (!from.joined) throw ParleyServerError.conflict('join the call before signaling');
    if (!to) throw ParleyServerError.forbidden(`${frame.to} is not in this call`);
    if (frame.to === party.id) throw ParleyServerError.invalid('cannot signal yourself');
    this.#o.bus.publish(`party:${frame.to}`, {
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
      call.startGrace(party.id, this.#o.graceMs, () => this.#applyQuietly(call, { type: 'fail', by: party }));
    }
  }

  /** Ends every call (server shutdown); nothing is written. */
  shutdown(): void {
    for (const call of this.#calls.values()) call.dispose();
    this.#calls.clear();
  }

  // ---------------------------------------------------------------- internals

  #live(sessionID: string, callId: string): Call {
    const call = this.#calls.get(sessionID);
    if (!call || call.id !== callId) throw ParleyServerError.conflict('that call is over');
    return call;
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
      this.#event(call, `${by?.name ?? 'The other side'} accepted the ${call.kind}`);
    } else if (after === 'active') {
      call.startedAt = new Date();
      this.#event(call, `${call.kind[0]!.toUpperCase()}${call.kind.slice(1)} started`);
    } else if (after === 'ended') {
      call.endedAt = new Date();
      call.dispose();
      this.#calls.delete(call.sessionID);
      const duration = call.startedAt ? call.endedAt.getTime() - call.startedAt.getTime() : null;
      this.#event(call, endedText(call.kind, call.core.endReason ?? 'hangup', call.core.endedBy, duration));
      this.#o.log.info({ sessionID: call.sessionID, callId: call.id, reason: call.core.endReason, durationMs: duration }, 'call ended');
    }
    this.#publish(call);
  }

  /** For timers and hooks: a refusal there is logged, never thrown. */
  #applyQuietly(call: Call, action: CallAction): void {
    try {
      this.#apply(call, action);
    } catch (err) {
      this.#o.log.warn({ err, callId: call.id, action: action.type }, 'call transition refused');
    }
  }

  #publish(call: Call): void {
    this.#o.bus.publish(`conv:${call.sessionID}`, { type: 'call.updated', call: call.snapshot() });
  }

  #event(call: Call, text: string): void {
    this.#o.conversations
      .appendEvent(call.sessionID, text)
      .catch((err: unknown) => this.#o.log.error({ err, sessionID: call.sessionID }, 'could not record a call event'));
  }
}

function check(result: ReturnType<typeof transition>): CallCore {
  if (!result.ok) throw new ParleyServerError(result.code, result.message);
  return result.call;
}
