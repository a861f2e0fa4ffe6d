import type { CallCore, CallParticipant, CallRoles, CallSnapshot, Party } from '@parley/protocol';

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

  constructor(
    readonly id: string,
    readonly sessionID: string,
    core: CallCore,
    members: Party[],
    /** Who answers what: fixed for the call's life. */
    readonly roles: CallRoles,
  ) {
    this.core = core;
    for (const p of members) {
      this.participants.set(p.id, { ...p, audio: core.useAudio, video: core.useVideo, joined: false, connection: 'absent' });
    }
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
      createdAt: this.createdAt.toISOString(),
      expiresAt: this.expiresAt?.toISOString() ?? null,
      startedAt: this.startedAt?.toISOString() ?? null,
      endedAt: this.endedAt?.toISOString() ?? null,
      endReason: this.core.endReason,
      endedBy: this.core.endedBy,
    };
  }
}
