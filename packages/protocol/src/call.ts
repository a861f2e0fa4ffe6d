import type { Party } from './party.ts';

/*
 * The call: a pure state machine. The server enforces it (who may do what, in which state); the SDK mirrors
 * it, importing it as `@parley/protocol/call` (no zod here). Illegal transitions are refused with a reason
 * and change nothing.
 *
 *   idle ─request (visitor)─▶ requested ─accept (agent)────▶ connecting ─connected─▶ active
 *        └invite (agent)───▶ invited   ─accept (visitor)──┘      │                    │
 *   requested|invited ─decline (answerer)─▶ ended(declined)       │                    │
 *   requested|invited ─cancel (initiator)─▶ ended(cancelled)      │                    │
 *   requested|invited ─expire──────────────▶ ended(timeout)       │                    │
 *   connecting|active ─hangup (participant)─────────────────────▶ ended(hangup) ◀──────┘
 *   connecting|active ─fail─▶ ended(failed);  media denied on both sides ─▶ ended(media-denied)
 *   any live state ─conversation closed─▶ ended(closed)
 *
 * An ended call is final; the next call in the conversation is a new call.
 */

export type CallState = 'idle' | 'requested' | 'invited' | 'connecting' | 'active' | 'ended';

export type CallEndReason = 'hangup' | 'declined' | 'cancelled' | 'timeout' | 'failed' | 'closed' | 'media-denied';

/**
 * A party in a call, with what it sends. `screen`: it shares its screen now (one sharer at a time per call).
 * `videoPaused`: its camera is on, but its own page stopped sending it because its link cannot carry video next to
 * audio (the audio fallback); it comes back by itself when the link recovers. Absent in calls stored before it.
 */
export interface Participant extends Party {
  audio: boolean;
  video: boolean;
  screen: boolean;
  videoPaused?: boolean;
}

/** What the state machine decides on. */
export interface CallCore {
  state: CallState;
  /** Who asked (visitor's request) or invited (agent's invite). */
  initiator: Party | null;
  useAudio: boolean;
  useVideo: boolean;
  endReason: CallEndReason | null;
  endedBy: Party | null;
}

/** Who holds which role in the conversation the call belongs to. */
export interface CallRoles {
  visitorId: string;
  agentId: string | null;
}

export type CallAction =
  | { type: 'request'; by: Party; useAudio: boolean; useVideo: boolean }
  | { type: 'invite'; by: Party; useAudio: boolean; useVideo: boolean }
  | { type: 'accept'; by: Party }
  | { type: 'decline'; by: Party }
  | { type: 'cancel'; by: Party }
  | { type: 'expire' }
  | { type: 'connected' }
  | { type: 'hangup'; by: Party }
  | { type: 'fail'; by?: Party }
  | { type: 'mediaDenied'; by: Party }
  | { type: 'conversationClosed'; by: Party };

export type TransitionResult =
  | { ok: true; call: CallCore }
  | { ok: false; code: 'forbidden' | 'conflict'; message: string };

export const IDLE_CALL: CallCore = {
  state: 'idle',
  initiator: null,
  useAudio: true,
  useVideo: true,
  endReason: null,
  endedBy: null,
};

/** States in which a call exists and has not ended. */
export function isLive(state: CallState): boolean {
  return state === 'requested' || state === 'invited' || state === 'connecting' || state === 'active';
}

/** A call asked for or offered, waiting for its answer. */
export type PendingCallState = 'requested' | 'invited';

/** States in which a call waits for its answer. */
export function isPending(state: CallState): state is PendingCallState {
  return state === 'requested' || state === 'invited';
}

/** States in which a call was accepted and its media is (being) connected: participants join, leave and hang up. */
export function inProgress(state: CallState): state is 'connecting' | 'active' {
  return state === 'connecting' || state === 'active';
}

/** The role that answers a pending call: the agent answers the visitor's request, the visitor the agent's invitation. */
export function answererRole(state: PendingCallState): 'agent' | 'visitor' {
  return state === 'requested' ? 'agent' : 'visitor';
}

/** Why a party other than the answerer may not answer a pending call. */
export function answerRefusal(state: PendingCallState): string {
  return state === 'requested' ? "only the conversation's agent answers a request" : 'only the visitor answers an invitation';
}

const refuse = (code: 'forbidden' | 'conflict', message: string): TransitionResult => ({ ok: false, code, message });

function end(call: CallCore, reason: CallEndReason, by: Party | null): TransitionResult {
  return { ok: true, call: { ...call, state: 'ended', endReason: reason, endedBy: by } };
}

/** The party who answers a pending call: the conversation's agent for a request, its visitor for an invite. */
function answererIsRight(state: PendingCallState, by: Party, roles: CallRoles): boolean {
  const role = answererRole(state);
  return by.role === role && by.id === (role === 'agent' ? roles.agentId : roles.visitorId);
}

/**
 * Applies an action to a call. Pure: returns the next call, or why the action is refused
 * (`forbidden`: this party may not; `conflict`: not in this state).
 */
export function transition(call: CallCore, action: CallAction, roles: CallRoles): TransitionResult {
  const fresh = call.state === 'idle' || call.state === 'ended';
  switch (action.type) {
    case 'request':
      if (action.by.role !== 'visitor' || action.by.id !== roles.visitorId) return refuse('forbidden', 'only the visitor requests a call');
      if (roles.agentId === null) return refuse('conflict', 'no agent has joined the conversation yet');
      if (!fresh) return refuse('conflict', `a call is already ${call.state}`);
      if (!action.useAudio && !action.useVideo) return refuse('conflict', 'a call needs audio or video');
      return {
        ok: true,
        call: { state: 'requested', initiator: action.by, useAudio: action.useAudio, useVideo: action.useVideo, endReason: null, endedBy: null },
      };
    case 'invite':
      if (action.by.role !== 'agent' || action.by.id !== roles.agentId) return refuse('forbidden', "only the conversation's agent invites");
      if (!fresh) return refuse('conflict', `a call is already ${call.state}`);
      if (!action.useAudio && !action.useVideo) return refuse('conflict', 'a call needs audio or video');
      return {
        ok: true,
        call: { state: 'invited', initiator: action.by, useAudio: action.useAudio, useVideo: action.useVideo, endReason: null, endedBy: null },
      };
    case 'accept':
    case 'decline': {
      if (!isPending(call.state)) return refuse('conflict', `there is no pending call to answer (it is ${call.state})`);
      if (call.initiator?.id === action.by.id) return refuse('forbidden', 'nobody answers their own call');
      if (!answererIsRight(call.state, action.by, roles)) return refuse('forbidden', answerRefusal(call.state));
      return action.type === 'accept' ? { ok: true, call: { ...call, state: 'connecting' } } : end(call, 'declined', action.by);
    }
    case 'cancel':
      if (!isPending(call.state)) return refuse('conflict', `there is no pending call to cancel (it is ${call.state})`);
      if (call.initiator?.id !== action.by.id) return refuse('forbidden', 'only who started the call cancels it');
      return end(call, 'cancelled', action.by);
    case 'expire':
      if (!isPending(call.state)) return refuse('conflict', `only a pending call expires (it is ${call.state})`);
      return end(call, 'timeout', null);
    case 'connected':
      if (call.state === 'active') return { ok: true, call };
      if (call.state !== 'connecting') return refuse('conflict', `media cannot connect while the call is ${call.state}`);
      return { ok: true, call: { ...call, state: 'active' } };
    case 'hangup':
      if (!inProgress(call.state)) {
        return refuse('conflict', isPending(call.state) ? 'the call has not started; cancel or decline it' : 'there is no call to end');
      }
      return end(call, 'hangup', action.by);
    case 'fail':
      if (!isLive(call.state)) return refuse('conflict', 'there is no call to fail');
      return end(call, 'failed', action.by ?? null);
    case 'mediaDenied':
      if (!inProgress(call.state)) return refuse('conflict', 'there is no call in progress');
      return end(call, 'media-denied', action.by);
    case 'conversationClosed':
      if (!isLive(call.state)) return { ok: true, call };
      return end(call, 'closed', action.by);
  }
}

/** Who is in a call in progress, for deciding what a departure does. */
export interface Attendee {
  id: string;
  role: Party['role'];
  joined: boolean;
}

/**
 * Whether a participant leaving a call in progress ends it for everyone: it does when the visitor goes, or
 * when the last agent that joined goes (a call is never left to the visitor and guests alone). Anyone else
 * leaving (a guest, one of several agents) only takes that participant out.
 */
export function departureEndsCall(attendees: readonly Attendee[], leavingId: string, visitorId: string): boolean {
  if (leavingId === visitorId) return true;
  const leaving = attendees.find((a) => a.id === leavingId);
  if (leaving?.role !== 'agent') return false;
  return !attendees.some((a) => a.id !== leavingId && a.role === 'agent' && a.joined);
}

/*
 * Who may act on whom. The visitor and the conversation's own agent (the one it is assigned to) hold the
 * conversation; an added colleague and a guest are helpers in it.
 *
 * Removing someone from a call in progress — only an agent who has joined the call removes, never itself
 * (it leaves instead):
 *   - the conversation's agent removes anyone else: a colleague, a guest, the visitor (which ends the call);
 *   - an added colleague removes guests only: never the visitor, the conversation's agent or another colleague;
 *   - the visitor and guests remove nobody; nor does anyone who was invited but has not joined yet.
 *
 * Closing the conversation: its visitor or its agent. An added colleague and a guest may not.
 */

/** Why an action on another party is refused; null from the checks below means it is allowed. */
export interface RuleRefusal {
  code: 'forbidden' | 'conflict' | 'not_found';
  message: string;
}

/**
 * Whether `actor` may take `target` out of the call. Both are the call's attendees (undefined: not in it).
 * Returns null when it may, or why not.
 */
export function mayRemove(actor: Attendee | undefined, target: Attendee | undefined, roles: CallRoles): RuleRefusal | null {
  if (!actor) return { code: 'forbidden', message: 'you are not a participant of this call' };
  if (actor.role !== 'agent') return { code: 'forbidden', message: 'only agents remove participants' };
  if (!actor.joined) return { code: 'forbidden', message: 'join the call before removing anyone from it' };
  if (!target) return { code: 'not_found', message: 'participant not found' };
  if (target.id === actor.id) return { code: 'conflict', message: 'to leave the call yourself, leave it' };
  if (actor.id === roles.agentId) return null;
  if (target.role === 'guest') return null;
  return { code: 'forbidden', message: "an added colleague removes guests only; the conversation's agent removes anyone" };
}

/** Whether `party` may close the conversation: its visitor or its agent. Null when it may, or why not. */
export function mayClose(party: Party, roles: CallRoles): RuleRefusal | null {
  if (party.role === 'visitor' && party.id === roles.visitorId) return null;
  if (party.role === 'agent' && party.id === roles.agentId) return null;
  return { code: 'forbidden', message: "only the visitor or the conversation's agent closes the conversation" };
}
