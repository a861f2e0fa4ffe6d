import { randomUUID } from 'node:crypto';
import type { CallRequestResults, CallSnapshot, ClientFrameOf, IceTransportPolicy, MediaAccess, Message, Party } from '@parley/protocol';
import type { Logger } from 'pino';
import type { Bus } from '../bus/Bus.ts';
import { topics } from '../bus/topics.ts';
import type { Config } from '../config.ts';
import { ParleyServerError } from '../errors.ts';
import type { AppendMessageInput, ConversationRecord, Store } from '../store/Store.ts';
import { StoreConflictError } from '../store/Store.ts';
import { KeyedSerial } from '../events/KeyedSerial.ts';
import { Call, type CallDeadline } from './Call.ts';
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

/** Where call changes are written: in order with the conversation's messages, with their transcript events. */
export interface CallTranscript {
  commit(sessionID: string, texts: readonly string[], write: (events: AppendMessageInput[]) => Promise<Message[]>): Promise<Message[]>;
}

/** What calls keep in the store. */
export type CallStore = Pick<Store, 'commitCall' | 'listLiveCalls' | 'listCalls' | 'listDueCalls'>;

export interface CallServiceOptions {
  bus: Bus;
  conversations: CallConversations;
  transcript: CallTranscript;
  store: CallStore;
  log: Logger;
  /** How long a request or invitation rings before it expires. */
  ringMs: number;
  /** How long a joined participant may be without a connection before the call ends. */
  graceMs: number;
  ice: Pick<Config, 'iceServers' | 'turn'>;
  /** Which ICE candidates participants use (ICE_TRANSPORT_POLICY): `relay` hands out TURN addresses only. */
  iceTransportPolicy?: IceTransportPolicy;
  /** How media travels: peer-to-peer (mesh) or through an SFU. */
  media: MediaTopology;
  /** Calls (requests and invitations) one conversation may start per minute (CALL_REQUESTS_PER_MINUTE). */
  callRequestsPerMinute: number;
  /** Guest links one call may hand out (GUEST_LINKS_PER_CALL). */
  guestLinksPerCall: number;
  /**
   * Other nodes change calls too (REDIS_URL): every action reads the call from the store first, a write that
   * lost a race with another node is applied again to what won, and a starting node leaves participants as they are.
   */
  clustered?: boolean;
}

/** What a `call.join` hands out. */
type CallJoined = CallRequestResults['call.join'];

/** Attempts of one action when other nodes keep changing the call meanwhile. */
const MAX_ATTEMPTS = 5;

/** A guest link being redeemed by an admission: recorded with it, once. */
export interface Redemption {
  jti: string;
  expiresAt: Date;
}

/**
 * Calls: at most one live call per conversation. The store holds every call (its state, participants and
 * deadlines); this node keeps the live ones in memory too, to answer reads and relay signaling without a
 * query. Each {@link Call} applies its own actions and says what changed; this service runs actions of one
 * conversation one at a time, writes each change with its transcript events in one transaction (compare-and-set
 * on the call's revision), and only then tells members (`call.updated`), arms timers for the call's deadlines
 * and prepares or releases its media. A change the store refuses is undone here too. The server carries
 * signaling only, relayed between joined participants of the same call.
 *
 * A node that starts loads the live calls ({@link load}) and re-arms every deadline from its stored time;
 * nobody is connected to it yet, so joined participants wait their grace period to come back.
 */
export class CallService {
  readonly #calls = new Map<string, Call>();
  /** The revision of each live call as stored. */
  readonly #stored = new WeakMap<Call, number>();
  /** Conversations whose call in memory may differ from the store (a write failed): read again before acting. */
  readonly #unsure = new Set<string>();
  readonly #serial = new KeyedSerial();
  readonly #timers = new CallTimers();
  /** Per call id: its media is ready (a room, with an SFU); made when the call is accepted. */
  readonly #mediaReady = new Map<string, Promise<void>>();
  readonly #options: CallServiceOptions;
  /** Per conversation: the calls it started in the last minute. */
  readonly #starts: SlidingWindow;
  #stopping = false;

  constructor(options: CallServiceOptions) {
    this.#options = options;
    this.#starts = new SlidingWindow(options.callRequestsPerMinute, 60_000);
    options.media.onMoved?.((callId, moves) => this.#mediaMoved(callId, moves));
  }

  /** Loads the live calls from the store (a node starting); joined participants count as disconnected. */
  async load(): Promise<number> {
    const records = await this.#options.store.listLiveCalls();
    for (const record of records) {
      let call: Call;
      try {
        call = Call.fromRecord(record);
      } catch (err) {
        this.#options.log.error({ err, callId: record.id }, 'a stored call could not be read; it is left as it is');
        continue;
      }
      this.#calls.set(call.sessionID, call);
      this.#stored.set(call, record.revision);
      if (call.inProgress) this.#prepareMedia(call);
      // Alone, a node that starts knows nobody is connected. Among others, the node that held a participant's
      // connections says so, or its reaper does when it died (NodeRegistry).
      if (!this.#options.clustered) {
        await this.#quietly(call.sessionID, call.id, 'restore', (c) => mergeChanges(c.joinedParticipants().map((p) => c.disconnected(p.id))));
      }
      this.#syncTimers(call);
    }
    if (records.length > 0) this.#options.log.info({ calls: records.length }, 'live calls loaded');
    return records.length;
  }

  /** The live call of a conversation, or null. */
  liveCall(sessionID: string): CallSnapshot | null {
    return this.#calls.get(sessionID)?.snapshot() ?? null;
  }

  /** The visitor requests a call, or the agent invites the visitor to one: it rings. */
  async start(party: Party, frame: ClientFrameOf<'call.request'> | ClientFrameOf<'call.invite'>): Promise<CallSnapshot> {
    const conversation = await this.#options.conversations.requireMember(party, frame.sessionID);
    if (conversation.status === 'closed') throw ParleyServerError.conflict('the conversation is closed');
    const { media, ringMs, graceMs, log } = this.#options;
    return this.#serial.run(frame.sessionID, async () => {
      const current = await this.#current(frame.sessionID);
      const { call, change } = Call.begin(
        {
          id: randomUUID(),
          sessionID: frame.sessionID,
          action: { type: frame.type === 'call.request' ? 'request' : 'invite', by: party, useAudio: frame.useAudio, useVideo: frame.useVideo },
          visitor: conversation.visitor,
          agent: conversation.agent,
          media: { topology: media.kind, capacity: media.capacity, capacityHint: media.capacityHint },
          timing: { ringMs, graceMs },
        },
        current,
      );
      // Begun but not yet stored (Call.begin does nothing else): a refusal here leaves no trace.
      const waitMs = this.#starts.take(frame.sessionID);
      if (waitMs > 0) {
        const limit = this.#options.callRequestsPerMinute;
        throw ParleyServerError.rateLimited(
          `this conversation started ${limit} calls in the last minute, the most CALL_REQUESTS_PER_MINUTE allows (${limit}); try again in ${Math.ceil(waitMs / 1000)} s`,
        );
      }
      await this.#save(call, change, null);
      this.#calls.set(frame.sessionID, call);
      this.#afterSave(call, change);
      log.info({ sessionID: call.sessionID, callId: call.id, by: party.id, kind: call.kind }, 'call started ringing');
      return call.snapshot();
    });
  }

  answer(party: Party, frame: ClientFrameOf<'call.answer'>): Promise<CallSnapshot> {
    return this.#act(frame, (call) => {
      call.requireParticipant(party); // who asks comes before the call's state: an outsider learns nothing of it
      return call.apply(frame.accept ? { type: 'accept', by: party } : { type: 'decline', by: party });
    });
  }

  cancel(party: Party, frame: ClientFrameOf<'call.cancel'>): Promise<CallSnapshot> {
    return this.#act(frame, (call) => {
      call.requireParticipant(party);
      return call.apply({ type: 'cancel', by: party });
    });
  }

  /** Ends the call for everyone, or — for a guest or an added member — leaves it (see {@link Call.hangup}). */
  hangup(party: Party, frame: ClientFrameOf<'call.hangup'>): Promise<CallSnapshot> {
    return this.#act(frame, (call) => call.hangup(party, frame.reason === 'media-denied'));
  }

  /**
   * A participant enters the media session (first time, or again after a reload, a reconnect or a restart); a
   * party dropped past its grace period comes back into the call in progress (see {@link Call.rejoin}).
   */
  async join(party: Party, frame: ClientFrameOf<'call.join'>): Promise<CallJoined> {
    const before = await this.#serial.run(frame.sessionID, () => this.#live(frame.sessionID, frame.callId));
    if (before.pending || frame.prepare === true) return this.#prepare(party, frame, before);
    before.requireJoinable(party);
    await this.#mediaReady.get(before.id);
    const media = await this.#options.media.access(before.id, party.id);
    let joined = false;
    try {
      // The call may have ended, or this participant been removed, while the media was prepared.
      const call = await this.#act(frame, (c) => {
        const change = c.id !== before.id ? null : c.participant(party.id) ? c.join(party.id, frame.page) : c.rejoin(party, frame.page);
        if (change === null) throw ParleyServerError.conflict('that call is over for you');
        return change;
      });
      joined = true;
      return this.#joined(call, party, media);
    } finally {
      if (!joined) void this.#options.media.revoke(before.id, party.id);
    }
  }

  /**
   * A ringing party prepares its media path (a `call.join` before the answer; see {@link Call.requirePreparable}):
   * it is handed what a join hands out, and its peer may signal to it, so both connect before anyone answers.
   */
  async #prepare(party: Party, frame: ClientFrameOf<'call.join'>, before: Call): Promise<CallJoined> {
    before.requirePreparable(party);
    // Through Janus the room is made while it rings (and destroyed with the call, answered or not).
    if (!this.#mediaReady.has(before.id)) this.#prepareMedia(before);
    await this.#mediaReady.get(before.id);
    const media = await this.#options.media.access(before.id, party.id);
    let prepared = false;
    try {
      const call = await this.#act(frame, (c) => {
        if (c.id !== before.id) throw ParleyServerError.conflict('that call is over');
        // A ring accepted while the media was readied: this is the party's join, with the access just handed out.
        const change = c.pending || frame.prepare === true ? c.prepare(party.id, frame.page) : c.participant(party.id) ? c.join(party.id, frame.page) : null;
        if (change === null) throw ParleyServerError.conflict('that call is over for you');
        return change;
      });
      prepared = true;
      return this.#joined(call, party, media);
    } finally {
      // Withdrawn only when the call has no place for the party any more: a revoke also takes it out of the room.
      if (!prepared && !this.#calls.get(frame.sessionID)?.participant(party.id)) void this.#options.media.revoke(before.id, party.id);
    }
  }

  #joined(call: CallSnapshot, party: Party, media: MediaAccess): CallJoined {
    const policy = this.#options.iceTransportPolicy;
    return { call, iceServers: iceServersFor(this.#options.ice, party.id), media, ...(policy === 'relay' ? { iceTransportPolicy: policy } : {}) };
  }

  /** A participant leaves (see {@link Call.leave}). */
  leave(party: Party, frame: ClientFrameOf<'call.leave'>): Promise<CallSnapshot> {
    return this.#act(frame, (call) => call.leave(party));
  }

  /** An agent in the call takes another participant out (removing the visitor ends the call). */
  remove(party: Party, frame: ClientFrameOf<'call.remove'>): Promise<CallSnapshot> {
    return this.#act(frame, (call) => call.remove(party, frame.participantId));
  }

  /** Invites a member just added to the conversation into its call in progress. Throws `capacity` when full. */
  async inviteMember(sessionID: string, by: Party, agent: Party): Promise<void> {
    const call = this.#calls.get(sessionID);
    if (!call || !call.inProgress || call.participant(agent.id)) return;
    await this.#act({ sessionID, callId: call.id }, (c) => (c.participant(agent.id) ? null : c.invite(agent, by)));
  }

  /** The call of a conversation can take one more person (a guest link is about to be made or used). */
  requireRoom(sessionID: string): CallSnapshot {
    const call = this.#calls.get(sessionID);
    if (!call || !call.inProgress) throw ParleyServerError.conflict('there is no call in progress to invite a guest to');
    call.requireRoom();
    return call.snapshot();
  }

  /** A guest link is about to be made for the call in progress: counts it, or refuses (`capacity`) past GUEST_LINKS_PER_CALL. */
  async takeGuestLink(sessionID: string, callId: string): Promise<void> {
    await this.#act({ sessionID, callId }, (call) => {
      call.takeGuestLink(this.#options.guestLinksPerCall);
      return { events: [] };
    });
  }

  /**
   * A guest redeemed its link: it becomes a participant of the call, and joins with `call.join`. The link's
   * redemption is stored with the admission: a link redeemed before (here or on another node) is refused.
   */
  async admitGuest(sessionID: string, callId: string, guest: Party, invitedBy: Party, redemption: Redemption): Promise<CallSnapshot> {
    try {
      return await this.#act({ sessionID, callId }, (call) => call.invite(guest, invitedBy), { ...redemption, guestId: guest.id });
    } catch (err) {
      if (err instanceof StoreConflictError && err.conflict === 'redeemed') {
        throw new ParleyServerError('invite_used', 'this invitation link was used already; each link admits one person');
      }
      throw err;
    }
  }

  /** Relays SDP or ICE to another joined participant of the same call. Never awaits: it is the hot path of setup. */
  signal(party: Party, frame: ClientFrameOf<'signal'>): void {
    const call = this.#calls.get(frame.sessionID);
    if (!call || call.id !== frame.callId) throw ParleyServerError.conflict('that call is over');
    const receiver = call.requireSignalPath(party, frame.to, frame.page);
    this.#options.bus.publish(topics.party(frame.to), {
      type: 'signal',
      sessionID: frame.sessionID,
      callId: frame.callId,
      from: party.id,
      ...(receiver.page !== undefined ? { toPage: receiver.page } : {}),
      ...(frame.description ? { description: frame.description } : {}),
      ...(frame.candidate !== undefined ? { candidate: frame.candidate } : {}),
    });
  }

  /** A participant reports its link state to a peer. The first `connected` makes the call active. */
  async connection(party: Party, frame: ClientFrameOf<'call.connection'>): Promise<void> {
    await this.#act(frame, (call) => call.connectionChanged(party, frame.state));
  }

  /** A participant says what it sends now (mute, camera off/on, upgrade to video). */
  async media(party: Party, frame: ClientFrameOf<'call.media'>): Promise<void> {
    await this.#act(frame, (call) => call.mediaChanged(party, frame.audio, frame.video, frame.videoPaused ?? false));
  }

  /**
   * A participant starts or stops sharing its screen (see {@link Call.shareScreen}): one sharer at a time, a
   * second one is refused with `screen_share_busy`.
   */
  screen(party: Party, frame: ClientFrameOf<'call.screen'>): Promise<CallSnapshot> {
    return this.#act(frame, (call) => call.shareScreen(party, frame.on, frame.stream ?? null));
  }

  /** The party has no connection left (on any node): its calls wait the grace period for it to come back. */
  async partyOffline(party: Party): Promise<void> {
    if (this.#stopping) return; // a node going down leaves its calls as they are; the next start takes over
    // Among many nodes this one may not hold the party's calls at hand: the store has them all.
    const calls = this.#options.clustered ? (await this.#options.store.listLiveCalls()).map((r) => Call.fromRecord(r)) : [...this.#calls.values()];
    await Promise.all(
      calls
        .filter((call) => call.participant(party.id)?.joined)
        .map((call) => this.#quietly(call.sessionID, call.id, 'disconnected', (c) => c.disconnected(party.id))),
    );
  }

  /**
   * Applies the deadlines that are past in the store, whichever node set them (it may be dead): ring, grace and
   * invitation expiries. Run every second or so on every node; a deadline applied twice does nothing the second time.
   */
  async sweepDeadlines(graceMs = 500): Promise<number> {
    if (this.#stopping) return 0;
    const now = Date.now();
    const due = await this.#options.store.listDueCalls(new Date(now - graceMs).toISOString(), 100);
    for (const { id, sessionID } of due) {
      await this.#quietly(sessionID, id, 'sweep', (c) => {
        const at = new Date(Math.max(Date.now(), now));
        return mergeChanges(c.deadlines().filter((d) => d.at.getTime() <= at.getTime()).map((d) => c.deadlineReached(d.name, at)));
      });
    }
    return due.length;
  }

  /**
   * Another node changed a call of a conversation this node serves: the call at hand is read again, so that
   * snapshots and the signaling path follow.
   */
  changedElsewhere(sessionID: string): void {
    if (this.#stopping) return;
    this.#unsure.add(sessionID);
    void this.#serial.run(sessionID, () => this.#current(sessionID)).catch(() => undefined);
  }

  /** The bus was away: any call at hand may have changed elsewhere meanwhile. */
  everythingChangedElsewhere(): void {
    for (const sessionID of this.#calls.keys()) this.changedElsewhere(sessionID);
  }

  /** The conversation closed: its call, if any, ends (reason `closed`). */
  async conversationClosed(event: { sessionID: string; by: Party }): Promise<void> {
    this.#starts.forget(event.sessionID);
    const call = this.#calls.get(event.sessionID);
    if (call) await this.#quietly(call.sessionID, call.id, 'conversationClosed', (c) => c.parentClosed(event.by));
  }

  /**
   * This node stops (a deploy, SIGTERM): calls are left running in the store and in the media server, for
   * the next start (or another node) to carry on; changes already asked for are written first.
   */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    await this.#serial.idle();
    this.#timers.disarmAll();
    this.#calls.clear();
    this.#mediaReady.clear();
    await this.#options.media.shutdown();
  }

// ---------------------------------------------------------------- internals

  /**
   * The call's media moved (its Janus died; the room is on another instance now): members hear it in a
   * `call.updated` marked `mediaMoved`, and joined participants join again for the new access. Nothing is
   * stored: the call itself did not change. Only a node holding the call tells (a node that moved a room of
   * a call it does not hold leaves that to the participants' own reconnection).
   */
  #mediaMoved(callId: string, moves: number): void {
    if (this.#stopping) return;
    const call = [...this.#calls.values()].find((c) => c.id === callId);
    if (!call || !call.inProgress) return;
    this.#options.log.info({ sessionID: call.sessionID, callId, moves }, 'call media moved; participants join again');
    this.#options.bus.publish(topics.conversation(call.sessionID), { type: 'call.updated', call: { ...call.snapshot(), mediaMoved: moves } });
  }

  /** The conversation's live call as the store has it (read again after a failed write). */
  async #current(sessionID: string): Promise<Call | undefined> {
    if (!this.#unsure.has(sessionID) && !this.#options.clustered) return this.#calls.get(sessionID);
    const stored = (await this.#options.store.listCalls(sessionID)).find((c) => c.state !== 'ended');
    this.#unsure.delete(sessionID);
    const previous = this.#calls.get(sessionID);
    if (previous) this.#timers.disarmCall(previous.id);
    if (!stored) {
      this.#calls.delete(sessionID);
      return undefined;
    }
    const call = Call.fromRecord(stored);
    this.#calls.set(sessionID, call);
    this.#stored.set(call, stored.revision);
    this.#syncTimers(call);
    return call;
  }

  async #live(sessionID: string, callId: string): Promise<Call> {
    const call = await this.#current(sessionID);
    if (!call || call.id !== callId) throw ParleyServerError.conflict('that call is over');
    return call;
  }

  /** Applies an action to the live call `callId` of `sessionID`, one at a time per conversation, and stores it. */
  #act(
    target: { sessionID: string; callId: string },
    act: (call: Call) => CallChange | null,
    redemption?: Redemption & { guestId: string },
  ): Promise<CallSnapshot> {
    return this.#serial.run(target.sessionID, async () => {
      for (let attempt = 1; ; attempt++) {
        const call = await this.#live(target.sessionID, target.callId);
        const change = act(call); // a refusal throws here, having changed nothing
        if (change !== null) {
          try {
            await this.#save(call, change, this.#stored.get(call) ?? null, redemption);
          } catch (err) {
            // Another node changed the call between the read and the write: apply the action to what it wrote.
            const lostRace = err instanceof ParleyServerError && err.code === 'conflict' && err.message === CHANGED_MEANWHILE;
            if (lostRace && this.#options.clustered && attempt < MAX_ATTEMPTS) continue;
            throw err;
          }
          this.#afterSave(call, change);
        }
        return call.snapshot();
      }
    });
  }

  /** Writes the call as it is now with the events of `change`; on failure the change is undone (read again). */
  async #save(call: Call, change: CallChange, expectedRevision: number | null, redemption?: Redemption & { guestId: string }): Promise<void> {
    const record = call.toRecord();
    const texts = change.events.map((event) => callEventText(event, call.kind)).filter((text): text is string => text !== null);
    try {
      await this.#options.transcript.commit(call.sessionID, texts, (events) =>
        this.#options.store.commitCall({
          call: record,
          expectedRevision,
          events,
          ...(redemption
            ? { redemption: { jti: redemption.jti, callId: call.id, guestId: redemption.guestId, at: record.updatedAt, expiresAt: redemption.expiresAt.toISOString() } }
            : {}),
        }),
      );
    } catch (err) {
      if (expectedRevision !== null) {
        // The change stays in memory only: undo it now by reading the call back (or before the next action).
        this.#unsure.add(call.sessionID);
        await this.#current(call.sessionID).catch(() => undefined);
      }
      if (err instanceof StoreConflictError && err.conflict === 'liveCall') throw ParleyServerError.conflict('this conversation has a call already');
      if (err instanceof StoreConflictError && err.conflict === 'revision') throw ParleyServerError.conflict(CHANGED_MEANWHILE);
      throw err;
    }
    this.#stored.set(call, record.revision);
  }

  /** Once stored: members hear what changed, each event takes effect, and timers follow the call's deadlines. */
  #afterSave(call: Call, change: CallChange): void {
    for (const event of change.events) this.#takeEffect(call, event);
    this.#options.bus.publish(topics.conversation(call.sessionID), { type: 'call.updated', call: call.snapshot() });
    if (!call.ended) this.#syncTimers(call);
  }

  /** Arms a timer for every deadline of the call (from its stored time) and disarms the rest. */
  #syncTimers(call: Call): void {
    const now = Date.now();
    const running = call.deadlines();
    this.#timers.keepOnly(
      call.id,
      running.map((d) => d.name),
    );
    for (const { name, at } of running) {
      this.#timers.arm(call.id, name, Math.max(0, at.getTime() - now), () => void this.#deadlineCame(call.sessionID, call.id, name, at));
    }
  }

  /**
   * A timer armed for `at` fired. Timers may fire a little before the wall clock reaches `at`, so the deadline
   * counts as reached at `at` at the latest; whatever deadlines the call still has afterwards are armed again.
   */
  async #deadlineCame(sessionID: string, callId: string, name: CallDeadline, at: Date): Promise<void> {
    const now = new Date(Math.max(Date.now(), at.getTime()));
    await this.#quietly(sessionID, callId, name, (c) => c.deadlineReached(name, now));
    const call = this.#calls.get(sessionID);
    if (call && call.id === callId && !call.ended && !this.#stopping) this.#syncTimers(call);
  }

  #prepareMedia(call: Call): void {
    const ready = this.#options.media.open(call.id);
    this.#mediaReady.set(call.id, ready);
    ready.catch((err: unknown) => {
      this.#options.log.error({ err, callId: call.id }, 'the call media could not be prepared');
      void this.#quietly(call.sessionID, call.id, 'fail', (c) => c.apply({ type: 'fail' }));
    });
  }

  /** The timers, media and bookkeeping an event asks for. */
  #takeEffect(call: Call, event: CallEvent): void {
    const { media, log } = this.#options;
    switch (event.type) {
      case 'accepted':
        if (!this.#mediaReady.has(call.id)) this.#prepareMedia(call); // made while it rang, when a party prepared
        return;
      case 'ended': {
        this.#timers.disarmCall(call.id);
        this.#calls.delete(call.sessionID);
        const ready = this.#mediaReady.get(call.id);
        this.#mediaReady.delete(call.id);
        if (ready) void ready.then(() => media.close(call.id), () => undefined);
        log.info({ sessionID: call.sessionID, callId: call.id, reason: event.reason, durationMs: event.durationMs }, 'call ended');
        return;
      }
      case 'participantLeft': {
        const id = event.participant.id;
        void media.revoke(call.id, id);
        log.info({ sessionID: call.sessionID, callId: call.id, partyId: id }, 'participant left the call');
        return;
      }
      case 'requested':
      case 'invited':
      case 'participantInvited':
      case 'started':
      case 'participantJoined':
      case 'participantRejoined':
      case 'upgradedToVideo':
      case 'screenShareStarted':
      case 'screenShareStopped':
        return;
    }
  }

  /** For timers and hooks: acts only on a call still live; a refusal or a failed write is logged, never thrown. */
  async #quietly(sessionID: string, callId: string, what: string, act: (call: Call) => CallChange | null): Promise<void> {
    if (this.#stopping) return;
    try {
      await this.#act({ sessionID, callId }, act);
    } catch (err) {
      if (err instanceof ParleyServerError && err.code === 'conflict') return; // over already
      this.#options.log.warn({ err, callId, action: what }, 'call transition not applied');
    }
  }
}

const CHANGED_MEANWHILE = 'the call changed meanwhile; try again';

/** Several changes of one call as one (null when none changed anything). */
function mergeChanges(changes: Array<CallChange | null>): CallChange | null {
  const real = changes.filter((c): c is CallChange => c !== null);
  return real.length === 0 ? null : { events: real.flatMap((c) => c.events) };
}
