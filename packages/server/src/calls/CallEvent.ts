import type { CallEndReason, Party } from '@parley/protocol';

/**
 * What an action did to a call, in the order it happened. The call service turns each event into its
 * effects (timers, media) and a transcript line; a store-backed call will write them as rows.
 */
export type CallEvent =
  /** The visitor asked for a call; it rings until its `expiresAt`. */
  | { type: 'requested'; by: Party }
  /** The agent invited the visitor; it rings until its `expiresAt`. */
  | { type: 'invited'; by: Party; visitor: Party }
  /** The call was accepted: its media is prepared and participants join. */
  | { type: 'accepted'; by: Party | null }
  /** Media connected for the first time. */
  | { type: 'started' }
  /** The call is over for everyone. */
  | { type: 'ended'; reason: CallEndReason; by: Party | null; durationMs: number | null }
  /** Someone was brought into the call in progress (an added member, a guest); it has the ring time to join. */
  | { type: 'participantInvited'; participant: Party; by: Party }
  /** Someone brought into the call in progress joined it for the first time. */
  | { type: 'participantJoined'; participant: Party; invitedBy: Party }
  /** One participant is out of a call that goes on; it loses its media access. */
  | { type: 'participantLeft'; participant: Party; how: ParticipantExit; by: Party | null }
  /** A participant dropped past its grace period joined the call in progress again. */
  | { type: 'participantRejoined'; participant: Party }
  /** A voice call became a video call. */
  | { type: 'upgradedToVideo'; by: Party }
  /** A participant started sharing its screen (the call's one sharer). */
  | { type: 'screenShareStarted'; by: Party }
  /** The sharer stopped sharing (by hand, or the browser's own "Stop sharing"). */
  | { type: 'screenShareStopped'; by: Party };

/** How a participant came to leave a call that goes on. */
export type ParticipantExit = 'left' | 'removed' | 'declined' | 'noShow' | 'lostConnection';

/** What an action changed: members hear the new snapshot, then each event takes effect. */
export interface CallChange {
  events: CallEvent[];
}
