import { answererRole, answerRefusal, inProgress, isLive, isPending } from '@parley/protocol/call';
import { ParleyError } from '../errors.ts';
import type { KeyValueStorage } from '../storage.ts';
import type { CallRequester, CallSnapshot, FrameSender, Party, SignalEventFrame } from '../wire.ts';
import { CallParticipation } from './CallParticipation.ts';
import { CallStorage } from './CallStorage.ts';
import { checkChoice, DeviceSelection, type DeviceChoice } from './devices.ts';
import type { CallEvents, CallStatsRow, VideoConnectionState, VideoEndReason, VideoErrorEvent, VideoSnapshot } from './events.ts';
import type { ResolvedCallOptions } from './callOptions.ts';
import { divIDOf, isEngaged, isMediaFlowing, nextPhase, participationOf, type CallPhase, type PhaseEvent } from './CallPhase.ts';
import { answerInvitation, joinInvitation, type InvitationHost } from './invitations.ts';
import { newPageId } from './pageId.ts';
import { ParticipantRoster } from './ParticipantRoster.ts';
import type { LinkSignal } from './PeerLink.ts';

/** What a {@link Call} needs from the conversation that owns it. */
export interface CallDeps {
  sessionID: string;
  self: Party;
  request: CallRequester;
  send: FrameSender;
  /** Checks the signaling socket at once (see `SignalingChannel.verify`); absent where there is none to check. */
  checkConnection?(): Promise<boolean>;
  storage: KeyValueStorage;
  /** Prefix of the storage key that remembers the divID of a live call. */
  storagePrefix: string;
  options: ResolvedCallOptions;
  /** This page's id in calls (see `call.join`'s `page`). Default: a random one, made with the Call. */
  page?: string;
  emit<K extends keyof CallEvents>(event: K, ...args: CallEvents[K]): void;
}

/**
 * An older description of the call this page knows: a request's answer handled after a `call.updated` the
 * server sent later (the join result after another participant's join, both in one read from the socket).
 * Applying it would roll the roster back: the page would miss a participant and never link to it.
 */
const isStale = (prev: CallSnapshot | null, next: CallSnapshot) => prev !== null && prev.callId === next.callId && next.revision < prev.revision;

/**
 * The call engine of one conversation. It mirrors the server's call (`call.updated` is the truth)
 * and turns its transitions into the contract's events. On the page that engaged in the call
 * (asked, invited, accepted — or reloaded with the call remembered) a {@link CallParticipation}
 * opens the devices, joins, links to every remote participant and draws into the caller's div.
 * What this page does about the call is one {@link CallPhase}, moved only by {@link nextPhase}.
 * Ownership: Contact → Call → CallParticipation → PeerMesh → PeerLink.
 */
export class Call {
  readonly #deps: CallDeps;
  readonly #roster: ParticipantRoster;
  readonly #savedCall: CallStorage;
  /** The call as the server last described it (held as is while dormant). */
  #call: CallSnapshot | null = null;
  #phase: CallPhase = { kind: 'dormant', then: { kind: 'watching' } };
  #inviteWaiters: Array<(result: { accepted: boolean }) => void> = [];
  /** The call whose invitation to join (as an added colleague or a guest) was handed out. */
  #joinInviteHandedOutFor: string | null = null;
  /** What the invitations handed out as `'videoInvite'` do when answered. */
  readonly #invitationHost: InvitationHost;
  /** The devices chosen for this conversation's calls. */
  readonly #devices: DeviceSelection;
  /** Where the call was drawn when this page was dropped from it: a rejoin draws there again. */
  #droppedDivID: string | null = null;
  /**
   * The answering side's path, prepared while the call rings: no device open, nothing drawn.
   * Accepting takes it into the phase; a decline, a cancel or the ring's end closes it.
   */
  #prepared: CallParticipation | null = null;
  /** A call another page of this party prepared after this one did: this page joins it only if it accepts here. */
  #preparedElsewhere: string | null = null;
  /** This page among its party's (see `call.join`'s `page`). */
  readonly #page: string;

  constructor(deps: CallDeps, initial: CallSnapshot | null | undefined) {
    this.#deps = deps;
    this.#page = deps.page ?? newPageId();
    this.#devices = new DeviceSelection(deps.options.devices);
    this.#call = initial ?? null;
    this.#savedCall = new CallStorage(deps.storage, deps.storagePrefix + deps.sessionID);
    this.#roster = new ParticipantRoster(deps.self.id, (participant, eventName, detail) => {
      const event = { sessionID: deps.sessionID, participant, ...detail };
      deps.emit('videoParticipant', event, eventName);
    });
    this.#invitationHost = {
      self: deps.self,
      currentCall: () => this.#call,
      isEngaged: () => isEngaged(this.#phase),
      answer: (accept, divID) => this.answer(accept, divID),
      join: (call, divID) => {
        this.#engage(divID, call.callId);
        this.#participate(call).join(); // prepared while the invitation rang, when it could be
        this.#deps.emit('videoStateChanged', this.snapshot);
      },
      leave: async (callId) => {
        this.apply((await this.#deps.request('call.leave', { sessionID: this.#deps.sessionID, callId })).call);
      },
    };
  }

  /** Whether this page is in a live call (asked, accepted, joined): its signaling then reconnects without long waits. */
  get engaged(): boolean {
    return isEngaged(this.#phase) && this.#call !== null && isLive(this.#call.state);
  }

  /** The public snapshot (`contact.video`). */
  get snapshot(): VideoSnapshot {
    const call = this.#call;
    return {
      state: call?.state ?? 'idle',
      callId: call?.callId ?? null,
      useAudio: call?.useAudio ?? false,
      useVideo: call?.useVideo ?? false,
      participants: this.#roster.participants,
      devices: participationOf(this.#phase)?.devicesInUse ?? this.#devices.snapshot(),
      canRejoin: this.#canRejoin,
    };
  }

  /** The call goes on, this party was dropped from it past its grace period, and this page is not in it. */
  get #canRejoin(): boolean {
    const call = this.#call;
    return call !== null && inProgress(call.state) && (call.dropped ?? []).includes(this.#deps.self.id) && !isEngaged(this.#phase);
  }

  /** Starts reacting (after the Contact was handed out, so listeners exist); a live call found at load is resumed. */
  activate(): void {
    if (this.#phase.kind !== 'dormant') return;
    this.#moveTo({ type: 'activate' });
    const initial = this.#call;
    this.#call = null;
    if (initial) this.apply(initial, true);
  }

  // ------------------------------------------------------------------ contract actions

  /** Visitor: asks for a call (`call.request`), to be drawn into `divID`. @throws ParleyError `conflict` when a call is live. */
  async request(divID: string, useAudio: boolean, useVideo: boolean): Promise<void> {
    this.#assertNoLiveCall();
    const { call } = await this.#deps.request('call.request', { sessionID: this.#deps.sessionID, useAudio, useVideo });
    this.#engage(divID, call.callId);
    this.apply(call);
    this.#prepareAsked(call);
  }

  /** Agent: invites the visitor (`call.invite`); resolves with the answer. @throws ParleyError `conflict` when a call is live. */
  async invite(divID: string, useAudio: boolean, useVideo: boolean): Promise<{ accepted: boolean }> {
    this.#assertNoLiveCall();
    const { call } = await this.#deps.request('call.invite', { sessionID: this.#deps.sessionID, useAudio, useVideo });
    const answered = new Promise<{ accepted: boolean }>((resolve) => this.#inviteWaiters.push(resolve));
    this.#engage(divID, call.callId);
    this.apply(call);
    this.#prepareAsked(call);
    return answered;
  }

  /**
   * Answers the pending call; accepting opens the devices at once, while the answer travels.
   * @throws ParleyError `conflict` (nothing to answer), `forbidden` (not the answering side).
   */
  async answer(accept: boolean, divID: string | null): Promise<void> {
    const call = this.#call;
    if (!call || !isPending(call.state)) {
      throw new ParleyError('conflict', `there is no call waiting for an answer (it is ${call?.state ?? 'idle'})`);
    }
    // The server's rule, checked before anything changes here: the agent answers a request, the visitor an invitation.
    if (call.initiator?.id === this.#deps.self.id || this.#deps.self.role !== answererRole(call.state)) {
      throw new ParleyError('forbidden', answerRefusal(call.state));
    }
    if (accept) {
      this.#engage(divID, call.callId);
      this.#participate(call); // early: the devices open (and a prepared path sends them) while the answer travels
    }
    try {
      const result = await this.#deps.request('call.answer', { sessionID: this.#deps.sessionID, callId: call.callId, accept });
      this.apply(result.call);
    } catch (err) {
      if (accept && this.#call?.callId === call.callId && !inProgress(this.#call.state)) this.#teardown(null);
      throw err;
    }
  }

  /** Hangs up, withdraws or declines, whichever the call's state calls for; a guest or an added colleague leaves instead. */
  async end(): Promise<void> {
    const call = this.#call;
    if (!call || !isLive(call.state)) return;
    const sessionID = this.#deps.sessionID;
    // Only the visitor and the conversation's agent end a call for everyone; anyone else leaves it.
    const me = call.participants.find((p) => p.id === this.#deps.self.id);
    if (inProgress(call.state) && me?.invitedBy) return this.leave();
    if (inProgress(call.state)) {
      this.apply((await this.#deps.request('call.hangup', { sessionID, callId: call.callId })).call);
    } else if (call.initiator?.id === this.#deps.self.id) {
      this.apply((await this.#deps.request('call.cancel', { sessionID, callId: call.callId })).call);
    } else {
      await this.answer(false, null);
    }
  }

  /** Leaves the call; it ends for everyone when this is the visitor or the last agent. */
  async leave(): Promise<void> {
    const call = this.#call;
    if (!call || !isLive(call.state)) return;
    if (!inProgress(call.state)) return this.end();
    if (!call.participants.some((p) => p.id === this.#deps.self.id)) return;
    this.#moveTo({ type: 'leave' });
    try {
      this.apply((await this.#deps.request('call.leave', { sessionID: this.#deps.sessionID, callId: call.callId })).call);
    } finally {
      this.#moveTo({ type: 'leaveSettled' });
    }
  }

  /**
   * Comes back into the call this party was dropped from (see `canRejoin`): the devices open again and media
   * flows anew, drawn into `divID` (by default where the call was drawn before).
   * @throws ParleyError `conflict` when there is nothing to rejoin (the call ended, or this page is in it).
   */
  async rejoin(divID?: string | null): Promise<void> {
    const call = this.#call;
    if (!call || !this.#canRejoin) throw new ParleyError('conflict', 'there is no call to rejoin');
    this.#engage(divID ?? this.#droppedDivID, call.callId);
    this.#participate(call).join();
    this.#deps.emit('videoStateChanged', this.snapshot);
  }

  /** Takes another participant out of the call (agents). */
  async remove(participantId: string): Promise<void> {
    const call = this.#call;
    if (!call || !inProgress(call.state)) throw new ParleyError('conflict', 'there is no call in progress');
    this.apply((await this.#deps.request('call.remove', { sessionID: this.#deps.sessionID, callId: call.callId, participantId })).call);
  }

  /** Camera on or off. @throws ParleyError `conflict` when this page is not in the call. */
  setVideo(on: boolean): Promise<void> {
    return this.#requireParticipation().setVideo(on);
  }

  /** Microphone on or muted. @throws ParleyError `conflict` when this page is not in the call. */
  setAudio(on: boolean): Promise<void> {
    return this.#requireParticipation().setAudio(on);
  }

  /** Starts or stops sharing this page's screen. @throws ParleyError `conflict` when this page is not in the call. */
  shareScreen(on: boolean): Promise<void> {
    return this.#requireParticipation().shareScreen(on);
  }

  /**
   * Chooses devices: in a call they switch at once; otherwise the next call opens them.
   * @throws ParleyError `device_not_found`, `invalid_frame`, `not_supported`, `unavailable`.
   */
  async setDevices(choice: DeviceChoice): Promise<void> {
    const participation = participationOf(this.#phase);
    if (participation) await participation.setDevices(choice);
    else {
      await checkChoice(this.#deps.options.media, choice);
      this.#devices.apply(choice);
    }
    this.#deps.emit('videoStateChanged', this.snapshot);
  }

  /** One stats row per remote participant (none when this page is not in the call). */
  stats(): Promise<CallStatsRow[]> {
    return participationOf(this.#phase)?.stats() ?? Promise.resolve([]);
  }

  // ------------------------------------------------------------------ fed by the session

  /** A `call.updated`, a request result, or the call of a conversation snapshot. */
  apply(next: CallSnapshot, restored = false): void {
    if (next.sessionID !== this.#deps.sessionID) return;
    const prev = this.#call;
    if (this.#phase.kind === 'dormant') {
      if (!isStale(prev, next)) this.#call = next;
      return;
    }
    // The call's media moved: heeded even on a snapshot older than the last one seen (the move is news still).
    if (next.mediaMoved !== undefined && prev?.callId === next.callId && inProgress(next.state)) participationOf(this.#phase)?.mediaMoved(next.mediaMoved);
    if (isStale(prev, next)) return;
    const same = prev !== null && prev.callId === next.callId;
    if (!same && prev && isLive(prev.state)) this.#teardown({ reason: 'failed' });
    if (same && prev.state === 'ended') return;
    this.#call = next;
    this.#roster.update(next.participants);
    const self = this.#deps.self;
    const me = next.participants.find((p) => p.id === self.id);
    const ringing = !same || !isPending(prev.state);
    this.#dropStalePrepared(next);
    switch (next.state) {
      case 'requested':
        if (ringing && next.initiator?.id !== self.id && self.role === 'agent') {
          this.#deps.emit('requestVideoUpgrade', { sessionID: next.sessionID, useAudio: next.useAudio, useVideo: next.useVideo, from: next.initiator ?? self });
        }
        this.#ringing(next, restored);
        break;
      case 'invited':
        if (ringing && next.initiator?.id !== self.id && self.role === 'visitor') this.#deps.emit('videoInvite', answerInvitation(next, this.#invitationHost));
        this.#ringing(next, restored);
        break;
      case 'connecting':
      case 'active':
        if (same && isPending(prev.state)) this.#answered(next, true);
        if (isEngaged(this.#phase) && me?.page !== undefined && me.page !== this.#page && participationOf(this.#phase)?.joinedHere) {
          // Another page of this party (a second tab) joined after this one: the call goes on there, not here.
          this.#teardown({ reason: 'elsewhere' }, true);
          break;
        }
        if (isEngaged(this.#phase) && !me) {
          // The call goes on without this page: it left, an agent took it out, or its grace period passed.
          const dropped = this.#phase.kind !== 'leaving' && (next.dropped ?? []).includes(self.id);
          if (dropped) this.#droppedDivID = divIDOf(this.#phase);
          this.#teardown({ reason: this.#phase.kind === 'leaving' ? 'left' : dropped ? 'dropped' : 'removed' }, true);
          break;
        }
        if (!isEngaged(this.#phase) && restored && me) {
          const stored = this.#savedCall.read();
          if (stored?.callId === next.callId) this.#engage(stored.divID, next.callId);
        }
        if (!isEngaged(this.#phase) && me?.invitedBy && !me.joined && this.#joinInviteHandedOutFor !== next.callId) {
          this.#joinInviteHandedOutFor = next.callId;
          this.#deps.emit('videoInvite', joinInvitation(next, me.invitedBy, this.#invitationHost));
          // Peer-to-peer, the invitation rings with the links to everyone in the call already made (nothing sent).
          if (next.topology === 'mesh' && !this.#prepared && this.#preparedElsewhere !== next.callId) {
            this.#prepared = this.#newParticipation(next, null, false);
            this.#prepared.prepare(true);
          }
        }
        if (!isEngaged(this.#phase)) {
          this.#prepared?.participantsChanged();
          break;
        }
        if (this.#phase.kind === 'mediaDenied') this.#hangupForMedia();
        else {
          const participation = this.#participate(next);
          participation.join();
          participation.participantsChanged();
        }
        break;
      case 'ended':
        if (same && isPending(prev.state)) this.#answered(next, false);
        this.#teardown(same ? { reason: next.endReason ?? 'hangup', by: next.endedBy } : null);
        break;
      case 'idle':
        break;
    }
    this.#deps.emit('videoStateChanged', this.snapshot);
  }

  /** A `signal` from another participant. */
  receiveSignal(frame: SignalEventFrame): void {
    const participation = participationOf(this.#phase) ?? this.#prepared;
    if (!participation || this.#call?.callId !== frame.callId) return;
    if (frame.toPage !== undefined && frame.toPage !== this.#page) return; // for this party's page in the call, not this one
    const signal: LinkSignal = {};
    if (frame.description) signal.description = frame.description;
    if (frame.candidate) signal.candidate = frame.candidate;
    participation.receive(frame.from, signal);
  }

  /** The signaling reconnected: join again and restart ICE on links that are not connected. */
  connectionRestored(liveCall: CallSnapshot | null | undefined): void {
    if (this.#phase.kind === 'dormant' || !this.#call) return;
    if (isPending(this.#call.state) && liveCall && liveCall.callId === this.#call.callId && isPending(liveCall.state)) {
      return (participationOf(this.#phase) ?? this.#prepared)?.rejoin(); // prepared while ringing: prepare again
    }
    if (!isEngaged(this.#phase)) return;
    if (liveCall === null && isLive(this.#call.state)) return this.#teardown({ reason: 'failed' });
    // Dropped past the grace period while away: not joined again silently, the app offers `rejoinVideo()`.
    // Only a drop the server recorded counts: a snapshot taken while the call moves between media paths (every
    // Janus gone) may not list this page, and it must then join again as before.
    const self = this.#deps.self.id;
    if (liveCall && (liveCall.dropped ?? []).includes(self) && !liveCall.participants.some((p) => p.id === self)) return this.apply(liveCall);
    if (inProgress(this.#call.state)) participationOf(this.#phase)?.rejoin();
  }

  /** The conversation closed or the session stopped: end locally, without a request. */
  parentClosed(reason: VideoEndReason | null): void {
    if (this.#call && isLive(this.#call.state)) this.#teardown(reason ? { reason } : null);
  }

  // ------------------------------------------------------------------ internals

  /** The one place the phase changes. */
  #moveTo(event: PhaseEvent): void {
    this.#phase = nextPhase(this.#phase, event);
  }

  #engage(divID: string | null, callId: string): void {
    this.#moveTo({ type: 'engage', divID });
    this.#savedCall.write({ callId, divID });
  }

  /**
   * The call rings (a snapshot of it came): the answering page prepares its path without opening any device, the
   * asking page (after a reload, when it remembers the call) prepares again; a participant's change reaches the links.
   */
  #ringing(call: CallSnapshot, restored: boolean): void {
    const self = this.#deps.self;
    if (!call.participants.some((p) => p.id === self.id)) return;
    if (call.initiator?.id === self.id) {
      const stored = restored && !isEngaged(this.#phase) ? this.#savedCall.read() : null;
      if (stored?.callId === call.callId) {
        this.#engage(stored.divID, call.callId);
        this.#prepareAsked(call);
      }
    } else if (this.#prepared?.callId !== call.callId && !isEngaged(this.#phase) && this.#preparedElsewhere !== call.callId) {
      this.#prepared?.close();
      this.#prepared = this.#newParticipation(call, null, false);
      this.#prepared.prepare();
    }
    (participationOf(this.#phase) ?? this.#prepared)?.participantsChanged();
  }

  /**
   * A path prepared for an answer this page will not give any more is closed: the call is another one, ended, was
   * answered elsewhere, or this page's invitation into it was declined, lapsed or taken up on another page; or
   * another page of this party prepared since (accepting here still works: this page then joins afresh).
   */
  #dropStalePrepared(call: CallSnapshot): void {
    const prepared = this.#prepared;
    if (!prepared) return;
    const me = call.participants.find((p) => p.id === this.#deps.self.id);
    const invitationRings = inProgress(call.state) && me?.invitedBy && !me.joined;
    // Another page of this party (a second tab) prepared after this one: the call's signals go there now.
    const elsewhere = me?.page !== undefined && me.page !== this.#page && prepared.preparedOnly;
    if (prepared.callId === call.callId && (isPending(call.state) || invitationRings) && !elsewhere) return;
    prepared.close();
    this.#prepared = null;
    if (elsewhere) this.#preparedElsewhere = call.callId; // not prepared here again: the tabs would take turns
  }

  /** This page asked (requested or invited): its devices open now, and the call prepares its path while it rings. */
  #prepareAsked(call: CallSnapshot): void {
    if (!isPending(call.state) || this.#call?.callId !== call.callId || !isPending(this.#call.state)) return;
    this.#participate(call).prepare();
  }

  #participate(call: CallSnapshot): CallParticipation {
    const existing = participationOf(this.#phase);
    if (existing) return existing;
    const prepared = this.#prepared;
    this.#prepared = null;
    if (prepared && prepared.callId !== call.callId) prepared.close();
    const adopted = prepared?.callId === call.callId ? prepared : null;
    const participation = adopted ?? this.#newParticipation(call, divIDOf(this.#phase), true);
    this.#moveTo({ type: 'participate', participation });
    adopted?.accept(divIDOf(this.#phase)); // prepared while it rang: it draws where this page engaged, and opens its devices
    return participation;
  }

  /** A participation in `call` drawing into `divID`; `openDevices`: now (false: a prepared answer opens them when accepted). */
  #newParticipation(call: CallSnapshot, divID: string | null, openDevices: boolean): CallParticipation {
    const { sessionID, self, options, request, send, checkConnection } = this.#deps;
    const callId = call.callId;
    const current = () => this.#call?.callId === callId;
    return new CallParticipation(
      {
        sessionID,
        callId,
        self,
        page: this.#page,
        divID,
        options,
        request,
        send,
        ...(checkConnection ? { checkConnection } : {}),
        participant: (id) => this.#roster.get(id),
        joinedRemoteIds: () => this.#roster.linkedRemotes.map((p) => p.id),
        heldRemoteIds: () => this.#roster.linkedRemotes.filter((p) => !p.joined && p.invitedBy).map((p) => p.id),
        onJoined: (snapshot) => {
          if (!current()) return;
          this.apply(snapshot);
          // A prepare answered after a later change (another tab prepared since): that change is looked at again.
          if (this.#call) this.#dropStalePrepared(this.#call);
        },
        onSending: (sending) => {
          if (!current()) return;
          this.#roster.setSelfMedia(sending);
          this.#deps.emit('videoStateChanged', this.snapshot);
        },
        onNothingToSend: () => {
          if (!current()) return;
          if (this.#call && inProgress(this.#call.state)) this.#hangupForMedia();
          else this.#moveTo({ type: 'nothingToSend' });
        },
        onLinkState: (remoteId, state) => current() && this.#linkStateChanged(remoteId, state),
        onQuality: (participantId, quality) => current() && this.#roster.qualityChanged(participantId, quality),
        onActiveSpeaker: (participantId) => current() && this.#deps.emit('activeSpeaker', { sessionID, participantId }),
        onError: (error) => this.#deps.emit('videoError', { sessionID, ...error }),
        devices: this.#devices,
        onDeviceChanged: (event) => current() && this.#deps.emit('deviceChanged', { sessionID, ...event }),
        onDeviceListChanged: (event) => current() && this.#deps.emit('deviceListChanged', { sessionID, ...event }),
      },
      { audio: call.useAudio, video: call.useVideo },
      openDevices,
    );
  }

  /** Joins a call this page was let into directly (a guest redeeming its link). */
  joinNow(divID: string | null): void {
    const call = this.#call;
    if (!call || !inProgress(call.state)) throw new ParleyError('conflict', 'the call is over');
    this.#joinInviteHandedOutFor = call.callId;
    this.#engage(divID, call.callId);
    this.#participate(call).join();
  }

  #answered(call: CallSnapshot, accepted: boolean): void {
    if (call.initiator?.id !== this.#deps.self.id) return;
    if (accepted || call.endReason === 'declined') this.#deps.emit('responseVideoUpgrade', { sessionID: call.sessionID, response: accepted });
    for (const resolve of this.#inviteWaiters.splice(0)) resolve({ accepted });
  }

  #hangupForMedia(): void {
    const call = this.#call;
    this.#moveTo({ type: 'mediaHangup' });
    if (!call || !inProgress(call.state)) return;
    this.#deps
      .request('call.hangup', { sessionID: this.#deps.sessionID, callId: call.callId, reason: 'media-denied' })
      .then(({ call: ended }) => this.apply(ended))
      .catch((err: unknown) => this.#reportError('signaling-failed', 'could not end the call', err));
  }

  #linkStateChanged(remoteId: string, state: VideoConnectionState): void {
    this.#roster.connectionChanged(remoteId, state);
    if (state === 'connected' && !isMediaFlowing(this.#phase)) {
      this.#moveTo({ type: 'mediaFlowing' });
      this.#deps.emit('videoStarted', { sessionID: this.#deps.sessionID });
    }
    if (state === 'failed') this.#reportError('connection-failed', `the link to ${remoteId} could not be restored`);
  }

  /** `goesOn`: the call continues for the others (this page left or was removed); its roster stays current. */
  #teardown(end: { reason: VideoEndReason; by?: Party | null } | null, goesOn = false): void {
    const wasEngaged = isEngaged(this.#phase);
    participationOf(this.#phase)?.close();
    this.#prepared?.close();
    this.#prepared = null;
    this.#moveTo({ type: 'teardown' });
    // Forgotten when this page's part ended; kept for a reload when only the signaling went away, and for the tab
    // the call went on in (they share the storage).
    if (wasEngaged && end && end.reason !== 'elsewhere') this.#savedCall.clear();
    if (!goesOn) this.#roster.clear();
    for (const resolve of this.#inviteWaiters.splice(0)) resolve({ accepted: false });
    if (end) this.#deps.emit('videoEnded', { sessionID: this.#deps.sessionID, reason: end.reason, ...(end.by ? { by: end.by } : {}) });
  }

  #reportError(code: VideoErrorEvent['code'], message: string, cause?: unknown): void {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    this.#deps.emit('videoError', { sessionID: this.#deps.sessionID, code, message: message + detail, ...(cause !== undefined ? { cause } : {}) });
  }

  #assertNoLiveCall(): void {
    if (this.#call && isLive(this.#call.state)) throw new ParleyError('conflict', `a call is already ${this.#call.state}`);
  }

  #requireParticipation(): CallParticipation {
    const participation = participationOf(this.#phase);
    if (!participation) throw new ParleyError('conflict', 'this page is not in a call');
    return participation;
  }
}
