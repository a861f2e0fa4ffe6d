import type {
  Attendee,
  CallAction,
  CallCore,
  CallParticipant,
  CallRoles,
  CallSnapshot,
  CallTopology,
  Party,
  ParticipantConnection,
} from '@parley/protocol';
import { IDLE_CALL, departureEndsCall, mayRemove, transition } from '@parley/protocol';
import { inProgress, isPending } from '@parley/protocol/call';
import { ParleyServerError } from '../errors.ts';
import type { CallRecord } from '../store/Store.ts';
import type { CallChange, CallEvent, ParticipantExit } from './CallEvent.ts';
import { kindOf } from './callText.ts';

/** How a call's media limits it, fixed for its life. */
export interface CallMedia {
  topology: CallTopology;
  /** Most participants the call carries (invited ones count). */
  capacity: number;
  /** What to tell someone refused for capacity: how to carry more. */
  capacityHint: string;
}

/** How long a call's deadlines run, fixed for its life. */
export interface CallTiming {
  /** A request or invitation rings this long; a participant invited into a call in progress has as long to join. */
  ringMs: number;
  /** A joined participant may be without a connection this long before it is taken out. */
  graceMs: number;
}

/**
 * A deadline of a call: its ring, or one participant's grace period (reconnecting) or invitation. A deadline
 * is state, stored with the call; a timer only makes a node act on time, and firing one twice does nothing.
 */
export type CallDeadline = 'ring' | `grace:${string}` | `invite:${string}`;

/** The stored form of a call's state beyond the columns of its row (`CallRecord.data`). */
interface StoredCallData {
  v: 1;
  core: CallCore;
  roles: CallRoles;
  media: CallMedia;
  timing: CallTiming;
  participants: CallParticipant[];
  guestLinks: number;
  expiresAt: string | null;
  startedAt: string | null;
  /** Participant deadlines (grace, invite) by name, as ISO times. */
  deadlines: Record<string, string>;
  /** Participants dropped past their grace period, as they were (absent in calls stored before rejoining existed). */
  dropped?: CallParticipant[];
}

export interface BeginCall {
  id: string;
  sessionID: string;
  /** `request` (the visitor) or `invite` (the agent). */
  action: Extract<CallAction, { type: 'request' | 'invite' }>;
  /** The conversation's visitor and agent: the first participants. */
  visitor: Party;
  agent: Party | null;
  media: CallMedia;
  timing: CallTiming;
}

/**
 * One call of a conversation and the participants in it (Conversation → Call → Participant). The call applies
 * its own actions: each method checks who may do what in which state (the pure state machine of the protocol
 * decides the call's state), changes the call, and returns what changed — the events the call service turns
 * into timers, media and transcript lines. A refused action throws ParleyServerError and changes nothing.
 * It does no I/O and holds no timers: its deadlines are state (`deadlines()`), and the whole call is a store
 * row (`toRecord` / `fromRecord`).
 */
export class Call {
  #core: CallCore;
  /** Grows with every change (see CallSnapshot.revision); bumped by each method that changes the call. */
  #revision = 1;
  readonly #participants = new Map<string, CallParticipant>();
  /** Grace periods and invitations running, by deadline name. */
  readonly #deadlines = new Map<CallDeadline, Date>();
  /** Participants taken out because their grace period passed: each may join again while the call lasts. */
  readonly #dropped = new Map<string, CallParticipant>();
  createdAt = new Date();
  /** The ring's deadline, while it rings. */
  expiresAt: Date | null = null;
  /** Guest links made for this call so far. */
  #guestLinks = 0;
  startedAt: Date | null = null;
  endedAt: Date | null = null;

  private constructor(
    readonly id: string,
    readonly sessionID: string,
    core: CallCore,
    /** Who answers what: fixed for the call's life. */
    readonly roles: CallRoles,
    readonly media: CallMedia,
    readonly timing: CallTiming,
  ) {
    this.#core = core;
  }

  /** The call a store row holds. */
  static fromRecord(record: CallRecord): Call {
    const data = record.data as StoredCallData;
    if (data?.v !== 1) throw new Error(`call ${record.id}: unknown stored format`);
    const call = new Call(record.id, record.sessionID, data.core, data.roles, data.media, data.timing);
    call.#revision = record.revision;
    // Calls stored before screen sharing existed have participants without its fields.
    for (const participant of data.participants) call.#participants.set(participant.id, { ...participant, screen: participant.screen ?? false, screenStream: participant.screenStream ?? null });
    for (const [name, at] of Object.entries(data.deadlines)) call.#deadlines.set(name as CallDeadline, new Date(at));
    for (const participant of data.dropped ?? []) call.#dropped.set(participant.id, participant);
    call.#guestLinks = data.guestLinks;
    call.createdAt = new Date(record.createdAt);
    call.expiresAt = data.expiresAt === null ? null : new Date(data.expiresAt);
    call.startedAt = data.startedAt === null ? null : new Date(data.startedAt);
    call.endedAt = record.endedAt === null ? null : new Date(record.endedAt);
    return call;
  }

  /** The store row of the call as it is now. */
  toRecord(now = new Date()): CallRecord {
    const data: StoredCallData = {
      v: 1,
      core: this.#core,
      roles: this.roles,
      media: this.media,
      timing: this.timing,
      participants: [...this.#participants.values()].map((p) => ({ ...p })),
      guestLinks: this.#guestLinks,
      expiresAt: this.expiresAt?.toISOString() ?? null,
      startedAt: this.startedAt?.toISOString() ?? null,
      deadlines: Object.fromEntries([...this.#deadlines].map(([name, at]) => [name, at.toISOString()])),
      dropped: [...this.#dropped.values()].map((p) => ({ ...p })),
    };
    const next = this.deadlines().reduce<Date | null>((min, d) => (min === null || d.at < min ? d.at : min), null);
    return {
      id: this.id,
      sessionID: this.sessionID,
      state: this.#core.state,
      revision: this.#revision,
      nextDeadlineAt: next?.toISOString() ?? null,
      data,
      createdAt: this.createdAt.toISOString(),
      updatedAt: now.toISOString(),
      endedAt: this.endedAt?.toISOString() ?? null,
    };
  }

  /** Grows with every change; the store compares it. */
  get revision(): number {
    return this.#revision;
  }

  /** Every deadline running: the ring while it rings, grace periods, invitations. */
  deadlines(): Array<{ name: CallDeadline; at: Date }> {
    const all = [...this.#deadlines].map(([name, at]) => ({ name, at }));
    if (this.expiresAt !== null) all.unshift({ name: 'ring', at: this.expiresAt });
    return all;
  }

  /**
   * A deadline came (a timer fired, or a sweep found it): acts when it is still running and due, else does
   * nothing (null) — so a deadline fired twice, or one met meanwhile, changes nothing.
   */
  deadlineReached(name: CallDeadline, now = new Date()): CallChange | null {
    const at = name === 'ring' ? this.expiresAt : (this.#deadlines.get(name) ?? null);
    if (at === null || at.getTime() > now.getTime()) return null;
    if (name === 'ring') return this.apply({ type: 'expire' });
    const [kind, partyId] = splitDeadline(name);
    const participant = this.#participants.get(partyId);
    if (!participant) return null;
    return kind === 'grace' ? this.graceExpired({ id: participant.id, role: participant.role, name: participant.name }) : this.inviteLapsed(partyId);
  }

  /**
   * A new call, ringing. `current`: the conversation's call so far, if one is live (then it is refused).
   * Returns the call and what members hear of it.
   */
  static begin(input: BeginCall, current: Call | undefined): { call: Call; change: CallChange } {
    const roles: CallRoles = { visitorId: input.visitor.id, agentId: input.agent?.id ?? null };
    const core = check(transition(current ? current.#core : IDLE_CALL, input.action, roles));
    const call = new Call(input.id, input.sessionID, core, roles, input.media, input.timing);
    for (const party of [input.visitor, ...(input.agent ? [input.agent] : [])]) call.#add(party, null);
    call.expiresAt = new Date(call.createdAt.getTime() + input.timing.ringMs);
    const by = input.action.by;
    const event: CallEvent = input.action.type === 'request' ? { type: 'requested', by } : { type: 'invited', by, visitor: input.visitor };
    return { call, change: { events: [event] } };
  }

  get state(): CallCore['state'] {
    return this.#core.state;
  }

  /** "video call" or "voice call", for the transcript. */
  get kind(): string {
    return kindOf(this.#core.useVideo);
  }

  /** Accepted and not ended: participants may join, leave and be invited. */
  get inProgress(): boolean {
    return inProgress(this.#core.state);
  }

  get ended(): boolean {
    return this.#core.state === 'ended';
  }

  participant(partyId: string): CallParticipant | undefined {
    return this.#participants.get(partyId);
  }

  /** The participant `party` is; `forbidden` when it is not in the call. */
  requireParticipant(party: Party): CallParticipant {
    const participant = this.#participants.get(party.id);
    if (!participant) throw ParleyServerError.forbidden('you are not a participant of this call');
    return participant;
  }

  /** Refuses (`capacity`) when the call carries as many people as it can. */
  requireRoom(): void {
    if (this.#participants.size < this.media.capacity) return;
    const { capacity, capacityHint } = this.media;
    throw new ParleyServerError('capacity', `this call has ${this.#participants.size} people, the most it carries (${capacity}); ${capacityHint}`);
  }

  /** Counts one more guest link; `capacity` when the call has had `max` already. */
  takeGuestLink(max: number): void {
    if (this.#guestLinks >= max) {
      throw new ParleyServerError('capacity', `this call has had ${this.#guestLinks} guest links, the most GUEST_LINKS_PER_CALL allows (${max})`);
    }
    this.#guestLinks++;
  }

  /** Applies an action of the state machine (answer, cancel, expire, connected, fail, …). */
  apply(action: CallAction): CallChange {
    const before = this.#core;
    this.#core = check(transition(this.#core, action, this.roles));
    if (this.#core !== before) this.#changed();
    const after = this.#core.state;
    if (after === before.state) return { events: [] };
    const by = 'by' in action ? (action.by ?? null) : null;
    if (after === 'connecting') {
      this.expiresAt = null;
      return { events: [{ type: 'accepted', by }] };
    }
    if (after === 'active') {
      this.startedAt = new Date();
      return { events: [{ type: 'started' }] };
    }
    if (after === 'ended') {
      this.endedAt = new Date();
      this.expiresAt = null;
      this.#deadlines.clear();
      const durationMs = this.startedAt ? this.endedAt.getTime() - this.startedAt.getTime() : null;
      return { events: [{ type: 'ended', reason: this.#core.endReason ?? 'hangup', by: this.#core.endedBy, durationMs }] };
    }
    return { events: [] };
  }

  /** The conversation closed: the call ends with it. */
  parentClosed(by: Party): CallChange {
    return this.apply({ type: 'conversationClosed', by });
  }

  /**
   * Ends the call for everyone (the visitor or the conversation's agent). From anyone else — a guest, an added
   * member — hanging up is leaving: only that participant goes.
   */
  hangup(party: Party, mediaDenied: boolean): CallChange {
    this.requireParticipant(party);
    if (this.inProgress && party.id !== this.roles.visitorId && party.id !== this.roles.agentId) return this.leave(party);
    return this.apply(mediaDenied ? { type: 'mediaDenied', by: party } : { type: 'hangup', by: party });
  }

  /** `party` may join the media now (it is a participant, or one dropped past its grace period, and the call was accepted). */
  requireJoinable(party: Party): void {
    if (!this.#dropped.has(party.id)) this.requireParticipant(party);
    if (!this.inProgress) throw ParleyServerError.conflict(`the call is ${this.#core.state}; join once it is accepted`);
  }

  /**
   * `party` may prepare its media path now: the call rings, and `party` is one of its first two participants (the
   * visitor or the conversation's agent; they are the ones a ring connects); or the call is in progress
   * peer-to-peer and `party` was invited into it and has not joined (its invitation rings).
   */
  requirePreparable(party: Party): void {
    const participant = this.requireParticipant(party);
    if (this.inProgress) {
      if (!participant.invitedBy || participant.joined) throw ParleyServerError.conflict('only an invitation not taken up yet is prepared; join the call');
      if (this.media.topology !== 'mesh') throw ParleyServerError.conflict('through the media server an invitation is joined once accepted');
      return;
    }
    if (!isPending(this.#core.state)) throw ParleyServerError.conflict(`the call is ${this.#core.state}`);
    if (party.id !== this.roles.visitorId && party.id !== this.roles.agentId) throw ParleyServerError.forbidden('only the ringing parties prepare a call');
  }

  /**
   * A ringing party prepared its media path (see {@link requirePreparable}) on `page`; null when the call stopped
   * ringing meanwhile. Preparing again from the same page (after a reconnect) changes nothing more; from another
   * page of the party (a reload, a second tab) the call's signals go to that page from now on.
   */
  prepare(partyId: string, page?: string): CallChange | null {
    const participant = this.#participants.get(partyId);
    const invitationRings = this.inProgress && participant?.invitedBy && !participant.joined;
    if (!participant || !(isPending(this.#core.state) || invitationRings)) return null;
    // Signals go to one page of a party: the last that prepared (a reload, another tab); the others stop preparing.
    if (participant.prepared && participant.page === page) return { events: [] };
    participant.prepared = true;
    onPage(participant, page);
    this.#changed();
    return { events: [] };
  }

  /** The call rings (requested or invited), waiting for its answer. */
  get pending(): boolean {
    return isPending(this.#core.state);
  }

  /** A participant enters the media session (first time, or again); null when it is no longer in the call. */
  join(partyId: string, page?: string): CallChange | null {
    const participant = this.#participants.get(partyId);
    if (!participant || this.ended) return null;
    const first = !participant.joined;
    participant.joined = true;
    onPage(participant, page); // it takes the call over from any other page of the party
    participant.connection = 'connecting';
    this.#deadlines.delete(`grace:${partyId}`);
    this.#deadlines.delete(`invite:${partyId}`);
    this.#changed();
    const invitedBy = participant.invitedBy;
    return { events: first && invitedBy ? [{ type: 'participantJoined', participant, invitedBy }] : [] };
  }

  /**
   * A party dropped past its grace period comes back into the call in progress, as the participant it was
   * (an added member or a guest keeps who brought it in), and joins its media. Refused with `forbidden` for a
   * party that was not dropped from this call, `conflict` once the call is over, `capacity` when it is full.
   */
  rejoin(party: Party, page?: string): CallChange {
    const was = this.#dropped.get(party.id);
    if (!was) throw ParleyServerError.forbidden('you are not a participant of this call');
    if (!this.inProgress) throw ParleyServerError.conflict(`the call is ${this.#core.state}`);
    this.requireRoom();
    this.#dropped.delete(party.id);
    const participant: CallParticipant = { ...was, joined: false, connection: 'absent', screen: false, screenStream: null };
    this.#participants.set(party.id, participant);
    this.join(party.id, page);
    return { events: [{ type: 'participantRejoined', participant: { id: was.id, role: was.role, name: was.name } }] };
  }

  /**
   * A participant leaves. An invitation not yet taken up is declined. When the visitor or the last agent leaves,
   * the call ends for everyone.
   */
  leave(party: Party): CallChange {
    const participant = this.requireParticipant(party);
    if (!this.inProgress) throw ParleyServerError.conflict('the call has not started; cancel or decline it');
    if (!participant.joined && participant.invitedBy) return this.#remove(participant, 'declined', null);
    return this.#depart(participant, null);
  }

  /** An agent in the call takes another participant out, as `mayRemove` of the protocol allows (removing the visitor ends the call). */
  remove(by: Party, participantId: string): CallChange {
    const target = this.#participants.get(participantId);
    const refusal = mayRemove(this.#participants.get(by.id), target, this.roles);
    if (refusal) throw new ParleyServerError(refusal.code, refusal.message);
    if (!target || !this.inProgress) throw ParleyServerError.conflict(`the call is ${this.#core.state}`);
    return this.#depart(target, by);
  }

  /** Brings someone into the call in progress (an added member, a guest); it joins with `call.join`. */
  invite(party: Party, by: Party): CallChange {
    if (!this.inProgress) throw ParleyServerError.conflict(`the call is ${this.#core.state}`);
    this.requireRoom();
    const participant = this.#add(party, by);
    this.#deadlines.set(`invite:${party.id}`, new Date(Date.now() + this.timing.ringMs));
    return { events: [{ type: 'participantInvited', participant, by }] };
  }

  /** An invitation lapsed: a participant who never joined goes (null when it joined or left already). */
  inviteLapsed(partyId: string): CallChange | null {
    const participant = this.#participants.get(partyId);
    if (!participant || participant.joined || !this.inProgress) return null;
    return this.#remove(participant, 'noShow', null);
  }

  /**
   * Checks that `from` may send SDP or ICE to `to`: both participants of this call, the sender joined, or prepared
   * while the call rings or since it was accepted (its link made while ringing goes on into the call), from the page
   * it is in the call on (`page`, when its client names pages). Returns the receiver.
   */
  requireSignalPath(from: Party, to: string, page?: string): CallParticipant {
    const sender = this.requireParticipant(from);
    const receiver = this.#participants.get(to);
    if (!sender.joined && !(sender.prepared && !this.ended)) throw ParleyServerError.conflict('join the call before signaling');
    if (sender.page !== undefined && page !== undefined && page !== sender.page) throw ParleyServerError.conflict('the call is on another page of yours');
    if (!receiver) throw ParleyServerError.forbidden(`${to} is not in this call`);
    if (to === from.id) throw ParleyServerError.invalid('cannot signal yourself');
    return receiver;
  }

  /** A participant reports its link state. The first `connected` makes the call active; `failed` ends it. */
  connectionChanged(party: Party, state: ParticipantConnection): CallChange {
    const participant = this.requireParticipant(party);
    if (!participant.joined) throw ParleyServerError.conflict('join the call first');
    if (state === 'failed') return this.apply({ type: 'fail', by: party });
    if (participant.connection !== state) this.#changed();
    participant.connection = state;
    if (state === 'connected' && this.#core.state === 'connecting') return this.apply({ type: 'connected' });
    return { events: [] };
  }

  /**
   * A participant says what it sends now (mute, camera off/on, upgrade to video, its video paused for a weak link);
   * null when nothing changed. A paused video is a camera that is on: `videoPaused` holds only with `video`.
   */
  mediaChanged(party: Party, audio: boolean, video: boolean, videoPaused = false): CallChange | null {
    const participant = this.requireParticipant(party);
    const paused = video && videoPaused;
    if (participant.audio === audio && participant.video === video && (participant.videoPaused ?? false) === paused) return null;
    const upgraded = video && !this.#core.useVideo;
    participant.audio = audio;
    participant.video = video;
    participant.videoPaused = paused;
    this.#changed();
    if (!upgraded) return { events: [] };
    this.#core = { ...this.#core, useVideo: true };
    return { events: [{ type: 'upgradedToVideo', by: party }] };
  }

  /**
   * A participant starts (`on`, sending its screen in the stream `stream`) or stops sharing its screen. One sharer
   * at a time: while another participant shares, starting is refused with `screen_share_busy` (the first sharer
   * keeps the screen; replacing it would cut someone off mid-sentence). Null when nothing changed.
   */
  shareScreen(party: Party, on: boolean, stream: string | null): CallChange | null {
    const participant = this.requireParticipant(party);
    if (!this.inProgress) throw ParleyServerError.conflict(`the call is ${this.#core.state}`);
    if (!participant.joined) throw ParleyServerError.conflict('join the call first');
    if (!on) {
      if (!participant.screen) return null;
      participant.screen = false; // the stream id stays: receivers keep telling its idle track from the camera
      this.#changed();
      return { events: [{ type: 'screenShareStopped', by: party }] };
    }
    if (stream === null) throw ParleyServerError.invalid('starting to share needs the stream id');
    const sharer = [...this.#participants.values()].find((p) => p.screen && p.id !== party.id);
    if (sharer) throw new ParleyServerError('screen_share_busy', `${sharer.name} is sharing a screen already; one screen at a time`);
    if (participant.screen && participant.screenStream === stream) return null;
    const started = !participant.screen;
    participant.screen = true;
    participant.screenStream = stream;
    this.#changed();
    return { events: started ? [{ type: 'screenShareStarted', by: party }] : [] };
  }

  /**
   * A joined participant lost its last connection (or the node it was connected to is gone): it is
   * reconnecting, and its grace period runs unless it runs already. Null when nothing changed.
   */
  disconnected(partyId: string, now = new Date()): CallChange | null {
    const participant = this.#participants.get(partyId);
    if (!participant?.joined || this.ended) return null;
    const grace: CallDeadline = `grace:${partyId}`;
    if (participant.connection === 'reconnecting' && this.#deadlines.has(grace)) return null;
    participant.connection = 'reconnecting';
    if (!this.#deadlines.has(grace)) this.#deadlines.set(grace, new Date(now.getTime() + this.timing.graceMs));
    this.#changed();
    return { events: [] };
  }

  /** Joined participants (a restarted node treats each as disconnected until it comes back). */
  joinedParticipants(): CallParticipant[] {
    return [...this.#participants.values()].filter((p) => p.joined);
  }

  /**
   * A participant did not come back within the grace period: it goes, and the call ends (failed) when it was
   * the visitor or the last agent. Null when it is gone already.
   */
  graceExpired(party: Party): CallChange | null {
    const participant = this.#participants.get(party.id);
    if (!participant || this.ended) return null;
    if (departureEndsCall(this.#attendees(), party.id, this.roles.visitorId)) return this.apply({ type: 'fail', by: party });
    this.#dropped.set(participant.id, { ...participant });
    return this.#remove(participant, 'lostConnection', null);
  }

  snapshot(): CallSnapshot {
    const core = this.#core;
    return {
      callId: this.id,
      sessionID: this.sessionID,
      revision: this.#revision,
      state: core.state,
      initiator: core.initiator,
      useAudio: core.useAudio,
      useVideo: core.useVideo,
      participants: [...this.#participants.values()].map((p) => ({ ...p })),
      topology: this.media.topology,
      capacity: this.media.capacity,
      createdAt: this.createdAt.toISOString(),
      expiresAt: this.expiresAt?.toISOString() ?? null,
      startedAt: this.startedAt?.toISOString() ?? null,
      endedAt: this.endedAt?.toISOString() ?? null,
      endReason: core.endReason,
      endedBy: core.endedBy,
      ...(this.#dropped.size > 0 && !this.ended ? { dropped: [...this.#dropped.keys()] } : {}),
    };
  }

  /** A participant who has not joined the media yet (`invitedBy`: brought into a running call). */
  #add(party: Party, invitedBy: Party | null): CallParticipant {
    const participant: CallParticipant = {
      id: party.id,
      role: party.role,
      name: party.name,
      audio: this.#core.useAudio,
      video: this.#core.useVideo,
      joined: false,
      connection: 'absent',
      invitedBy,
      screen: false,
      screenStream: null,
    };
    this.#participants.set(party.id, participant);
    this.#changed();
    return participant;
  }

  /** A participant goes: the call ends when the visitor or the last agent goes, else only this one leaves. */
  #depart(who: CallParticipant, by: Party | null): CallChange {
    if (departureEndsCall(this.#attendees(), who.id, this.roles.visitorId)) return this.apply({ type: 'hangup', by: by ?? who });
    return this.#remove(who, by ? 'removed' : 'left', by);
  }

  /** Takes one participant out of a call that goes on. */
  #remove(participant: CallParticipant, how: ParticipantExit, by: Party | null): CallChange {
    this.#participants.delete(participant.id);
    this.#deadlines.delete(`grace:${participant.id}`);
    this.#deadlines.delete(`invite:${participant.id}`);
    this.#changed();
    return { events: [{ type: 'participantLeft', participant, how, by }] };
  }

  #changed(): void {
    this.#revision++;
  }

  #attendees(): Attendee[] {
    return [...this.#participants.values()].map((p) => ({ id: p.id, role: p.role, joined: p.joined }));
  }
}

/** The participant is in the call on `page` now (its signals go there); a client that names no page: on none. */
function onPage(participant: CallParticipant, page: string | undefined): void {
  if (page !== undefined) participant.page = page;
  else delete participant.page;
}

function splitDeadline(name: Exclude<CallDeadline, 'ring'>): ['grace' | 'invite', string] {
  const colon = name.indexOf(':');
  return [name.slice(0, colon) as 'grace' | 'invite', name.slice(colon + 1)];
}

function check(result: ReturnType<typeof transition>): CallCore {
  if (!result.ok) throw new ParleyServerError(result.code, result.message);
  return result.call;
}
