/*
 * Where this page stands in its conversation's call, as one value. The server's call state (requested,
 * connecting, …) says where the call is; the phase says what this page does about it. Every change of
 * phase goes through `nextPhase`; the engine ({@link Call}) does the side effects.
 *
 *   watching ─engage─▶ engaged ─participate─▶ joining ─mediaFlowing─▶ connected
 *   joining ─nothingToSend─▶ mediaDenied ─mediaHangup─▶ joining
 *   joining | connected ─leave─▶ leaving ─leaveSettled─▶ joining | connected
 *   any ─teardown─▶ watching
 *
 * `dormant` wraps the phase reached before the Contact was handed out (call events are held until then):
 * every event but `activate` moves the wrapped phase, and `activate` unwraps it.
 */
import type { CallParticipation } from './CallParticipation.ts';

/** Engaged in the call: asked, invited, accepted or joined on this page; `divID` is where it is drawn. */
interface Engagement {
  divID: string | null;
}

/** This page's part in the call's media, once it takes part. */
interface Participating extends Engagement {
  participation: CallParticipation;
}

/** What this page does about its conversation's call, outside of the dormant wrapper. */
export type ActivePhase =
  /** Not in the call's media (no call, someone else's call, or one this page was not let into yet). */
  | { kind: 'watching' }
  /** Asked, invited or accepted here; the devices are not open yet. */
  | ({ kind: 'engaged' } & Engagement)
  /** Devices opening, joining, links being made; no media has arrived yet. */
  | ({ kind: 'joining' } & Participating)
  /** Neither camera nor microphone could be opened while the call was still ringing: hung up once it is accepted. */
  | ({ kind: 'mediaDenied' } & Participating)
  /** Media flows: the first link connected (`videoStarted` was emitted). */
  | ({ kind: 'connected' } & Participating)
  /** This page asked to leave; being taken out of the call now is leaving, not a removal. */
  | ({ kind: 'leaving'; connected: boolean } & Participating);

/** The phase of the call engine: an active phase, or one held until the Contact is handed out. */
export type CallPhase = ActivePhase | { kind: 'dormant'; then: ActivePhase };

/** What moves the phase. */
export type PhaseEvent =
  /** The Contact was handed out: held events may fire. */
  | { type: 'activate' }
  /** This page asks, invites, accepts or joins, drawing into `divID`. */
  | { type: 'engage'; divID: string | null }
  /** The devices are being opened and the call joined. */
  | { type: 'participate'; participation: CallParticipation }
  /** No device opened while the call was still ringing. */
  | { type: 'nothingToSend' }
  /** The call was hung up because nothing could be sent. */
  | { type: 'mediaHangup' }
  /** A link connected. */
  | { type: 'mediaFlowing' }
  /** This page sent `call.leave`. */
  | { type: 'leave' }
  /** The `call.leave` was answered (or failed). */
  | { type: 'leaveSettled' }
  /** The call ended here (for everyone, or only for this page). */
  | { type: 'teardown' };

/** The phase that follows `phase` on `event` (the same object when nothing changes). */
export function nextPhase(phase: CallPhase, event: PhaseEvent): CallPhase {
  if (phase.kind === 'dormant') {
    if (event.type === 'activate') return phase.then;
    const then = nextActivePhase(phase.then, event);
    return then === phase.then ? phase : { kind: 'dormant', then };
  }
  return nextActivePhase(phase, event);
}

function nextActivePhase(phase: ActivePhase, event: PhaseEvent): ActivePhase {
  switch (event.type) {
    case 'activate':
      return phase;
    case 'engage':
      return phase.kind === 'watching' || phase.kind === 'engaged' ? { kind: 'engaged', divID: event.divID } : { ...phase, divID: event.divID };
    case 'participate':
      return { kind: 'joining', divID: phase.kind === 'watching' ? null : phase.divID, participation: event.participation };
    case 'nothingToSend':
      return phase.kind === 'joining' ? { ...phase, kind: 'mediaDenied' } : phase;
    case 'mediaHangup':
      return phase.kind === 'mediaDenied' ? { ...phase, kind: 'joining' } : phase;
    case 'mediaFlowing':
      if (phase.kind === 'joining') return { ...phase, kind: 'connected' };
      if (phase.kind === 'leaving' && !phase.connected) return { ...phase, connected: true };
      return phase;
    case 'leave':
      if (phase.kind === 'joining' || phase.kind === 'connected') return { ...phase, kind: 'leaving', connected: phase.kind === 'connected' };
      return phase;
    case 'leaveSettled':
      if (phase.kind !== 'leaving') return phase;
      return { kind: phase.connected ? 'connected' : 'joining', divID: phase.divID, participation: phase.participation };
    case 'teardown':
      return phase.kind === 'watching' ? phase : { kind: 'watching' };
  }
}

/** The phase that counts now, looking through the dormant wrapper. */
function active(phase: CallPhase): ActivePhase {
  return phase.kind === 'dormant' ? phase.then : phase;
}

/** True when this page takes part in the call (asked, invited, accepted or joined). */
export function isEngaged(phase: CallPhase): boolean {
  return active(phase).kind !== 'watching';
}

/** This page's participation in the call's media, when it has one. */
export function participationOf(phase: CallPhase): CallParticipation | null {
  const now = active(phase);
  return 'participation' in now ? now.participation : null;
}

/** Where the call is drawn on this page (null: nowhere, or not engaged). */
export function divIDOf(phase: CallPhase): string | null {
  const now = active(phase);
  return 'divID' in now ? now.divID : null;
}

/** True once media flowed in this participation (`videoStarted` was emitted). */
export function isMediaFlowing(phase: CallPhase): boolean {
  const now = active(phase);
  return now.kind === 'connected' || (now.kind === 'leaving' && now.connected);
}
