import type { CallEndReason, Party } from '@parley/protocol';
import type { CallEvent, ParticipantExit } from './CallEvent.ts';

/** Transcript wording for call events, kept in one place. `kind`: "video call" or "voice call". */

export function kindOf(useVideo: boolean): string {
  return useVideo ? 'video call' : 'voice call';
}

/** The transcript line of a call event, or null when the event is not written. */
export function callEventText(event: CallEvent, kind: string): string | null {
  switch (event.type) {
    case 'requested':
      return `${event.by.name} asked for a ${kind}`;
    case 'invited':
      return `${event.by.name} invited ${event.visitor.name} to a ${kind}`;
    case 'accepted':
      return `${event.by?.name ?? 'The other side'} accepted the ${kind}`;
    case 'started':
      return `${capitalized(kind)} started`;
    case 'ended':
      return endedText(kind, event.reason, event.by, event.durationMs);
    case 'participantInvited':
      // A guest's link is the invitation: only an added member is announced.
      return event.participant.role === 'agent' ? `${event.by.name} invited ${event.participant.name} into the call` : null;
    case 'participantJoined':
      return event.participant.role === 'guest'
        ? `${event.participant.name} (guest of ${event.invitedBy.name}) joined the call`
        : `${event.participant.name} joined the call`;
    case 'participantLeft':
      return leftText(event.participant, event.how, event.by);
    case 'participantRejoined':
      return `${event.participant.name} rejoined the call`;
    case 'upgradedToVideo':
      return `${event.by.name} turned the voice call into a video call`;
    case 'screenShareStarted':
      return `${event.by.name} shared their screen`;
    case 'screenShareStopped':
      return `${event.by.name} stopped sharing`;
  }
}

function leftText(who: Party, how: ParticipantExit, by: Party | null): string {
  switch (how) {
    case 'left':
      return `${who.name} left the call`;
    case 'removed':
      return `${by?.name ?? 'An agent'} removed ${who.name} from the call`;
    case 'declined':
      return `${who.name} declined to join the call`;
    case 'noShow':
      return `${who.name} did not join the call`;
    case 'lostConnection':
      return `${who.name} lost the connection and left the call`;
  }
}

export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}

export function endedText(kind: string, reason: CallEndReason, by: Party | null, durationMs: number | null): string {
  const Kind = capitalized(kind);
  const after = durationMs !== null ? ` after ${formatDuration(durationMs)}` : '';
  switch (reason) {
    case 'hangup':
      return `${Kind} ended by ${by?.name ?? 'a participant'}${after}`;
    case 'declined':
      return `${by?.name ?? 'The other side'} declined the ${kind}`;
    case 'cancelled':
      return `${by?.name ?? 'The caller'} cancelled the ${kind}`;
    case 'timeout':
      return `${Kind} not answered`;
    case 'failed':
      return by ? `${Kind} ended: ${by.name}'s connection was lost${after}` : `${Kind} ended: the connection failed${after}`;
    case 'closed':
      return `${Kind} ended: the conversation was closed${after}`;
    case 'media-denied':
      return `${Kind} ended: ${by?.name ?? 'a participant'} has no camera or microphone available${after}`;
  }
}

function capitalized(text: string): string {
  return `${text[0]!.toUpperCase()}${text.slice(1)}`;
}
