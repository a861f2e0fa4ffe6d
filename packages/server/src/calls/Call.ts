import type { Attendee, CallCore, CallParticipant, CallRoles, CallSnapshot, CallTopology, Party } from '@parley/protocol';

/**
 * One call of a conversation, in memory on the node that runs it. Owns its timers and participants:
 * `dispose()` clears everything it holds. The Conversation → Call → Participant tree closes downwards.
 */
export class Call {
  core: CallCore;
  readonly participants = new Map<string, CallParticipant>();
  readonly createdAt = new Date();
  expiresAt: Date | null = null;
  startedAt: Date | null = null;
  endedAt: Date | null = null;
  #ringTimer: NodeJS.Timeout | null = null;
  readonly #graceTimers = new Map<string, NodeJS.Timeout>();
  /** The call's media (a room, with an SFU) is ready; set when the call is accepted. */
  mediaReady: Promise<void> | null = null;

  constructor(
    readonly id: string,
    readonly sessionID: string,
    core: CallCore,
    members: Party[],
    /** Who answers what: fixed for the call's life. */
    readonly roles: CallRoles,
    readonly topology: CallTopology,
    readonly capacity: number,
  ) {
    this.core = core;
    for (const p of members) this.add(p, null);
  }

  /** Adds a participant who has not joined the media yet (`invitedBy`: brought into a running call). */
  add(party: Party, invitedBy: Party | null): CallParticipant {
    const participant: CallParticipant = {
      id: party.id,
      role: party.role,
      name: party.name,
      audio: this.core.useAudio,
      video: this.core.useVideo,
      joined: false,
      connection: 'absent',
      invitedBy,
    };
    this.participants.set(party.id, participant);
    return participant;
  }

  /** Who is in the call, for deciding what a departure does. */
  attendees(): Attendee[] {
    return [...this.participants.values()].map((p) => ({ id: p.id, role: p.role, joined: p.joined }));
  }

  get kind(): string {
    return this.core.useVideo ? 'video call' : 'voice call';
  }

  /** Starts the ring timer; `onExpire` runs if nobody answers in time. */
  ring(ms: number, onExpire: () => void): void {
    this.expiresAt = new Date(Date.now() + ms);
    this.#ringTimer = setTimeout(onExpire, ms);
    this.#ringTimer.unref();
  }

  stopRinging(): void {
    if (this.#ringTimer) clearTimeout(this.#ringTimer);
    this.#ringTimer = null;
    this.expiresAt = null;
  }

  /** Starts a participant's grace period (its last connection is gone). */
  startGrace(partyId: string, ms: number, onExpire: () => void): void {
    if (this.#graceTimers.has(partyId)) return;
    const timer = setTimeout(() => {
      this.#graceTimers.delete(partyId);
      onExpire();
    }, ms);
    timer.unref();
    this.#graceTimers.set(partyId, timer);
  }

  /** Stops a participant's grace period; true when one was running. */
  stopGrace(partyId: string): boolean {
    const timer = this.#graceTimers.get(partyId);
    if (!timer) return false;
    clearTimeout(timer);
    this.#graceTimers.delete(partyId);
    return true;
  }

  /** Clears every timer. */
  dispose(): void {
    this.stopRinging();
    for (const timer of this.#graceTimers.values()) clearTimeout(timer);
    this.#graceTimers.clear();
  }

  snapshot(): CallSnapshot {
    return {
      callId: this.id,
      sessionID: this.sessionID,
      state: this.core.state,
      initiator: this.core.initiator,
      useAudio: this.core.useAudio,
      useVideo: this.core.useVideo,
      participants: [...this.participants.values()].map((p) => ({ ...p })),
      topology: this.topology,
      capacity: this.capacity,
      createdAt: this.createdAt.toISOString(),
      expiresAt: this.expiresAt?.toISOString() ?? null,
      startedAt: this.startedAt?.toISOString() ?? null,
      endedAt: this.endedAt?.toISOString() ?? null,
      endReason: this.core.endReason,
      endedBy: this.core.endedBy,
    };
  }
}
